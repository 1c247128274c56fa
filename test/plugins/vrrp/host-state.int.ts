import assert from 'node:assert/strict'
import { chmodSync, readFileSync, existsSync } from 'node:fs'
import { type Lab, instance, sh, sleep, twoHostSuite, waitFor } from './helpers/lab.js'

const VIP = '192.0.2.100'

describe('vrrp: vmac, unicast, IPv6, notify scripts and FIFO, cleanup on stop', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp-g')
  let lab: Lab
  let a: string
  let b: string
  beforeEach(() => {
    lab = suite.lab()
    a = suite.a()
    b = suite.b()
  })

  it('use_vmac: macvlan vrrp.51 with 00:00:5e:00:01:33 holds the VIP and goes away on stop', async () => {
    const c = (p: number) => instance({ priority: p, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'use_vmac' })
    const da = lab.kad(a, 'v-a', c(200))
    lab.kad(b, 'v-b', c(100))
    await waitFor('VIP on vrrp.51 of a', () => lab.hasAddr(a, VIP, 'vrrp.51'))
    const link = JSON.parse(sh('ip', ['-j', '-n', a, 'link', 'show', 'vrrp.51']))[0]
    assert.equal(link.address, '00:00:5e:00:01:33')
    // keepalived's sysctls on the VMAC (the name's dot is a '/' in the key)
    assert.equal(sh('ip', ['netns', 'exec', a, 'sysctl', '-n', 'net.ipv4.conf.vrrp/51.arp_ignore', 'net.ipv4.conf.vrrp/51.accept_local']).trim().split(/\s+/).join(' '), '1 1')
    assert.ok(!lab.hasAddr(b, VIP, 'vrrp.51'))
    // a reload that builds a new stack (a global changed) keeps the VMAC it created (same link) and the state; the
    // stop after it still removes the VMAC and gives eth0 its sysctls back
    lab.file('v-a.conf', 'global_defs {\n  vrrp_garp_master_repeat 3\n}\n' + c(200))
    da.proc.kill('SIGHUP')
    await waitFor('carried on', () => da.has(/\(VI_1\) reload: MASTER state kept/), 10000)
    const after = JSON.parse(sh('ip', ['-j', '-n', a, 'link', 'show', 'vrrp.51']))[0]
    assert.equal(after.ifindex, link.ifindex, 'the same VMAC')
    assert.ok(lab.hasAddr(a, VIP, 'vrrp.51'))
    assert.equal(da.count(/Entering MASTER STATE/), 1)
    await da.term()
    assert.equal(sh('ip', ['-n', a, 'link', 'show', 'vrrp.51'], { ignore: true }), '')
    assert.equal(sh('ip', ['netns', 'exec', a, 'sysctl', '-n', 'net.ipv4.conf.eth0.arp_ignore']).trim(), '0', "eth0's arp_ignore restored")
    await waitFor('b takes over on its vmac', () => lab.hasAddr(b, VIP, 'vrrp.51'))
  })

  it('use_vmac on addresses of another interface: vrrp.51 / vrrp6.51 on it hold them (as keepalived 2.2.7), gone on stop', async () => {
    sh('ip', ['-n', a, 'link', 'add', 'ke0', 'type', 'veth', 'peer', 'name', 'ke1'])
    for (const l of ['ke0', 'ke1']) sh('ip', ['-n', a, 'link', 'set', l, 'up'])
    sh('ip', ['-n', a, 'addr', 'add', '198.51.100.1/24', 'dev', 'ke0'])
    try {
      const extra = 'virtual_ipaddress_excluded {\n    2001:db8:5::5/128 dev ke0 use_vmac\n  }'
      const d = lab.kad(a, 'av-a', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`, '198.51.100.50/32 dev ke0 use_vmac'], extra }))
      await waitFor('the VIPs on their VMACs', () => lab.hasAddr(a, VIP) && lab.hasAddr(a, '198.51.100.50', 'vrrp.51') && lab.hasAddr(a, '2001:db8:5::5', 'vrrp6.51'))
      const link = (n: string) => JSON.parse(sh('ip', ['-j', '-d', '-n', a, 'link', 'show', n]))[0] as { address: string; link: string; linkinfo: { info_kind: string; info_data: { mode: string } } }
      for (const [n, mac] of [['vrrp.51', '00:00:5e:00:01:33'], ['vrrp6.51', '00:00:5e:00:02:33']]) {
        const l = link(n)
        assert.equal(l.address, mac)
        assert.equal(l.link, 'ke0')
        assert.deepEqual([l.linkinfo.info_kind, l.linkinfo.info_data.mode], ['macvlan', 'private'])
      }
      assert.equal(sh('ip', ['netns', 'exec', a, 'sysctl', '-n', 'net.ipv4.conf.vrrp/51.arp_ignore']).trim(), '1')
      assert.ok(!lab.hasAddr(a, '198.51.100.50', 'ke0'))
      await d.term()
      for (const n of ['vrrp.51', 'vrrp6.51']) assert.equal(sh('ip', ['-n', a, 'link', 'show', n], { ignore: true }), '', `${n} remains`)
    } finally {
      sh('ip', ['-n', a, 'link', 'del', 'ke0'], { ignore: true })
    }
  })

  it('a reload that gives an address use_vmac moves it to vrrp.51, and back when it goes; the MASTER keeps its state', async () => {
    sh('ip', ['-n', a, 'link', 'add', 'ke0', 'type', 'veth', 'peer', 'name', 'ke1'])
    for (const l of ['ke0', 'ke1']) sh('ip', ['-n', a, 'link', 'set', l, 'up'])
    sh('ip', ['-n', a, 'addr', 'add', '198.51.100.1/24', 'dev', 'ke0'])
    try {
      const conf = (vmac: string) => instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`, `198.51.100.50/32 dev ke0${vmac}`] })
      const d = lab.kad(a, 'rv-a', conf(''))
      await waitFor('MASTER, the address on ke0', () => lab.hasAddr(a, VIP) && lab.hasAddr(a, '198.51.100.50', 'ke0'))
      lab.file('rv-a.conf', conf(' use_vmac'))
      d.proc.kill('SIGHUP')
      await waitFor('the address on vrrp.51', () => lab.hasAddr(a, '198.51.100.50', 'vrrp.51') && !lab.hasAddr(a, '198.51.100.50', 'ke0'), 10000)
      assert.ok(lab.hasAddr(a, VIP))
      lab.file('rv-a.conf', conf(''))
      d.proc.kill('SIGHUP')
      await waitFor('back on ke0, vrrp.51 gone', () => lab.hasAddr(a, '198.51.100.50', 'ke0') && sh('ip', ['-n', a, 'link', 'show', 'vrrp.51'], { ignore: true }) === '', 10000)
      assert.equal(d.count(/Entering MASTER STATE/), 1, 'one MASTER transition: the reloads kept the state')
      assert.equal(d.count(/reload: MASTER state kept/), 2)
      await d.term()
      assert.ok(!lab.hasAddr(a, '198.51.100.50') && !lab.hasAddr(a, VIP))
    } finally {
      sh('ip', ['-n', a, 'link', 'del', 'ke0'], { ignore: true })
    }
  })

  it('vrrp_netlink_cmd_rcv_bufs (forced) and vrrp_netlink_monitor_rcv_bufs (not): the netlink sockets\' receive buffers, read back with ss', async () => {
    const conf = 'global_defs {\n  vrrp_netlink_cmd_rcv_bufs 300000\n  vrrp_netlink_cmd_rcv_bufs_force\n  vrrp_netlink_monitor_rcv_bufs 100000\n}\n' +
      instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`] })
    const d = lab.kad(a, 'nlb-a', conf)
    await waitFor('the sizes logged', () => d.count(/netlink receive buffers: command 300000 \(forced\): SO_RCVBUF 600000 monitor 100000: SO_RCVBUF 200000/) === 1, 10000)
    // the kernel's view of the vrrp child's rtnetlink sockets: rb is SO_RCVBUF (twice the request)
    // (the command socket's port id is the vrrp child's pid, which ss names; the event socket's is a number)
    const lines = sh('ip', ['netns', 'exec', a, 'ss', '-f', 'netlink', '-m']).split('\n').filter((l) => /\brtnl:(?!kernel)/.test(l))
    const rb = (l: string | undefined) => Number(/rb(\d+)/.exec(l ?? '')?.[1])
    assert.equal(rb(lines.find((l) => l.includes(`/${d.childPid()} `))), 600000, lines.join('\n'))
    assert.ok(lines.some((l) => rb(l) === 200000), lines.join('\n'))
    await d.term()
  })

  it('use_vmac with IPv6: vrrp.60 (00:00:5e:00:02:3c) on both routers, one MASTER, fail-over on stop', async () => {
    const c = (p: number) => instance({ name: 'V6', vrid: 60, priority: p, advert: 0.1, version: 3, vips: ['2001:db8::100/64'], extra: 'use_vmac' })
    const da = lab.kad(a, 'v6-a', c(200))
    const db = lab.kad(b, 'v6-b', c(100))
    await waitFor('a MASTER on its VMAC', () => lab.hasAddr(a, '2001:db8::100', 'vrrp.60'))
    await sleep(1000)
    assert.ok(!lab.hasAddr(b, '2001:db8::100'), 'b must stay BACKUP')
    const link = JSON.parse(sh('ip', ['-j', '-n', a, 'link', 'show', 'vrrp.60']))[0]
    assert.equal(link.address, '00:00:5e:00:02:3c')
    await da.term()
    await waitFor('b takes over on its VMAC', () => lab.hasAddr(b, '2001:db8::100', 'vrrp.60'))
    await db.term()
    for (const d of [da, db]) assert.ok(!d.has(/rejected advert/), d.log)
  })

  it('nftables: IGMP reports of a VMAC leave from its parent (keepalived\'s kad_vmac filter), the table goes on stop', async () => {
    const conf = 'global_defs {\n  nftables\n}\n' + instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'use_vmac' }) +
      instance({ name: 'V6', vrid: 60, priority: 200, advert: 0.1, version: 3, vips: ['2001:db8::100/64'], extra: 'use_vmac' })
    const d = lab.kad(a, 'ig-a', conf)
    await waitFor('both MASTER on their VMACs', () => lab.hasAddr(a, VIP, 'vrrp.51') && lab.hasAddr(a, '2001:db8::100', 'vrrp.60'))
    const tables = () => (JSON.parse(sh('ip', ['netns', 'exec', a, 'nft', '-j', 'list', 'tables'])).nftables as { table?: { family: string; name: string } }[])
      .flatMap((t) => (t.table?.name === 'kad_vmac' ? [t.table.family] : []))
    await waitFor('kad_vmac tables', () => tables().length === 2)
    assert.match(sh('ip', ['netns', 'exec', a, 'nft', 'list', 'table', 'ip', 'kad_vmac']), /"vrrp\.51" : "eth0"/)
    assert.match(sh('ip', ['netns', 'exec', a, 'nft', 'list', 'table', 'ip6', 'kad_vmac']), /"vrrp\.60" : "eth0"/)
    // a multicast join on the VMAC: its IGMP report reaches b with a's own MAC, never the virtual one
    const mac = (JSON.parse(sh('ip', ['-j', '-n', a, 'link', 'show', 'eth0']))[0] as { address: string }).address
    const { spawn } = await import('node:child_process')
    const cap = spawn('ip', ['netns', 'exec', b, 'tshark', '-l', '-n', '-i', 'eth0', '-f', 'igmp', '-a', 'duration:6', '-T', 'fields', '-e', 'eth.src', '-e', 'igmp.maddr'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let seen = ''
    cap.stdout.on('data', (b: Buffer) => (seen += b.toString()))
    await sleep(2500)
    sh('ip', ['-n', a, 'addr', 'add', '239.1.2.3/32', 'dev', 'vrrp.51', 'autojoin'])
    await new Promise((r) => cap.on('close', r))
    const reports = seen.split('\n').filter((l) => l.includes('239.1.2.3'))
    assert.ok(reports.length > 0, `no IGMP report for 239.1.2.3 seen by b: ${seen}`)
    for (const r of reports) assert.equal(r.split('\t')[0], mac, `an IGMP report left with ${r}`)
    await d.term()
    assert.deepEqual(tables(), [])
  })

  it('vrrp_rx_bufs_policy MTU x vrrp_rx_bufs_multiplier plus kernel_rx_buf_size: the shared socket\'s SO_RCVBUF is the sum', async () => {
    const conf = 'global_defs {\n  vrrp_rx_bufs_policy MTU\n  vrrp_rx_bufs_multiplier 4\n}\n' +
      instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`] }) +
      instance({ name: 'V2', vrid: 52, priority: 200, advert: 0.1, version: 3, vips: ['192.0.2.201/24'], extra: 'kernel_rx_buf_size 100000' })
    const d = lab.kad(a, 'rb-a', conf)
    await waitFor('MASTER', () => lab.hasAddr(a, VIP) && lab.hasAddr(a, '192.0.2.201'))
    const mtu = (JSON.parse(sh('ip', ['-j', '-n', a, 'link', 'show', 'eth0']))[0] as { mtu: number }).mtu
    // the kernel doubles what SO_RCVBUF asks for (socket(7))
    const want = 2 * (mtu * 4 + 100000)
    // read back from the kernel by getsockopt after each instance's setsockopt (ss shows no skmem for raw sockets)
    await waitFor('both shares applied', () => d.has(new RegExp(`SO_RCVBUF is now ${want}\\b`)))
    assert.ok(d.has(new RegExp(`\\(V2\\) receive buffer share 100000 bytes`)), d.log)
    await d.term()
  })

  it('unicast peers and IPv6 between two kad routers', async () => {
    const u = (me: number, p: number) => instance({ priority: p, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: `unicast_src_ip 192.0.2.${me}\n  unicast_peer {\n    192.0.2.${3 - me}\n  }` })
    const v6 = (p: number) => instance({ name: 'V6', vrid: 60, priority: p, advert: 0.1, version: 3, vips: ['2001:db8::100/64'] })
    const da = lab.kad(a, 'u-a', u(1, 200) + v6(100))
    const db = lab.kad(b, 'u-b', u(2, 100) + v6(200))
    await waitFor('unicast a MASTER, IPv6 b MASTER', () => lab.hasAddr(a, VIP) && !lab.hasAddr(b, VIP) && lab.hasAddr(b, '2001:db8::100') && !lab.hasAddr(a, '2001:db8::100'))
    await da.term()
    await waitFor('b takes the unicast VIP', () => lab.hasAddr(b, VIP))
    await db.term()
    for (const d of [da, db]) assert.ok(!d.has(/rejected advert/), d.log)
  })

  it('notify scripts run in order with keepalived arguments; the notify FIFO gets the same sequence', async () => {
    const out = lab.file('notify.out', '')
    const script = lab.file('notify.sh', `#!/bin/sh\necho "$@" >> ${out}\n`)
    const ms = lab.file('master.sh', `#!/bin/sh\necho "master-script $*" >> ${out}\n`)
    chmodSync(script, 0o755)
    chmodSync(ms, 0o755)
    const fifo = `${lab.dir}/vrrp.fifo`
    const conf = `global_defs {\n  vrrp_notify_fifo ${fifo}\n}\n` + instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: `notify "${script}"\n  notify_master "${ms} arg1"` })
    const d = lab.kad(a, 'n-a', conf)
    await waitFor('MASTER', () => lab.hasAddr(a, VIP))
    await waitFor('fifo', () => existsSync(fifo), 5000)
    const fifoLines: string[] = []
    const { spawn } = await import('node:child_process')
    const reader = spawn('cat', [fifo])
    reader.stdout.on('data', (b: Buffer) => fifoLines.push(...b.toString().split('\n').filter(Boolean)))
    await d.term()
    await waitFor('STOP notified', () => readFileSync(out, 'utf8').includes('STOP'), 5000)
    const lines = readFileSync(out, 'utf8').trim().split('\n')
    assert.deepEqual(lines, ['INSTANCE VI_1 BACKUP 200', 'master-script arg1', 'INSTANCE VI_1 MASTER 200', 'INSTANCE VI_1 STOP 200'])
    await sleep(300)
    reader.kill()
    if (fifoLines.length) assert.deepEqual(fifoLines.filter((l) => l.startsWith('INSTANCE')).slice(-1), ['INSTANCE "VI_1" STOP 200'])
  })

  it('removes every address, route and rule it added on stop, and keeps them with -V', async () => {
    sh('ip', ['-n', a, 'link', 'add', 'dummy2', 'type', 'veth', 'peer', 'name', 'dummy2p'], { ignore: true })
    sh('ip', ['-n', a, 'link', 'set', 'dummy2', 'up'])
    sh('ip', ['-n', a, 'link', 'set', 'dummy2p', 'up'])
    const conf = `static_ipaddress {\n  203.0.113.1/24 dev dummy2\n}\n` + instance({
      priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`],
      extra: `virtual_ipaddress_excluded {\n    198.51.100.1/32 dev dummy2\n    2001:db8::100/64 dev eth0\n  }\n  virtual_routes {\n    198.51.100.128/25 via 192.0.2.254 dev eth0\n  }\n  virtual_rules {\n    from 192.0.2.100 table 100 preference 100\n  }`,
    })
    const snapshot = () => [lab.addrs(a).join(' '), lab.addrs(a, 'dummy2').join(' '), sh('ip', ['-n', a, 'route']), sh('ip', ['-n', a, 'rule'])].join('\n')
    const before = snapshot()
    let d = lab.kad(a, 'c-a', conf)
    await waitFor('everything in place', () => {
      const s = snapshot()
      return s.includes('192.0.2.100/24') && s.includes('2001:db8::100/64') && s.includes('198.51.100.1/32') && s.includes('203.0.113.1/24') && s.includes('198.51.100.128/25') && s.includes('lookup 100')
    })
    await d.term()
    assert.equal(snapshot(), before)
    d = lab.kad(a, 'c-a2', conf, ['-V'])
    await waitFor('in place again', () => snapshot().includes('198.51.100.128/25') && lab.hasAddr(a, VIP))
    await d.term()
    assert.ok(lab.hasAddr(a, VIP), '-V keeps the VIP')
  })
})

describe('vrrp: reload (SIGHUP)', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp-r')
  it('a changed priority is applied on SIGHUP; an unchanged config keeps the master untouched', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const b = suite.b()
    const conf = (p: number) => instance({ priority: p, advert: 0.1, version: 3, vips: ['192.0.2.100/24'] })
    const da = lab.kad(a, 'r-a', conf(200))
    lab.kad(b, 'r-b', conf(100))
    await waitFor('a MASTER', () => lab.hasAddr(a, '192.0.2.100') && !lab.hasAddr(b, '192.0.2.100') && da.has(/Entering MASTER STATE/))
    await sleep(300)
    const masters = da.count(/Entering MASTER STATE/)
    da.proc.kill('SIGHUP')
    await sleep(1500)
    assert.equal(da.count(/Entering MASTER STATE/), masters, 'unchanged config: no transition')
    assert.ok(lab.hasAddr(a, '192.0.2.100'))
    lab.file('r-a.conf', conf(50))
    da.proc.kill('SIGHUP')
    await waitFor('b takes over after a lowers its priority', () => lab.hasAddr(b, '192.0.2.100') && !lab.hasAddr(a, '192.0.2.100'), 15000)
  })

  it('interface_up_down_delays: a link flap shorter than the delay is ignored, a longer one counts', async () => {
    const lab = suite.lab()
    const a = suite.a()
    sh('ip', ['-n', a, 'link', 'add', 'trk0', 'type', 'veth', 'peer', 'name', 'trk0p'])
    sh('ip', ['-n', a, 'link', 'set', 'trk0', 'up'])
    sh('ip', ['-n', a, 'link', 'set', 'trk0p', 'up'])
    const d = lab.kad(a, 'ud-a', 'interface_up_down_delays {\n  trk0 1\n}\n' + instance({ priority: 200, advert: 0.1, version: 3, vips: ['192.0.2.100/24'], extra: 'track_interface {\n    trk0\n  }' }))
    await waitFor('MASTER', () => lab.hasAddr(a, '192.0.2.100'))
    sh('ip', ['-n', a, 'link', 'set', 'trk0', 'down'])
    await sleep(300)
    sh('ip', ['-n', a, 'link', 'set', 'trk0', 'up'])
    await sleep(1500)
    assert.ok(!d.has(/Entering FAULT STATE/), 'a 0.3 s flap is ignored')
    const t0 = Date.now()
    sh('ip', ['-n', a, 'link', 'set', 'trk0', 'down'])
    await waitFor('FAULT after the delay', () => d.has(/Entering FAULT STATE/), 5000)
    assert.ok(Date.now() - t0 >= 900, `FAULT after ${Date.now() - t0} ms`)
  })

  it('track_file (the checker-file plugin\'s block): weight 0, a non-zero value is FAULT', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const f = lab.file('track.val', '0\n')
    const d = lab.kad(a, 'tf-a', `track_file tf {\n  file ${f}\n  weight 0\n}\n` + instance({ priority: 200, advert: 0.1, version: 3, vips: ['192.0.2.100/24'], extra: 'track_file {\n    tf\n  }' }))
    await waitFor('MASTER', () => lab.hasAddr(a, '192.0.2.100'))
    lab.file('track.val', '1\n')
    await waitFor('FAULT', () => d.has(/Entering FAULT STATE/) && !lab.hasAddr(a, '192.0.2.100'), 5000)
    lab.file('track.val', '0\n')
    await waitFor('MASTER again', () => lab.hasAddr(a, '192.0.2.100'), 5000)
  })
})
