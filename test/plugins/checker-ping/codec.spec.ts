import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { checksum, decodeIcmp, encodeEcho } from '@kad/plugin-checker-ping'

describe('checker-ping echo codec', () => {
  it('encodes an ICMPv4 echo with its checksum (golden)', () => {
    const b = encodeEcho(4, 0x1234, 1, Buffer.from('abcd'))
    assert.equal(b.toString('hex'), '08002104' + '12340001' + '61626364')
    assert.equal(checksum(b), 0)
    // ICMPv6: the kernel computes the checksum
    assert.equal(encodeEcho(6, 0x1234, 2).toString('hex'), '8000000012340002')
  })

  it('classifies replies and quoted errors', () => {
    const reply = Buffer.from(encodeEcho(4, 7, 9, Buffer.from('xy')))
    reply[0] = 0
    reply.writeUInt16BE(0, 2)
    reply.writeUInt16BE(checksum(reply), 2)
    const ip = Buffer.from('450000200000000040010000c0000201c0000202', 'hex')
    assert.deepEqual(decodeIcmp(4, Buffer.concat([ip, reply])), { ok: true, kind: 'reply', id: 7, seq: 9 })
    // destination unreachable quoting our echo
    const quoted = Buffer.concat([ip, encodeEcho(4, 7, 10)])
    const err = Buffer.concat([Buffer.from([3, 13, 0, 0, 0, 0, 0, 0]), quoted])
    err.writeUInt16BE(checksum(err), 2)
    assert.deepEqual(decodeIcmp(4, Buffer.concat([ip, err])), { ok: true, kind: 'error', id: 7, seq: 10, type: 3, code: 13 })
    // ICMPv6 echo reply (no IP header on a raw ICMPv6 socket)
    assert.deepEqual(decodeIcmp(6, Buffer.from('8100abcd00070009', 'hex')), { ok: true, kind: 'reply', id: 7, seq: 9 })
    assert.equal(decodeIcmp(4, Buffer.concat([ip, Buffer.from('0000ffff00070009', 'hex')])).ok, false) // bad checksum
  })

  it('never throws on arbitrary bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(4 as const, 6 as const), (b, f) => {
        decodeIcmp(f, b)
        decodeIcmp(f, b, false)
      }),
      { numRuns: 3000 },
    )
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (p, id, seq) => checksum(encodeEcho(4, id, seq, p)) === 0))
  })
})
