import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import dnsPacket from 'dns-packet'
import { parseRange, rangeAddresses, resolveTiming } from '@kad/plugin-checkers'
import { judgeExit } from '@kad/plugin-checker-misc'
import { matchReply, judgeReply as udpJudge } from '@kad/plugin-checker-udp'
import { encodeQuery, judgeReply as dnsJudge } from '@kad/plugin-checker-dns'
import { judgeValue, parseValue } from '@kad/plugin-checker-file'

describe('checker units', () => {
  it('virtual_server_group ranges', () => {
    assert.deepEqual(parseRange('192.168.201.1-10'), { family: 4, first: '192.168.201.1', last: '192.168.201.10' })
    assert.deepEqual(parseRange('10.0.0.4/30'), { family: 4, first: '10.0.0.4', last: '10.0.0.7' })
    assert.deepEqual(parseRange('2001:db8::1-a'), { family: 6, first: '2001:db8::1', last: '2001:db8::a' })
    assert.equal(parseRange('10.0.0.9-3'), undefined)
    assert.deepEqual([...rangeAddresses({ kind: 'range', family: 4, address: '10.0.0.254', last: '10.0.1.1' })], ['10.0.0.254', '10.0.0.255', '10.0.1.0', '10.0.1.1'])
  })
  it('timing defaults per type and inheritance', () => {
    const rs = { family: 4 as const, address: 'a', port: 1, weight: 1, checkers: [], loc: '' }
    const vs = { delayLoop: 6 } as never
    assert.deepEqual(resolveTiming('TCP_CHECK', {}, rs, vs), { delayLoop: 6, connectTimeout: 5, retry: 1, delayBeforeRetry: 1, warmup: 6 })
    assert.deepEqual(resolveTiming('HTTP_GET', {}, rs, vs).delayBeforeRetry, 3)
    assert.deepEqual(resolveTiming('DNS_CHECK', {}, rs, vs), { delayLoop: 6, connectTimeout: 5, retry: 3, delayBeforeRetry: 6, warmup: 6 })
    assert.deepEqual(resolveTiming('MISC_CHECK', {}, { ...rs, retry: 2 }, vs), { delayLoop: 6, connectTimeout: 6, retry: 2, delayBeforeRetry: 1, warmup: 6 })
  })
  it('MISC_CHECK exit codes', () => {
    assert.deepEqual(judgeExit(0, false, false, null), { ok: true })
    assert.equal(judgeExit(1, true, false, null).ok, false)
    assert.deepEqual(judgeExit(7, true, false, null), { ok: true, weight: 5 })
    assert.equal(judgeExit(7, false, false, null).ok, false)
    assert.equal(judgeExit(0, false, true, null).ok, false)
    assert.equal(judgeExit(null, false, false, 'SIGKILL').ok, false)
  })
  it('UDP_CHECK reply patterns', () => {
    assert.equal(matchReply(Buffer.from([0xca, 0xfe, 1]), 'caxe'), true)
    assert.equal(matchReply(Buffer.from([0xca]), 'cafe'), false)
    assert.equal(udpJudge(Buffer.alloc(3), { maxReplyLength: 2 }).ok, false)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 20 }), (b) => matchReply(b, Buffer.from(b).toString('hex').replace(/[0-9]/g, 'x'))))
  })
  it('DNS_CHECK replies', () => {
    const q = encodeQuery(42, 'A', 'ok.test')
    assert.equal(dnsPacket.decode(q).questions![0].name, 'ok.test')
    const ans = dnsPacket.encode({ type: 'response', id: 42, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'ok.test' }], answers: [{ type: 'A', name: 'ok.test', data: '192.0.2.1' }] })
    assert.deepEqual(dnsJudge(ans, 42, 'A'), { ok: true })
    assert.equal(dnsJudge(ans, 43, 'A').ok, false)
    assert.equal(dnsJudge(ans, 42, 'MX').ok, false)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => void dnsJudge(Buffer.from(b), 1, 'A')), { numRuns: 1000 })
  })
  it('FILE_CHECK values', () => {
    assert.equal(parseValue(' 12 \n'), 12)
    assert.equal(parseValue('abc'), 0)
    assert.deepEqual(judgeValue(0, { weight: 0 }), { ok: true })
    assert.equal(judgeValue(1, { weight: 0 }).ok, false)
    assert.equal(judgeValue(0, { weight: 0, reverse: true }).ok, false)
    assert.deepEqual(judgeValue(4, { fileWeight: 3, dynamic: true }), { ok: true, weight: 12 })
    assert.equal(judgeValue(4, { weight: 3, reverse: true, dynamic: true }).ok, false)
  })
})
