import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { formatIPv6 } from '@kad/native'
import {
  type Advert, decodeIpv4Packet, decodeIpv6Payload, decodeVrrp, encodeIpv4Packet, encodeVrrp, checksumOk, authKey,
} from '../../../plugins/vrrp/src/codec/index.js'
import { validateAdvert, peekVrid, type RxExpectation } from '../../../plugins/vrrp/src/codec/validate.js'

// Adverts keepalived 2.2.7 sent (captured by fixtures/capture.sh): Ethernet frames as hex.
const golden: Record<string, string> = JSON.parse(readFileSync(new URL('./fixtures/golden-keepalived.json', import.meta.url), 'utf8'))
const frame = (k: string): Buffer => Buffer.from(golden[k], 'hex')
const ip4 = (k: string): Buffer => frame(k).subarray(14)
/** IPv6 payload and header facts (src, dst, hop limit) */
const ip6 = (k: string) => {
  const f = frame(k).subarray(14)
  const fmt = (o: number) => formatIPv6(f, o)
  return { payload: f.subarray(40), hop: f[7], src: fmt(8), dst: fmt(24) }
}

describe('vrrp codec: golden bytes from keepalived 2.2.7', () => {
  it('decodes a v2 IPv4 advert without auth and re-encodes it byte for byte', () => {
    const p = ip4('v2_ipv4')
    const d = decodeIpv4Packet(p)
    assert.ok(d.ok)
    assert.equal(d.advert.version, 2)
    assert.equal(d.advert.vrid, 51)
    assert.equal(d.advert.priority, 150)
    assert.equal(d.advert.advertInt, 1)
    assert.equal(d.advert.authType, 0)
    assert.deepEqual(d.advert.addresses, ['192.0.2.100', '192.0.2.101'])
    assert.equal(d.ip.ttl, 255)
    assert.equal(d.ip.tos, 0xc0)
    const out = encodeIpv4Packet(d.advert, { src: d.ip.src, dst: d.ip.dst, id: d.ip.id, ipChecksum: true })
    assert.equal(out.toString('hex'), p.toString('hex'))
  })

  it('v2 simple password: password bytes and checksum', () => {
    const p = ip4('v2_ipv4_pass')
    const d = decodeIpv4Packet(p)
    assert.ok(d.ok)
    assert.equal(d.advert.authType, 1)
    assert.equal(d.advert.authData!.toString(), 'secret12')
    const out = encodeIpv4Packet({ ...d.advert }, { src: d.ip.src, dst: d.ip.dst, id: d.ip.id, ipChecksum: true, auth: { type: 'PASS', key: 'secret12' } })
    assert.equal(out.toString('hex'), p.toString('hex'))
  })

  it('v2 IPSEC-AH: AH header before VRRP, SPI = source, HMAC-MD5-96 ICV reproduced', () => {
    const p = ip4('v2_ipv4_ah')
    const d = decodeIpv4Packet(p)
    assert.ok(d.ok)
    assert.equal(d.ip.protocol, 51)
    assert.equal(d.ah!.nextHeader, 112)
    assert.equal(d.ah!.spi, 0xc0000201)
    assert.equal(d.ah!.seq, 1)
    assert.equal(d.advert.authType, 2)
    const out = encodeIpv4Packet(d.advert, { src: d.ip.src, dst: d.ip.dst, id: d.ip.id, ipChecksum: true, auth: { type: 'AH', key: 'secret12', seq: 1 } })
    assert.equal(out.toString('hex'), p.toString('hex'))
  })

  it('v3 IPv4: centisecond interval and pseudo-header checksum', () => {
    for (const [k, cs] of [['v3_ipv4', 100], ['v3_ipv4_cs100', 50]] as const) {
      const p = ip4(k)
      const d = decodeIpv4Packet(p)
      assert.ok(d.ok)
      assert.equal(d.advert.version, 3)
      assert.equal(d.advert.advertInt, cs)
      assert.ok(checksumOk(p.subarray(20), 3, { family: 4, src: d.ip.src, dst: d.ip.dst }))
      assert.ok(!checksumOk(p.subarray(20), 3, { family: 4, src: '192.0.2.9', dst: d.ip.dst }))
      const out = encodeIpv4Packet(d.advert, { src: d.ip.src, dst: d.ip.dst, id: d.ip.id, ipChecksum: true })
      assert.equal(out.toString('hex'), p.toString('hex'))
    }
  })

  it('v3 IPv4 unicast: checksum with the unicast destination; v2 unicast', () => {
    for (const k of ['v3_ipv4_unicast', 'v2_ipv4_unicast']) {
      const p = ip4(k)
      const d = decodeIpv4Packet(p)
      assert.ok(d.ok)
      assert.equal(d.ip.dst, '192.0.2.2')
      const out = encodeIpv4Packet(d.advert, { src: d.ip.src, dst: d.ip.dst, id: d.ip.id, ipChecksum: true })
      assert.equal(out.toString('hex'), p.toString('hex'))
    }
  })

  it('v3 IPv6: multicast and unicast, checksum over the IPv6 pseudo-header', () => {
    const m = ip6('v3_ipv6')
    assert.equal(m.hop, 255)
    const d = decodeIpv6Payload(m.payload)
    assert.ok(d.ok)
    assert.deepEqual(d.advert.addresses, ['2001:db8::100', '2001:db8::101'])
    assert.equal(encodeVrrp(d.advert, { family: 6, src: m.src, dst: m.dst }).toString('hex'), m.payload.toString('hex'))
    const u = ip6('v3_ipv6_unicast')
    const du = decodeIpv6Payload(u.payload)
    assert.ok(du.ok)
    assert.equal(encodeVrrp(du.advert, { family: 6, src: u.src, dst: u.dst }).toString('hex'), u.payload.toString('hex'))
  })
})

describe('vrrp codec: receive validation', () => {
  const base: RxExpectation = { family: 4, version: 3, addresses: ['192.0.2.100', '192.0.2.101'] }
  it('accepts keepalived adverts with the matching expectation', () => {
    assert.ok(validateAdvert(ip4('v3_ipv4'), {}, base).ok)
    assert.ok(validateAdvert(ip4('v2_ipv4'), {}, { ...base, version: 2, advertIntSec: 1 }).ok)
    assert.ok(validateAdvert(ip4('v2_ipv4_pass'), {}, { family: 4, version: 2, advertIntSec: 1, addresses: ['192.0.2.100'], auth: { type: 'PASS', key: 'secret12' } }).ok)
    const ah = validateAdvert(ip4('v2_ipv4_ah'), {}, { family: 4, version: 2, advertIntSec: 1, addresses: ['192.0.2.100'], auth: { type: 'AH', key: 'secret12' } })
    assert.ok(ah.ok && ah.ah?.seq === 1)
    const m = ip6('v3_ipv6')
    assert.ok(validateAdvert(m.payload, { src: m.src, dst: m.dst, ttl: m.hop }, { family: 6, version: 3, addresses: ['2001:db8::100', '2001:db8::101'] }).ok)
    const u = ip6('v3_ipv6_unicast')
    assert.ok(validateAdvert(u.payload, { src: u.src, dst: u.dst, ttl: u.hop }, { family: 6, version: 3, addresses: ['2001:db8::100'], unicastPeers: [{ address: '2001:db8::1' }], checkUnicastSrc: true }).ok)
  })
  const reason = (buf: Buffer, x: Partial<RxExpectation> = {}, meta = {}) => {
    const v = validateAdvert(buf, meta, { ...base, ...x })
    return v.ok ? 'OK' : v.reason
  }
  const mutate = (k: string, f: (b: Buffer) => void) => {
    const b = Buffer.from(ip4(k))
    f(b)
    return b
  }
  it('names each rejection', () => {
    assert.equal(reason(mutate('v3_ipv4', (b) => (b[8] = 64))), 'BAD_TTL')
    assert.equal(reason(ip4('v3_ipv4'), {}, { ttl: 1 }), 'BAD_TTL')
    assert.equal(reason(ip4('v3_ipv4'), { version: 2 }), 'BAD_VERSION')
    assert.equal(reason(mutate('v3_ipv4', (b) => (b[20] = 0x41))), 'BAD_VERSION')
    assert.equal(reason(mutate('v3_ipv4', (b) => (b[20] = 0x32))), 'BAD_TYPE')
    assert.equal(reason(mutate('v3_ipv4', (b) => (b[22] ^= 1))), 'BAD_CHECKSUM')
    assert.equal(reason(ip4('v3_ipv4'), { addresses: ['192.0.2.100'] }), 'BAD_ADDR_COUNT')
    assert.equal(reason(ip4('v3_ipv4'), { addresses: ['192.0.2.100', '192.0.2.7'] }), 'BAD_ADDR_LIST')
    assert.equal(reason(ip4('v3_ipv4'), { addresses: ['192.0.2.7'], skipAddressCheck: true }), 'OK')
    assert.equal(reason(ip4('v3_ipv4').subarray(0, 30)), 'TRUNCATED')
    assert.equal(reason(Buffer.concat([ip4('v3_ipv4'), Buffer.alloc(4)])), 'BAD_LENGTH')
    assert.equal(reason(mutate('v3_ipv4', (b) => b.writeUInt16BE(b.length + 4, 2))), 'TRUNCATED')
    assert.equal(reason(mutate('v3_ipv4', (b) => (b[23] = 9))), 'TRUNCATED') // naddr 9
    assert.equal(reason(ip4('v3_ipv4'), { unicastPeers: [{ address: '192.0.2.1' }] }), 'BAD_CAST')
    assert.equal(reason(mutate('v3_ipv4', (b) => (b[9] = 17))), 'BAD_IP_HEADER')
    assert.equal(reason(mutate('v3_ipv4', (b) => (b[0] = 0x44))), 'BAD_IP_HEADER')
    assert.equal(reason(mutate('v3_ipv4', (b) => (b[6] = 0x20))), 'BAD_IP_HEADER')
    const v2 = { version: 2 as const, advertIntSec: 1 }
    assert.equal(reason(ip4('v2_ipv4'), { ...v2, advertIntSec: 2 }), 'ADVERT_INT_MISMATCH')
    assert.equal(reason(ip4('v2_ipv4'), { ...v2, auth: { type: 'PASS', key: 'x' } }), 'BAD_AUTH_TYPE')
    assert.equal(reason(mutate('v2_ipv4', (b) => (b[24] = 7))), 'BAD_VERSION')
    assert.equal(reason(mutate('v2_ipv4', (b) => (b[24] = 7)), v2), 'BAD_AUTH_TYPE')
    const p1 = { version: 2 as const, advertIntSec: 1, addresses: ['192.0.2.100'] }
    assert.equal(reason(ip4('v2_ipv4_pass'), { ...p1, auth: { type: 'PASS', key: 'secret13' } }), 'BAD_AUTH')
    assert.equal(reason(ip4('v2_ipv4_pass'), { ...p1, auth: { type: 'PASS', key: 'secret12XYZ' } }), 'OK') // first 8 bytes only
    assert.equal(reason(ip4('v2_ipv4_ah'), { ...p1, auth: { type: 'AH', key: 'secret13' } }), 'BAD_AUTH')
    assert.equal(reason(ip4('v2_ipv4_ah'), { ...p1, auth: { type: 'AH', key: 'secret12' }, lastAhSeq: 1 }), 'BAD_AH_SEQ')
    assert.equal(reason(ip4('v2_ipv4_ah'), { ...p1 }), 'BAD_AUTH_TYPE')
    assert.equal(reason(ip4('v2_ipv4_pass'), { ...p1, auth: { type: 'AH', key: 'secret12' } }), 'BAD_AUTH_TYPE')
    assert.equal(reason(mutate('v2_ipv4_ah', (b) => (b[54] ^= 1)), { ...p1, auth: { type: 'AH', key: 'secret12' } }), 'BAD_AUTH')
  })
  it('unicast: peers, source check, TTL range, old multicast-pseudo-header checksum', () => {
    const x: Partial<RxExpectation> = { addresses: ['192.0.2.100'], unicastPeers: [{ address: '192.0.2.1' }], checkUnicastSrc: true }
    assert.equal(reason(ip4('v3_ipv4_unicast'), x), 'OK')
    assert.equal(reason(ip4('v3_ipv4_unicast'), { ...x, unicastPeers: [{ address: '192.0.2.9' }] }), 'NOT_PEER')
    assert.equal(reason(ip4('v3_ipv4_unicast'), { ...x, unicastPeers: [{ address: '192.0.2.1', maxTtl: 64 }] }), 'BAD_TTL')
    const old = encodeIpv4Packet({ version: 3, type: 1, vrid: 51, priority: 100, advertInt: 100, addresses: ['192.0.2.100'] }, { src: '192.0.2.1', dst: '192.0.2.2', pseudoDst: '224.0.0.18' })
    const v = validateAdvert(old, {}, { ...base, ...x })
    assert.ok(v.ok && v.oldUnicastChecksum)
    const asV2 = encodeIpv4Packet({ version: 3, type: 1, vrid: 51, priority: 100, advertInt: 100, addresses: ['192.0.2.100'] }, { src: '192.0.2.1', dst: '224.0.0.18', v3AsV2: true })
    assert.equal(reason(asV2, { addresses: ['192.0.2.100'] }), 'BAD_CHECKSUM')
    assert.equal(reason(asV2, { addresses: ['192.0.2.100'], v3AsV2: true }), 'OK')
  })
  it('peekVrid finds the VRID or a reason', () => {
    assert.deepEqual(peekVrid(ip4('v3_ipv4'), 4), { vrid: 51 })
    assert.equal((peekVrid(Buffer.alloc(3), 4) as { reason: string }).reason, 'TRUNCATED')
  })
})

describe('vrrp codec: properties', () => {
  const base: RxExpectation = { family: 4, version: 3, addresses: ['192.0.2.100', '192.0.2.101'] }
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => t.join('.'))
  const advert = (version: 2 | 3) =>
    fc.record({ vrid: fc.integer({ min: 1, max: 255 }), priority: fc.nat(255), advertInt: fc.integer({ min: 1, max: version === 2 ? 255 : 4095 }), addresses: fc.array(v4, { maxLength: 20 }) })
      .map((r): Advert => ({ version, type: 1, ...r }))
  it('encode/decode round trip and checksums hold (v2, v3)', () => {
    fc.assert(fc.property(fc.constantFrom<2 | 3>(2, 3), fc.boolean(), fc.integer({ min: 0, max: 0xffffffff }), (ver, pass, seq) => {
      fc.assert(fc.property(advert(ver), v4, (a, src) => {
        const auth = ver === 2 ? (pass ? { type: 'PASS' as const, key: 'pw' } : { type: 'AH' as const, key: 'k', seq }) : undefined
        const p = encodeIpv4Packet(a, { src, dst: '224.0.0.18', auth })
        const v = validateAdvert(p, {}, { family: 4, version: ver, addresses: a.addresses, advertIntSec: ver === 2 ? a.advertInt : undefined, auth })
        assert.ok(v.ok, JSON.stringify(v))
        assert.equal(v.advert.vrid, a.vrid)
        assert.equal(v.advert.priority, a.priority)
        assert.deepEqual(v.advert.addresses, a.addresses)
      }), { numRuns: 30 })
    }), { numRuns: 6 })
  })
  it('decoders never throw on arbitrary bytes, and every verdict is ok or a reason', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      for (const f of [() => decodeIpv4Packet(bytes), () => decodeIpv6Payload(bytes), () => decodeVrrp(bytes, 4)]) {
        const r = f()
        assert.ok(r.ok || typeof r.reason === 'string')
      }
      for (const x of [{ ...base }, { family: 6 as const, version: 3 as const, addresses: [] }, { family: 4 as const, version: 2 as const, addresses: [], auth: { type: 'AH' as const, key: 'k' } }]) {
        const r = validateAdvert(bytes, { ttl: 255 }, x)
        assert.ok(r.ok || typeof r.reason === 'string')
      }
    }), { numRuns: 3000 })
  })
  it('mutating one byte of a valid packet never throws and is mostly rejected', () => {
    const good = ip4('v2_ipv4_ah')
    const x: RxExpectation = { family: 4, version: 2, advertIntSec: 1, addresses: ['192.0.2.100'], auth: { type: 'AH', key: 'secret12' } }
    fc.assert(fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (i, d) => {
      const b = Buffer.from(good)
      b[i] ^= d
      const r = validateAdvert(b, {}, x)
      // mutable IP fields (TOS, ID, flags and fragment offset, IP checksum; TTL is checked) are not covered by the
      // ICV (RFC 4302 §3.3.3.1.1.1), so a change there may pass
      if (r.ok) assert.ok([1, 4, 5, 6, 7, 10, 11].includes(i), `byte ${i} accepted`)
    }), { numRuns: 2000 })
  })
  it('authKey uses the first 8 bytes, zero padded', () => {
    assert.equal(authKey('abc').toString('hex'), '6162630000000000')
    assert.equal(authKey('1234567890').toString(), '12345678')
  })
})
