// Golden-byte tests of every native/ts encoder and decoder, plus fast-check fuzzing of the decoders.
// rtnetlink goldens are what ip(8) 6.1 sends (fixtures/ip-requests.json, captured by fixtures/capture-ip.py);
// ARP and NA goldens were built with scapy (values below).
import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import {
  attrMap, decodeAttrs, decodeError, decodeMessages, encodeAttrs, encodeMessage, nested, NLM_F, NLMSG, strAttr, u32Attr, u8Attr,
} from '../../native/ts/codec/netlink.js'
import {
  decodeAddress, decodeLink, decodeRoute, decodeRule, encodeAddress, encodeLinkChange, encodeMacvlan, encodeRoute, encodeRule, RTM,
  encodeIfinfomsg,
} from '../../native/ts/codec/rtnetlink.js'
import { decodeFamily, encodeGetFamily, GENL_ID_CTRL } from '../../native/ts/codec/genl.js'
import { decodeArp, encodeArp, gratuitousArp, ARPOP } from '../../native/ts/codec/arp.js'
import { decodeNa, decodeNaFrame, encodeNa, icmpv6Checksum } from '../../native/ts/codec/ndisc.js'
import { decodeSockAddr, encodeSockAddr } from '../../native/ts/codec/sockaddr.js'
import { formatIPv6, parseIPv6, parseIP, formatIP, parsePrefix } from '../../native/ts/codec/ip.js'
import { sysctlPath } from '../../native/ts/sysctl.js'
import { errnoName } from '../../native/ts/errors.js'

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/ip-requests.json', import.meta.url), 'utf8')) as {
  ifindex: number
  requests: Array<{ cmd: string; hex: string }>
}
const ADD = NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL
const SET = NLM_F.REQUEST | NLM_F.ACK
const idx = fixtures.ifindex

/** What kad's Rtnl sends for each ip(8) command. */
const kad: Record<string, () => { type: number; flags: number; payload: Buffer }> = {
  'addr add 192.0.2.1/24 dev kadg0': () => ({ type: RTM.NEWADDR, flags: ADD, payload: encodeAddress({ ifindex: idx, address: '192.0.2.1/24' }) }),
  'addr add 2001:db8::1/64 dev kadg0 nodad noprefixroute': () => ({ type: RTM.NEWADDR, flags: ADD, payload: encodeAddress({ ifindex: idx, address: '2001:db8::1/64', flags: ['nodad', 'noprefixroute'] }) }),
  'addr add 192.0.2.5/24 brd 192.0.2.255 label kadg0:1 dev kadg0': () => ({ type: RTM.NEWADDR, flags: ADD, payload: encodeAddress({ ifindex: idx, address: '192.0.2.5', prefixLength: 24, broadcast: '192.0.2.255', label: 'kadg0:1' }) }),
  'addr add 192.0.2.7/32 scope host dev kadg0': () => ({ type: RTM.NEWADDR, flags: ADD, payload: encodeAddress({ ifindex: idx, address: '192.0.2.7/32', scope: 'host' }) }),
  'addr add 2001:db8::7/64 dev kadg0 home': () => ({ type: RTM.NEWADDR, flags: ADD, payload: encodeAddress({ ifindex: idx, address: '2001:db8::7/64', flags: ['home'] }) }),
  'addr del 192.0.2.1/24 dev kadg0': () => ({ type: RTM.DELADDR, flags: SET, payload: encodeAddress({ ifindex: idx, address: '192.0.2.1/24' }) }),
  'link set kadg0 down': () => ({ type: RTM.NEWLINK, flags: SET, payload: encodeLinkChange({ ifindex: idx, up: false }) }),
  'link set kadg0 up': () => ({ type: RTM.NEWLINK, flags: SET, payload: encodeLinkChange({ ifindex: idx, up: true }) }),
  'link set kadg0 address 02:00:00:00:00:01': () => ({ type: RTM.NEWLINK, flags: SET, payload: encodeLinkChange({ ifindex: idx, mac: '02:00:00:00:00:01' }) }),
  'route add 198.51.100.0/24 dev kadg0 metric 5 table 100': () => ({ type: RTM.NEWROUTE, flags: ADD, payload: encodeRoute({ dst: '198.51.100.0/24', oif: idx, metric: 5, table: 100 }) }),
  'route add 203.0.113.0/24 via 192.0.2.5 table 1000': () => ({ type: RTM.NEWROUTE, flags: ADD, payload: encodeRoute({ dst: '203.0.113.0/24', via: '192.0.2.5', table: 1000 }) }),
  'route add blackhole 203.0.113.0/25': () => ({ type: RTM.NEWROUTE, flags: ADD, payload: encodeRoute({ dst: '203.0.113.0/25', type: 'blackhole' }) }),
  'route add unreachable 198.51.100.128/25': () => ({ type: RTM.NEWROUTE, flags: ADD, payload: encodeRoute({ dst: '198.51.100.128/25', type: 'unreachable' }) }),
  'route add 2001:db8:1::/48 dev kadg0': () => ({ type: RTM.NEWROUTE, flags: ADD, payload: encodeRoute({ dst: '2001:db8:1::/48', oif: idx }) }),
  'rule add from 192.0.2.0/24 table 100 priority 100': () => ({ type: RTM.NEWRULE, flags: ADD, payload: encodeRule({ from: '192.0.2.0/24', table: 100, priority: 100 }) }),
  'rule add to 198.51.100.0/24 fwmark 7 table 101 priority 101': () => ({ type: RTM.NEWRULE, flags: ADD, payload: encodeRule({ to: '198.51.100.0/24', fwmark: 7, table: 101, priority: 101 }) }),
  'rule add iif kadg0 table 102 priority 102': () => ({ type: RTM.NEWRULE, flags: ADD, payload: encodeRule({ iif: 'kadg0', table: 102, priority: 102 }) }),
  'rule add oif kadg0 table 103 priority 103': () => ({ type: RTM.NEWRULE, flags: ADD, payload: encodeRule({ oif: 'kadg0', table: 103, priority: 103 }) }),
  'link add kadmv link kadg0 address 00:00:5e:00:01:07 type macvlan mode bridge': () => ({ type: RTM.NEWLINK, flags: ADD, payload: encodeMacvlan({ name: 'kadmv', link: idx, mode: 'bridge', mac: '00:00:5e:00:01:07' }) }),
  'link add kadmv2 link kadg0 type macvlan mode private': () => ({ type: RTM.NEWLINK, flags: ADD, payload: encodeMacvlan({ name: 'kadmv2', link: idx, mode: 'private' }) }),
}

describe('native codecs: rtnetlink requests are byte-identical to ip(8)', () => {
  for (const { cmd, hex } of fixtures.requests) {
    it(cmd, () => {
      const want = Buffer.from(hex, 'hex')
      const build = kad[cmd]
      assert.ok(build, `no kad equivalent for ${cmd}`)
      const m = build()
      const got = encodeMessage({ ...m, seq: want.readUInt32LE(8) })
      assert.equal(got.toString('hex'), want.toString('hex'))
    })
  }
})

describe('native codecs: rtnetlink decoders read what ip(8) encodes', () => {
  const msg = (cmd: string) => {
    const d = decodeMessages(Buffer.from(fixtures.requests.find((r) => r.cmd === cmd)!.hex, 'hex'))
    assert.ok(d.ok)
    return d.messages[0]
  }
  it('address with broadcast and label', () => {
    const d = decodeAddress(msg('addr add 192.0.2.5/24 brd 192.0.2.255 label kadg0:1 dev kadg0'))
    assert.ok(d.ok)
    assert.deepEqual(d.address, { family: 4, ifindex: idx, address: '192.0.2.5', local: '192.0.2.5', prefixLength: 24, scope: 'global', flags: [], broadcast: '192.0.2.255', label: 'kadg0:1' })
  })
  it('IPv6 address flags from IFA_FLAGS', () => {
    const d = decodeAddress(msg('addr add 2001:db8::1/64 dev kadg0 nodad noprefixroute'))
    assert.ok(d.ok)
    assert.deepEqual(d.address.flags, ['nodad', 'noprefixroute'])
  })
  it('macvlan link', () => {
    const d = decodeLink(msg('link add kadmv link kadg0 address 00:00:5e:00:01:07 type macvlan mode bridge'))
    assert.ok(d.ok)
    assert.equal(d.link.name, 'kadmv')
    assert.equal(d.link.kind, 'macvlan')
    assert.equal(d.link.macvlanMode, 'bridge')
    assert.equal(d.link.mac, '00:00:5e:00:01:07')
    assert.equal(d.link.link, idx)
  })
  it('route with table >= 256 and gateway', () => {
    const d = decodeRoute(msg('route add 203.0.113.0/24 via 192.0.2.5 table 1000'))
    assert.ok(d.ok)
    assert.deepEqual(d.route, { family: 4, dst: '203.0.113.0/24', table: 1000, type: 'unicast', scope: 'global', protocol: 3, via: '192.0.2.5' })
  })
  it('rule with fwmark', () => {
    const d = decodeRule(msg('rule add to 198.51.100.0/24 fwmark 7 table 101 priority 101'))
    assert.ok(d.ok)
    assert.deepEqual(d.rule, { family: 4, table: 101, action: 'to_tbl', priority: 101, to: '198.51.100.0/24', fwmark: 7 })
  })
})

describe('native codecs: netlink framing', () => {
  it('encodes nested attributes with 4-byte alignment', () => {
    const b = encodeAttrs([u8Attr(1, 7), nested(2, [strAttr(3, 'ab'), u32Attr(4, 0x01020304)])])
    assert.equal(b.toString('hex'), '0500010007000000' + '1400028007000300616200000800040004030201')
    const d = decodeAttrs(b)
    assert.ok(d.ok)
    assert.equal(d.attrs[1].nested, true)
    const inner = decodeAttrs(attrMap(d.attrs).get(2)!)
    assert.ok(inner.ok && inner.attrs.length === 2)
  })
  it('splits a multi-message datagram (dump + DONE)', () => {
    const a = encodeMessage({ type: RTM.NEWLINK, flags: NLM_F.MULTI, seq: 9, payload: encodeIfinfomsg(1) })
    const done = encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq: 9, payload: Buffer.alloc(4) })
    const d = decodeMessages(Buffer.concat([a, done]))
    assert.ok(d.ok)
    assert.deepEqual(d.messages.map((m) => [m.type, m.seq]), [[RTM.NEWLINK, 9], [NLMSG.DONE, 9]])
  })
  it('maps NLMSG_ERROR to the errno name and the extended-ACK message', () => {
    // struct nlmsgerr { int error = -EEXIST; struct nlmsghdr msg (capped) } + NLMSGERR_ATTR_MSG
    const orig = encodeMessage({ type: RTM.NEWADDR, flags: 0x605, seq: 77, payload: [] })
    const err = Buffer.alloc(4)
    err.writeInt32LE(-17, 0)
    const m = { type: NLMSG.ERROR, flags: NLM_F.CAPPED | NLM_F.ACK_TLVS, seq: 77, pid: 0, payload: Buffer.concat([err, orig, encodeAttrs([strAttr(1, 'Address already assigned')])]) }
    const d = decodeError(m)
    assert.ok(d.ok)
    assert.deepEqual(d.error, { errno: 17, code: 'EEXIST', requestType: RTM.NEWADDR, requestSeq: 77, message: 'Address already assigned' })
    assert.equal(errnoName(99), 'EADDRNOTAVAIL')
  })
  it('generic netlink family request and reply', () => {
    assert.equal(encodeGetFamily('IPVS').toString('hex'), '03010000' + '0900020049505653000000' + '00')
    const reply = encodeMessage({
      type: GENL_ID_CTRL, flags: 0, seq: 1, payload: [Buffer.from([1, 2, 0, 0]), encodeAttrs([
        strAttr(2, 'IPVS'), { type: 1, value: Buffer.from([0x1c, 0x00]) }, u32Attr(3, 1),
        nested(7, [nested(1, [strAttr(1, 'events'), u32Attr(2, 33)])]),
      ])],
    })
    const m = decodeMessages(reply)
    assert.ok(m.ok)
    const f = decodeFamily(m.messages[0])
    assert.ok(f.ok)
    assert.deepEqual(f.family, { id: 0x1c, name: 'IPVS', version: 1, hdrSize: 0, maxAttr: 0, groups: { events: 33 } })
  })
})

describe('native codecs: ARP and neighbour advertisement', () => {
  // scapy: Ether(dst=bcast, src=00:00:5e:00:01:07)/ARP(op=1, hwsrc=…, psrc=192.0.2.10, hwdst=bcast, pdst=192.0.2.10)
  const ARP_GOLDEN = 'ffffffffffff00005e0001070806000108000604000100005e000107c000020affffffffffffc000020a'
  // scapy: IPv6(src=fe80::1, dst=ff02::1)/ICMPv6ND_NA(tgt=2001:db8::10, R=0, S=0, O=1)/ICMPv6NDOptDstLLAddr(00:00:5e:00:01:07)
  const NA_GOLDEN = '8800cb4d2000000020010db8000000000000000000000010020100005e000107'
  const NA2_GOLDEN = '8800792aa000000020010db80000000000000000000000010201020000000001'
  it('gratuitous ARP', () => {
    assert.equal(gratuitousArp('192.0.2.10', '00:00:5e:00:01:07').toString('hex'), ARP_GOLDEN)
    const d = decodeArp(Buffer.from(ARP_GOLDEN, 'hex'))
    assert.ok(d.ok)
    assert.deepEqual(d.arp, { ethDst: 'ff:ff:ff:ff:ff:ff', ethSrc: '00:00:5e:00:01:07', op: ARPOP.REQUEST, senderMac: '00:00:5e:00:01:07', senderIp: '192.0.2.10', targetMac: 'ff:ff:ff:ff:ff:ff', targetIp: '192.0.2.10' })
    assert.equal(encodeArp(d.arp).toString('hex'), ARP_GOLDEN)
  })
  it('unsolicited NA with target link-layer option and checksum', () => {
    assert.equal(encodeNa({ target: '2001:db8::10', mac: '00:00:5e:00:01:07' }, { src: 'fe80::1', dst: 'ff02::1' }).toString('hex'), NA_GOLDEN)
    assert.equal(encodeNa({ target: '2001:db8::1', mac: '02:00:00:00:00:01', router: true }, { src: '2001:db8::1', dst: 'ff02::1' }).toString('hex'), NA2_GOLDEN)
    const d = decodeNa(Buffer.from(NA_GOLDEN, 'hex'))
    assert.ok(d.ok)
    assert.deepEqual(d.na, { target: '2001:db8::10', router: false, solicited: false, override: true, mac: '00:00:5e:00:01:07', checksum: 0xcb4d })
    // A message carrying its own correct checksum sums to zero.
    assert.equal(icmpv6Checksum('fe80::1', 'ff02::1', Buffer.from(NA_GOLDEN, 'hex')), 0)
  })
})

describe('native codecs: addresses, sockaddrs, sysctl keys', () => {
  it('IPv6 text forms', () => {
    for (const [t, want] of [['2001:db8::1', '2001:db8::1'], ['2001:0db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['::', '::'], ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], ['fe80::1%eth0', 'fe80::1']]) {
      assert.equal(formatIPv6(parseIPv6(t)!), want)
    }
    assert.equal(parseIP('300.1.1.1'), undefined)
    assert.equal(parsePrefix('192.0.2.0/33'), undefined)
  })
  it('sockaddr round trips', () => {
    for (const sa of [
      { family: 'inet', address: '192.0.2.1', port: 80 },
      { family: 'inet6', address: '2001:db8::1', port: 53, flowInfo: 0, scopeId: 3 },
      { family: 'packet', ifindex: 4, protocol: 0x806, hatype: 1, pkttype: 1, address: 'ff:ff:ff:ff:ff:ff' },
      { family: 'netlink', pid: 1234, groups: 17 },
      { family: 'unix', path: '/dev/log' },
    ] as const) {
      const d = decodeSockAddr(encodeSockAddr(sa))
      assert.ok(d.ok)
      assert.deepEqual(d.addr, sa)
    }
    assert.equal(encodeSockAddr({ family: 'inet', address: '192.0.2.1', port: 0x1234 }).toString('hex'), '02001234c0000201' + '0000000000000000')
  })
  it('sysctl keys', () => {
    assert.equal(sysctlPath('net.ipv4.conf.all.arp_ignore'), '/proc/sys/net/ipv4/conf/all/arp_ignore')
    assert.equal(sysctlPath('net.ipv4.conf.eth0/100.arp_ignore'), '/proc/sys/net/ipv4/conf/eth0.100/arp_ignore')
    assert.equal(sysctlPath('net/ipv6/conf/all/forwarding'), '/proc/sys/net/ipv6/conf/all/forwarding')
  })
  it('formatIP of odd lengths does not throw', () => {
    assert.equal(formatIP(Buffer.from([1, 2, 3])), '010203')
  })
})

describe('native codecs: decoders never throw (fast-check)', () => {
  const bytes = fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a))
  const msgOf = (b: Buffer) => ({ type: 0, flags: 0xffff, seq: 0, pid: 0, payload: b })
  const decoders: Array<[string, (b: Buffer) => unknown]> = [
    ['decodeMessages', decodeMessages], ['decodeAttrs', decodeAttrs], ['decodeError', (b) => decodeError(msgOf(b))],
    ['decodeAddress', (b) => decodeAddress(msgOf(b))], ['decodeLink', (b) => decodeLink(msgOf(b))], ['decodeRoute', (b) => decodeRoute(msgOf(b))],
    ['decodeRule', (b) => decodeRule(msgOf(b))], ['decodeFamily', (b) => decodeFamily(msgOf(b))], ['decodeArp', decodeArp], ['decodeNa', decodeNa],
    ['decodeNaFrame', decodeNaFrame], ['decodeSockAddr', decodeSockAddr],
  ]
  // Valid messages, truncated at every length and with bytes flipped, exercise the deeper paths.
  const seeds = [
    ...fixtures.requests.map((r) => Buffer.from(r.hex, 'hex')),
    Buffer.from('ffffffffffff00005e0001070806000108000604000100005e000107c000020affffffffffffc000020a', 'hex'),
    Buffer.from('8800cb4d2000000020010db8000000000000000000000010020100005e000107', 'hex'),
  ]
  const mutated = fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }))
    .map(([seed, cut, flips]) => {
      const b = Buffer.from(seed.subarray(0, cut % (seed.length + 1)))
      for (const [at, v] of flips) if (b.length) b[at % b.length] = v
      return b
    })
  for (const [name, decode] of decoders) {
    it(name, () => {
      fc.assert(fc.property(fc.oneof(bytes, mutated), (b) => {
        decode(b)
        // payload-level decoders also see the body without the netlink header
        if (b.length > 16) decode(b.subarray(16))
      }), { numRuns: 2000 })
    })
  }
})
