// Raw, packet and unix sockets across namespaces: ancillary data, GARP / NA on the wire, fd hygiene, capabilities.
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  createNetworking, decodeArp, decodeNaFrame, ETH_P, htons, ifNameToIndex, openSocket, type KadSocket, type MessageInfo, type Networking,
} from '@kad/native'
import { addNs, delNs, fdCount, sh } from './helpers.js'

const A = `kad-native-a-${process.pid}`
const B = `kad-native-b-${process.pid}`
const O = `kad-native-o-${process.pid}`

describe('native sockets (root, namespaces)', function () {
  let nsA: string, nsB: string, nsO: string
  const open: KadSocket[] = []
  const nets: Networking[] = []
  before(() => {
    nsA = addNs(A)
    nsB = addNs(B)
    nsO = addNs(O)
    sh(`ip -n ${O} link add kbr0 type bridge && ip -n ${O} link set kbr0 up`)
    for (const [ns, n] of [[A, 'a'], [B, 'b']]) {
      sh(`ip -n ${O} link add k${n}1 type veth peer name k${n}0 netns ${ns}`)
      sh(`ip -n ${O} link set k${n}1 master kbr0 up && ip -n ${ns} link set k${n}0 up`)
    }
    sh(`ip -n ${A} addr add 192.0.2.1/24 dev ka0 && ip -n ${A} addr add 2001:db8::1/64 dev ka0 nodad`)
    sh(`ip -n ${B} addr add 192.0.2.2/24 dev kb0 && ip -n ${B} addr add 2001:db8::2/64 dev kb0 nodad`)
  })
  afterEach(() => { for (const s of open.splice(0)) s.close() })
  after(() => {
    for (const n of nets) n.close()
    delNs(A, B, O)
  })

  const recvOne = (s: KadSocket, match: (b: Buffer, i: MessageInfo) => boolean, ms = 2000) =>
    new Promise<{ buf: Buffer; info: MessageInfo }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('nothing received')), ms)
      s.onMessage((buf, info) => { if (match(buf, info)) { clearTimeout(t); resolve({ buf, info }) } })
    })

  it('a raw protocol-112 IPv4 packet arrives in the other namespace with TTL 255, ifindex and destination', async () => {
    const rx = openSocket({ domain: 'inet', type: 'raw', protocol: 112, netns: nsB }).receivePacketInfo()
    const tx = openSocket({ domain: 'inet', type: 'raw', protocol: 112, netns: nsA })
    open.push(rx, tx)
    const got = recvOne(rx, (b) => b.subarray(20).toString() === 'kad-vrrp')
    tx.send(Buffer.from('kad-vrrp'), '192.0.2.2', { ttl: 255 })
    const { buf, info } = await got
    assert.equal(buf[0] >> 4, 4) // raw IPv4 sockets deliver the IP header
    assert.equal(info.ttl, 255)
    assert.equal(info.ifindex, ifNameToIndex('kb0', nsB))
    assert.equal(info.dst, '192.0.2.2')
    assert.equal(info.from, '192.0.2.1')
  })

  it('multicast to 224.0.0.18 with a per-packet TTL and outgoing interface', async () => {
    const rx = openSocket({ domain: 'inet', type: 'raw', protocol: 112, netns: nsB }).receivePacketInfo()
    rx.addMembership('224.0.0.18', ifNameToIndex('kb0', nsB))
    const tx = openSocket({ domain: 'inet', type: 'raw', protocol: 112, netns: nsA })
    open.push(rx, tx)
    const got = recvOne(rx, (b) => b.subarray(20).toString() === 'mcast')
    tx.send(Buffer.from('mcast'), '224.0.0.18', { ttl: 255, ifindex: ifNameToIndex('ka0', nsA) })
    const { info } = await got
    assert.equal(info.ttl, 255)
    assert.equal(info.dst, '224.0.0.18')
    assert.equal(info.ifindex, ifNameToIndex('kb0', nsB))
  })

  it('IPv6 multicast to ff02::12 (VRRPv3) with hop limit 255 from the interface chosen per packet', async () => {
    const rx = openSocket({ domain: 'inet6', type: 'raw', protocol: 112, netns: nsB }).receivePacketInfo()
    rx.addMembership('ff02::12', ifNameToIndex('kb0', nsB))
    const tx = openSocket({ domain: 'inet6', type: 'raw', protocol: 112, netns: nsA })
    open.push(rx, tx)
    const got = recvOne(rx, (b) => b.toString() === 'v3-mcast')
    tx.send(Buffer.from('v3-mcast'), 'ff02::12', { hopLimit: 255, ifindex: ifNameToIndex('ka0', nsA) })
    const { info } = await got
    assert.equal(info.hopLimit, 255)
    assert.equal(info.dst, 'ff02::12')
    assert.equal(info.ifindex, ifNameToIndex('kb0', nsB))
    assert.ok(info.from === '2001:db8::1' || info.from.startsWith('fe80::'), info.from) // link-local may still be tentative
  })

  it('a raw protocol-112 IPv6 packet carries hop limit 255 and the ifindex', async () => {
    const rx = openSocket({ domain: 'inet6', type: 'raw', protocol: 112, netns: nsB }).receivePacketInfo()
    const tx = openSocket({ domain: 'inet6', type: 'raw', protocol: 112, netns: nsA })
    open.push(rx, tx)
    const got = recvOne(rx, (b) => b.toString() === 'kad-v6')
    tx.send(Buffer.from('kad-v6'), '2001:db8::2', { hopLimit: 255, src: '2001:db8::1' })
    const { info } = await got
    assert.equal(info.hopLimit, 255)
    assert.equal(info.ifindex, ifNameToIndex('kb0', nsB))
    assert.equal(info.dst, '2001:db8::2')
    assert.equal(info.from, '2001:db8::1')
  })

  it('a gratuitous ARP and an unsolicited NA are seen by a packet socket in a third namespace', async () => {
    const net = createNetworking({ netns: nsA })
    nets.push(net)
    const sniff = openSocket({ domain: 'packet', type: 'raw', protocol: htons(ETH_P.ALL), netns: nsO })
    sniff.bind({ ifindex: ifNameToIndex('kbr0', nsO), protocol: ETH_P.ALL })
    open.push(sniff)
    const mac = (await net.rtnl.getLink('ka0'))!.mac!
    const arp = recvOne(sniff, (b) => { const d = decodeArp(b); return d.ok && d.arp.senderIp === '192.0.2.77' })
    await net.rtnl.addAddress({ dev: 'ka0', address: '192.0.2.77/32' })
    // Our own frames only: the kernel may also send IPv6 housekeeping (MLD, RS) on the bridge.
    await net.arp.sendGratuitous({ dev: 'ka0', ip: '192.0.2.77' })
    const { buf: af } = await arp
    const a = decodeArp(af)
    assert.ok(a.ok)
    assert.deepEqual(a.arp, { ethDst: 'ff:ff:ff:ff:ff:ff', ethSrc: mac, op: 1, senderMac: mac, senderIp: '192.0.2.77', targetMac: 'ff:ff:ff:ff:ff:ff', targetIp: '192.0.2.77' })

    const na = recvOne(sniff, (b) => { const d = decodeNaFrame(b); return d.ok && d.na.target === '2001:db8::1' })
    await net.nd.sendUnsolicitedNa({ dev: 'ka0', ip: '2001:db8::1', src: '2001:db8::1' })
    const { buf: nf } = await na
    const n = decodeNaFrame(nf)
    assert.ok(n.ok)
    assert.equal(n.dst, 'ff02::1')
    assert.equal(n.src, '2001:db8::1')
    assert.equal(n.hopLimit, 255)
    assert.equal(n.ethDst, '33:33:00:00:00:01')
    assert.deepEqual([n.na.override, n.na.solicited, n.na.router, n.na.mac], [true, false, false, mac])
  })

  it('sends syslog-style datagrams to a unix path', async () => {
    const path = `/tmp/kad-native-unix-${process.pid}.sock`
    sh(`rm -f ${path}`)
    const server = openSocket({ domain: 'unix', type: 'dgram' }).bind(path)
    const client = openSocket({ domain: 'unix', type: 'dgram' })
    open.push(server, client)
    try {
      const got = recvOne(server, () => true)
      client.send(Buffer.from('<13>kad: hello'), path)
      assert.equal((await got).buf.toString(), '<13>kad: hello')
    } finally {
      sh(`rm -f ${path}`)
    }
  })

  it('opening and closing 10,000 sockets leaves the fd count where it was', () => {
    const before = fdCount()
    for (let i = 0; i < 10000; i++) {
      const s = openSocket({ domain: i % 2 ? 'netlink' : 'inet', type: i % 2 ? 'raw' : 'dgram', protocol: 0 })
      if (i % 10 === 0) s.onMessage(() => {}) // also exercise the poll handle
      s.close()
      s.close() // closing twice is harmless
    }
    assert.equal(fdCount(), before)
    const s = openSocket({ domain: 'inet', type: 'dgram' })
    s.close()
    assert.throws(() => s.send(Buffer.from('x'), '192.0.2.1'), { code: 'EBADF' })
  })

  it('without privileges: errors name the errno and the capability, nothing crashes', () => {
    const dist = fileURLToPath(new URL('../../native/dist/index.js', import.meta.url))
    const script = `
      import(${JSON.stringify(dist)}).then(async (m) => {
        const out = {}
        try { m.openSocket({ domain: 'packet', type: 'raw', protocol: 0 }) } catch (e) { out.packet = [e.code, e.message] }
        try { m.openSocket({ domain: 'inet', type: 'raw', protocol: 112 }) } catch (e) { out.raw = [e.code, e.message] }
        const net = m.createNetworking()
        try { await net.rtnl.addAddress({ dev: 'lo', address: '192.0.2.99/32' }) } catch (e) { out.rtnl = [e.code, e.message] }
        net.close()
        console.log(JSON.stringify(out))
      })`
    const res = JSON.parse(execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', cwd: '/' }))
    assert.equal(res.packet[0], 'EPERM')
    assert.match(res.packet[1], /CAP_NET_RAW/)
    assert.equal(res.raw[0], 'EPERM')
    assert.match(res.raw[1], /CAP_NET_RAW/)
    assert.equal(res.rtnl[0], 'EPERM')
    assert.match(res.rtnl[1], /CAP_NET_ADMIN/)
  })
})
