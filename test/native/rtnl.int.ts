// rtnetlink through kad's library, checked against `ip -j` in a namespace the test owns.
import { strict as assert } from 'node:assert'
import { createNetworking, type Networking, type RtnlEvent } from '@kad/native'
import { addNs, delNs, ipj, sh } from './helpers.js'

const NS = `kad-native-rtnl-${process.pid}`

describe('native rtnetlink (root, namespace)', function () {
  let net: Networking
  let ns: string
  before(() => {
    ns = addNs(NS)
    sh(`ip -n ${NS} link add kadt0 type veth peer name kadt1 && ip -n ${NS} link set kadt0 up && ip -n ${NS} link set kadt1 up`)
    net = createNetworking({ netns: ns, timeoutMs: 3000 })
  })
  after(() => {
    net?.close()
    delNs(NS)
  })

  const addrs = (dev: string) => ipj(NS, `addr show dev ${dev}`)[0].addr_info.filter((a: any) => a.scope !== 'link')

  it('adds, lists and deletes IPv4 and IPv6 addresses with label, scope, broadcast and flags', async () => {
    await net.rtnl.addAddress({ dev: 'kadt0', address: '192.0.2.10/24', broadcast: '192.0.2.255', label: 'kadt0:vip' })
    await net.rtnl.addAddress({ dev: 'kadt0', address: '192.0.2.11/32', scope: 'host' })
    await net.rtnl.addAddress({ dev: 'kadt0', address: '2001:db8::10/64', flags: ['nodad', 'noprefixroute'] })
    await net.rtnl.addAddress({ dev: 'kadt0', address: '2001:db8::11/64', flags: ['nodad', 'home'] })
    const a = addrs('kadt0')
    const v4 = a.find((x: any) => x.local === '192.0.2.10')
    assert.deepEqual([v4.prefixlen, v4.broadcast, v4.label, v4.scope], [24, '192.0.2.255', 'kadt0:vip', 'global'])
    assert.equal(a.find((x: any) => x.local === '192.0.2.11').scope, 'host')
    const v6 = a.find((x: any) => x.local === '2001:db8::10')
    assert.equal(v6.nodad, true)
    assert.equal(v6.noprefixroute, true)
    assert.equal(a.find((x: any) => x.local === '2001:db8::11').home, true)
    const listed = await net.rtnl.listAddresses({ dev: 'kadt0' })
    assert.deepEqual(listed.filter((x) => x.scope !== 'link').map((x) => `${x.address}/${x.prefixLength}`).sort(), ['192.0.2.10/24', '192.0.2.11/32', '2001:db8::10/64', '2001:db8::11/64'])
    assert.ok(listed.find((x) => x.address === '2001:db8::10')!.flags.includes('noprefixroute'))
    await net.rtnl.delAddress({ dev: 'kadt0', address: '192.0.2.11/32' })
    await net.rtnl.delAddress({ dev: 'kadt0', address: '2001:db8::11/64' })
    assert.deepEqual(addrs('kadt0').map((x: any) => x.local).sort(), ['192.0.2.10', '2001:db8::10'])
  })

  it('deleting an address that was never there rejects with EADDRNOTAVAIL; adding twice with EEXIST', async () => {
    await assert.rejects(net.rtnl.delAddress({ dev: 'kadt0', address: '198.51.100.1/24' }), { code: 'EADDRNOTAVAIL' })
    await assert.rejects(net.rtnl.addAddress({ dev: 'kadt0', address: '192.0.2.10/24' }), { code: 'EEXIST' })
    await assert.rejects(net.rtnl.delLink('kad-nonexistent'), { code: 'ENODEV' })
  })

  it('sets links down / up and changes the MAC; lists links', async () => {
    await net.rtnl.setLinkDown('kadt1')
    assert.ok(!ipj(NS, 'link show kadt1')[0].flags.includes('UP'))
    await net.rtnl.setLinkUp('kadt1')
    assert.ok(ipj(NS, 'link show kadt1')[0].flags.includes('UP'))
    await net.rtnl.setLinkMac('kadt1', '02:00:00:00:aa:01')
    assert.equal(ipj(NS, 'link show kadt1')[0].address, '02:00:00:00:aa:01')
    const links = await net.rtnl.listLinks()
    assert.deepEqual(links.map((l) => l.name).sort(), ['kadt0', 'kadt1', 'lo'])
    assert.equal(links.find((l) => l.name === 'kadt1')!.mac, '02:00:00:00:aa:01')
    assert.equal((await net.rtnl.getLink('kadt1'))!.up, true)
    assert.equal(await net.rtnl.getLink('nope0'), undefined)
  })

  for (const mode of ['private', 'vepa', 'bridge', 'passthru'] as const) {
    it(`adds and deletes a ${mode} macvlan with a given MAC`, async () => {
      await net.rtnl.addMacvlan({ name: 'kadmv0', link: 'kadt0', mode, mac: '00:00:5e:00:01:2a', up: true })
      const l = ipj(NS, '-d link show kadmv0')[0]
      assert.equal(l.linkinfo.info_kind, 'macvlan')
      assert.equal(l.linkinfo.info_data.mode, mode)
      // passthru takes over the lower device's address (kernel semantics); the others keep the one given.
      assert.equal(l.address, mode === 'passthru' ? ipj(NS, 'link show kadt0')[0].address : '00:00:5e:00:01:2a')
      assert.ok(l.flags.includes('UP'))
      const mine = (await net.rtnl.getLink('kadmv0'))!
      assert.equal(mine.macvlanMode, mode)
      await net.rtnl.delLink('kadmv0')
      assert.throws(() => sh(`ip -n ${NS} link show kadmv0 2>&1`))
    })
  }

  it('adds and deletes routes (table, metric, via, dev, src, scope, types)', async () => {
    const show = (args: string) => ipj(NS, `route show ${args}`)
    await net.rtnl.addRoute({ dst: '203.0.113.0/24', via: '192.0.2.1', table: 100, metric: 7 })
    assert.deepEqual(show('table 100').map((r: any) => [r.dst, r.gateway, r.dev, r.metric]), [['203.0.113.0/24', '192.0.2.1', 'kadt0', 7]])
    await net.rtnl.addRoute({ dst: '198.51.100.0/25', dev: 'kadt0', src: '192.0.2.10', scope: 'link' })
    const r = show('198.51.100.0/25')[0]
    assert.deepEqual([r.dev, r.prefsrc, r.scope], ['kadt0', '192.0.2.10', 'link'])
    for (const type of ['blackhole', 'unreachable', 'prohibit'] as const) {
      await net.rtnl.addRoute({ dst: '198.51.100.128/25', type, table: 1000 })
      assert.equal(show('table 1000')[0].type, type)
      await net.rtnl.delRoute({ dst: '198.51.100.128/25', type, table: 1000 })
      assert.deepEqual(show('table 1000'), [])
    }
    await net.rtnl.addRoute({ dst: '2001:db8:5::/48', via: '2001:db8::1', metric: 1 })
    assert.equal(ipj(NS, '-6 route show 2001:db8:5::/48')[0].gateway, '2001:db8::1')
    const listed = await net.rtnl.listRoutes({ table: 100 })
    assert.deepEqual(listed.map((x) => [x.dst, x.via, x.metric]), [['203.0.113.0/24', '192.0.2.1', 7]])
    await net.rtnl.delRoute({ dst: '203.0.113.0/24', via: '192.0.2.1', table: 100, metric: 7 })
    await net.rtnl.delRoute({ dst: '198.51.100.0/25', dev: 'kadt0' })
    await net.rtnl.delRoute({ dst: '2001:db8:5::/48', via: '2001:db8::1', metric: 1 })
    assert.deepEqual(show('table 100'), [])
    assert.deepEqual(show('198.51.100.0/25'), [])
    await assert.rejects(net.rtnl.delRoute({ dst: '203.0.113.0/24', table: 100 }), { code: 'ESRCH' })
  })

  it('adds and deletes rules (from, to, table, priority, fwmark, iif, oif)', async () => {
    const before = ipj(NS, 'rule show').length
    await net.rtnl.addRule({ from: '192.0.2.0/24', table: 100, priority: 100 })
    await net.rtnl.addRule({ to: '198.51.100.0/24', fwmark: 7, table: 101, priority: 101 })
    await net.rtnl.addRule({ iif: 'kadt0', table: 1002, priority: 102 })
    await net.rtnl.addRule({ oif: 'kadt1', table: 103, priority: 103 })
    const rules = ipj(NS, 'rule show')
    const by = (p: number) => rules.find((x: any) => x.priority === p)
    assert.deepEqual([by(100).src, by(100).srclen, by(100).table], ['192.0.2.0', 24, '100'])
    assert.deepEqual([by(101).dst, by(101).fwmark, by(101).table], ['198.51.100.0', '0x7', '101'])
    assert.deepEqual([by(102).iif, by(102).table], ['kadt0', '1002'])
    assert.deepEqual([by(103).oif, by(103).table], ['kadt1', '103'])
    const mine = await net.rtnl.listRules()
    assert.equal(mine.find((x) => x.priority === 102)!.table, 1002)
    await net.rtnl.delRule({ from: '192.0.2.0/24', table: 100, priority: 100 })
    await net.rtnl.delRule({ to: '198.51.100.0/24', fwmark: 7, table: 101, priority: 101 })
    await net.rtnl.delRule({ iif: 'kadt0', table: 1002, priority: 102 })
    await net.rtnl.delRule({ oif: 'kadt1', table: 103, priority: 103 })
    assert.equal(ipj(NS, 'rule show').length, before)
    await assert.rejects(net.rtnl.delRule({ priority: 4242, table: 42 }), { code: 'ENOENT' })
  })

  it('reports a link set down (by another process) as an event within 100 ms', async () => {
    const events: Array<{ at: number; e: RtnlEvent }> = []
    const unsub = net.rtnl.subscribe((e) => events.push({ at: Date.now(), e }))
    try {
      await new Promise((r) => setTimeout(r, 50))
      const t0 = Date.now()
      sh(`ip -n ${NS} link set kadt1 down`)
      const t1 = Date.now()
      const until = t1 + 1000
      while (Date.now() < until && !events.some(({ e }) => e.kind === 'link' && e.link.name === 'kadt1' && !e.link.up)) await new Promise((r) => setTimeout(r, 2))
      const hit = events.find(({ e }) => e.kind === 'link' && e.link.name === 'kadt1' && !e.link.up)
      assert.ok(hit, 'no link-down event')
      assert.ok(hit.at - t1 <= 100, `event ${hit.at - t1} ms after ip returned (ip took ${t1 - t0} ms)`)
      sh(`ip -n ${NS} addr add 203.0.113.9/32 dev kadt0`)
      const addr = await new Promise<RtnlEvent>((resolve) => {
        const iv = setInterval(() => {
          const f = events.find(({ e }) => e.kind === 'address' && e.address.address === '203.0.113.9')
          if (f) { clearInterval(iv); resolve(f.e) }
        }, 5)
      })
      assert.equal(addr.kind === 'address' && addr.action, 'new')
    } finally {
      unsub()
      sh(`ip -n ${NS} link set kadt1 up`)
    }
  })

  it('recovers from an event overrun (ENOBUFS) by re-syncing with a dump', async () => {
    const { Rtnl } = await import('@kad/native')
    const small = new Rtnl({ netns: ns, eventReceiveBufferBytes: 4096 })
    const events: RtnlEvent[] = []
    const unsub = small.subscribe((e) => events.push(e))
    try {
      small.eventSocket!.sock.pause()
      sh(`for i in $(seq 1 200); do echo "addr add 2001:db8:77::$i/128 dev kadt0 nodad"; done > /tmp/kad-native-batch-${process.pid}`)
      sh(`ip -n ${NS} -batch /tmp/kad-native-batch-${process.pid}`)
      small.eventSocket!.sock.resume()
      const until = Date.now() + 3000
      while (Date.now() < until && !events.some((e) => e.kind === 'resync')) await new Promise((r) => setTimeout(r, 10))
      const resync = events.find((e) => e.kind === 'resync')
      assert.ok(resync && resync.kind === 'resync', 'no resync event after the overrun')
      assert.equal(resync.addresses.filter((a) => a.address.startsWith('2001:db8:77::')).length, 200)
      assert.ok(small.eventSocket!.stats.overruns >= 1)
      // The socket keeps working after the overrun.
      sh(`ip -n ${NS} addr add 2001:db8:78::1/128 dev kadt0 nodad`)
      const until2 = Date.now() + 2000
      while (Date.now() < until2 && !events.some((e) => e.kind === 'address' && e.address.address === '2001:db8:78::1')) await new Promise((r) => setTimeout(r, 10))
      assert.ok(events.some((e) => e.kind === 'address' && e.address.address === '2001:db8:78::1'))
    } finally {
      unsub()
      small.close()
      sh(`rm -f /tmp/kad-native-batch-${process.pid}; ip -n ${NS} -6 addr flush dev kadt0 scope global`)
    }
  })

  it('receive buffers: set (forced or not) on the open sockets and later ones; a side no longer set goes back to 4 MiB', async () => {
    const rtnl = createNetworking({ netns: ns }).rtnl
    try {
      await rtnl.listLinks() // the command socket is open
      const unsub = rtnl.subscribe(() => undefined) // and the event socket
      assert.deepEqual(rtnl.setReceiveBuffers({ cmd: { bytes: 300000, force: true }, events: { bytes: 100000, force: false } }), { cmd: 600000, events: 200000 })
      assert.deepEqual(rtnl.receiveBuffers(), { cmd: 600000, events: 200000 })
      // the keywords removed by a reload: both back to the default (forced 4 MiB; the kernel reports twice that)
      rtnl.setReceiveBuffers({})
      assert.deepEqual(rtnl.receiveBuffers(), { cmd: 8 << 20, events: 8 << 20 })
      unsub()
      // a socket opened after the call gets what was asked
      rtnl.setReceiveBuffers({ events: { bytes: 150000, force: false } })
      const unsub2 = rtnl.subscribe(() => undefined)
      assert.equal(rtnl.receiveBuffers().events, 300000)
      unsub2()
    } finally {
      rtnl.close()
    }
  })

  it('resolves generic netlink families and their multicast groups', async () => {
    const ctrl = await net.genl.resolveFamily('nlctrl')
    assert.equal(ctrl.id, 0x10)
    assert.equal(ctrl.groups.notify, 0x10)
    await assert.rejects(net.genl.resolveFamily('kadnofam'), { code: 'ENOENT' })
  })

  it('reads and writes sysctls inside the namespace, not the host', () => {
    const host = sh('cat /proc/sys/net/ipv4/conf/all/arp_ignore').trim()
    net.sysctl.write('net.ipv4.conf.kadt0.arp_ignore', 1)
    assert.equal(net.sysctl.read('net.ipv4.conf.kadt0.arp_ignore'), '1')
    assert.equal(sh(`ip netns exec ${NS} cat /proc/sys/net/ipv4/conf/kadt0/arp_ignore`).trim(), '1')
    net.sysctl.write('net.ipv4.conf.all.arp_ignore', host === '0' ? 2 : 0)
    assert.equal(sh('cat /proc/sys/net/ipv4/conf/all/arp_ignore').trim(), host)
  })
})
