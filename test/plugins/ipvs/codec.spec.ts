import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import {
  decodeIpvsMessage, encodeDaemon, encodeDest, encodeFlush, encodeService, encodeSetTimeouts, FWD, IPVS_CMD, PROTO, SVC_F, TUN_TYPE,
  type IpvsDest, type IpvsService,
} from '../../../plugins/ipvs/src/codec/ipvs.js'

const cap = JSON.parse(readFileSync(new URL('./fixtures/ipvsadm-capture.json', import.meta.url), 'utf8')) as {
  requests: { ipvsadm: string; payload: string }[]
  replies: string[]
}
const req = (args: string): Buffer => {
  const r = cap.requests.find((x) => x.ipvsadm === args)
  assert.ok(r, `no capture for ${args}`)
  return Buffer.from(r.payload, 'hex')
}

const vs80: IpvsService = { af: 4, protocol: PROTO.TCP, address: '192.0.2.1', port: 80, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 0xffffffff }
const key80 = { af: 4 as const, protocol: PROTO.TCP, address: '192.0.2.1', port: 80 }
const rs10: IpvsDest = { af: 4, address: '192.0.2.10', port: 8080, fwdMethod: FWD.MASQ, weight: 3, uThreshold: 0, lThreshold: 0 }

describe('ipvs codec: golden bytes from ipvsadm 1.31', () => {
  it('NEW_SERVICE -A -t 192.0.2.1:80 -s wrr', () => {
    assert.equal(encodeService(IPVS_CMD.NEW_SERVICE, vs80).toString('hex'), req('-A -t 192.0.2.1:80 -s wrr').toString('hex'))
  })
  it('NEW_SERVICE fwmark, sh-port, persistence 300, netmask /24', () => {
    const s: IpvsService = { af: 4, protocol: 0, fwmark: 1, scheduler: 'sh', flags: SVC_F.PERSISTENT | SVC_F.SCHED2, timeout: 300, netmask: 0xffffff00 }
    assert.equal(encodeService(IPVS_CMD.NEW_SERVICE, s).toString('hex'), req('-A -f 1 -s sh -b sh-port -p 300 -M 255.255.255.0').toString('hex'))
  })
  it('NEW_SERVICE IPv6', () => {
    const s: IpvsService = { af: 6, protocol: PROTO.TCP, address: '2001:db8::1', port: 443, scheduler: 'rr', flags: 0, timeout: 0, netmask: 128 }
    assert.equal(encodeService(IPVS_CMD.NEW_SERVICE, s).toString('hex'), req('-A -t [2001:db8::1]:443 -s rr').toString('hex'))
  })
  it('DEL_SERVICE by key', () => {
    assert.equal(encodeService(IPVS_CMD.DEL_SERVICE, key80).toString('hex'), req('-D -t 192.0.2.1:80').toString('hex'))
  })
  it('NEW_DEST NAT weight 3 / SET_DEST weight 5 / DEL_DEST', () => {
    assert.equal(encodeDest(IPVS_CMD.NEW_DEST, key80, rs10).toString('hex'), req('-a -t 192.0.2.1:80 -r 192.0.2.10:8080 -m -w 3').toString('hex'))
    assert.equal(encodeDest(IPVS_CMD.SET_DEST, key80, { ...rs10, weight: 5 }).toString('hex'), req('-e -t 192.0.2.1:80 -r 192.0.2.10:8080 -m -w 5').toString('hex'))
    assert.equal(encodeDest(IPVS_CMD.DEL_DEST, key80, { ...rs10, fwdMethod: FWD.DROUTE, weight: 1 }).toString('hex'), req('-d -t 192.0.2.1:80 -r 192.0.2.10:8080').toString('hex'))
  })
  it('NEW_DEST tunnel gue port 6080 nocsum with thresholds', () => {
    const d: IpvsDest = { af: 4, address: '192.0.2.11', port: 80, fwdMethod: FWD.TUNNEL, weight: 1, uThreshold: 100, lThreshold: 10, tunType: TUN_TYPE.gue, tunPort: 6080, tunFlags: 0 }
    assert.equal(encodeDest(IPVS_CMD.NEW_DEST, key80, d).toString('hex'), req('-a -t 192.0.2.1:80 -r 192.0.2.11 -i --tun-type gue --tun-port 6080 --tun-nocsum -x 100 -y 10').toString('hex'))
  })
  it('SET_CONFIG timeouts, NEW_DAEMON, FLUSH', () => {
    assert.equal(encodeSetTimeouts({ tcp: 900, tcpFin: 120, udp: 300 }).toString('hex'), req('--set 900 120 300').toString('hex'))
    assert.equal(encodeDaemon(IPVS_CMD.NEW_DAEMON, { state: 1, ifname: 'lo', syncId: 5 }).toString('hex'), req('--start-daemon master --mcast-interface lo --syncid 5').toString('hex'))
    assert.equal(encodeFlush().toString('hex'), req('-C').toString('hex'))
  })
})

describe('ipvs codec: decoding kernel replies captured in the guest', () => {
  const decoded = cap.replies.map((h) => decodeIpvsMessage(Buffer.from(h, 'hex')))
  it('every captured reply decodes', () => {
    for (const d of decoded) assert.ok(d.ok, d.ok ? '' : d.reason)
  })
  it('service replies: TCP wrr persistent 120, fwmark 7 IPv6 mh with mh-port', () => {
    const svcs = decoded.flatMap((d) => (d.ok && d.message.service && d.message.cmd === IPVS_CMD.NEW_SERVICE ? [d.message.service] : []))
    const tcp = svcs.find((s) => s.port === 80)!
    assert.equal(tcp.address, '192.0.2.1')
    assert.equal(tcp.scheduler, 'wrr')
    assert.equal(tcp.timeout, 120)
    assert.equal(tcp.flags & SVC_F.PERSISTENT, SVC_F.PERSISTENT)
    assert.ok(tcp.stats)
    const fwm = svcs.find((s) => s.fwmark === 7)!
    assert.equal(fwm.af, 6)
    assert.equal(fwm.scheduler, 'mh')
    assert.equal(fwm.flags & SVC_F.SCHED2, SVC_F.SCHED2)
    assert.equal(fwm.netmask, 128)
  })
  it('destination replies: NAT w3 thresholds, DR IPv6 w0', () => {
    const dests = decoded.flatMap((d) => (d.ok && d.message.dest ? [d.message.dest] : []))
    const nat = dests.find((d) => d.address === '192.0.2.10')!
    assert.deepEqual([nat.port, nat.fwdMethod, nat.weight, nat.uThreshold, nat.lThreshold], [8080, FWD.MASQ, 3, 100, 10])
    const dr = dests.find((d) => d.address === '2001:db8::10')!
    assert.deepEqual([dr.af, dr.fwdMethod, dr.weight], [6, FWD.DROUTE, 0])
  })
  it('daemon, config and info replies', () => {
    const dm = decoded.find((d) => d.ok && d.message.daemon)
    assert.ok(dm && dm.ok)
    assert.deepEqual([dm.message.daemon!.state, dm.message.daemon!.ifname, dm.message.daemon!.syncId, dm.message.daemon!.port], [2, 'lo', 9, 8848])
    const cfg = decoded.find((d) => d.ok && d.message.timeouts)
    assert.ok(cfg && cfg.ok)
    assert.deepEqual(cfg.message.timeouts, { tcp: 900, tcpFin: 120, udp: 300 })
    const info = decoded.find((d) => d.ok && d.message.info)
    assert.ok(info && info.ok)
    assert.equal(info.message.info!.version, '1.2.1')
    assert.equal(info.message.info!.connTabSize, 4096)
  })
})

describe('ipvs codec: round trips and fuzzing', () => {
  const svcArb = fc.record({
    af: fc.constantFrom(4 as const, 6 as const),
    fw: fc.boolean(),
    mark: fc.integer({ min: 1, max: 0xffffffff }),
    port: fc.integer({ min: 0, max: 65535 }),
    sched: fc.constantFrom('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'),
    flags: fc.integer({ min: 0, max: 0x3f }),
    timeout: fc.integer({ min: 0, max: 0xffffffff }),
    plen: fc.integer({ min: 0, max: 128 }),
    pe: fc.option(fc.constant('sip'), { nil: undefined }),
    v4: fc.ipV4(),
    v6: fc.constantFrom('2001:db8::1', '2001:db8:1:2:3:4:5:6', '::', '2001:db8::ffff:0:1'),
  }).map((r): IpvsService => ({
    af: r.af,
    protocol: r.fw ? 0 : PROTO.TCP,
    ...(r.fw ? { fwmark: r.mark } : { address: r.af === 4 ? r.v4 : r.v6, port: r.port }),
    scheduler: r.sched,
    flags: r.flags,
    timeout: r.timeout,
    netmask: r.af === 4 ? (r.plen >= 32 ? 0xffffffff : ~(0xffffffff >>> r.plen) >>> 0) : r.plen,
    ...(r.pe ? { peName: r.pe } : {}),
  }))
  it('service encode/decode round trip', () => {
    fc.assert(fc.property(svcArb, (s) => {
      const d = decodeIpvsMessage(encodeService(IPVS_CMD.NEW_SERVICE, s))
      assert.ok(d.ok)
      assert.deepEqual(d.message.service, s)
    }), { numRuns: 300 })
  })
  it('destination encode/decode round trip', () => {
    fc.assert(fc.property(svcArb, fc.ipV4(), fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 2, 3), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 2 }), (s, a, port, fwd, w, tt) => {
      const d: IpvsDest = { af: 4, address: a, port, fwdMethod: fwd, weight: w, uThreshold: 5, lThreshold: 1, tunType: tt, tunPort: port, tunFlags: tt }
      const r = decodeIpvsMessage(encodeDest(IPVS_CMD.NEW_DEST, s, d))
      assert.ok(r.ok)
      assert.deepEqual(r.message.dest, d)
    }), { numRuns: 200 })
  })
  it('decoders never throw on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const b = Buffer.from(bytes)
      decodeIpvsMessage(b)
    }), { numRuns: 3000 })
  })
  it('decoders never throw on mutated valid messages', () => {
    const seeds = cap.replies.map((h) => Buffer.from(h, 'hex'))
    fc.assert(fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), (i, muts, cut) => {
      const b = Buffer.from(seeds[i])
      for (const [pos, v] of muts) b[pos % b.length] = v
      const r = decodeIpvsMessage(b.subarray(0, Math.max(0, b.length - (cut % 8))))
      assert.equal(typeof r.ok, 'boolean')
    }), { numRuns: 3000 })
  })
})
