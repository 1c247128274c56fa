import assert from 'node:assert/strict'
import { chmodSync, existsSync, readFileSync } from 'node:fs'
import { spawn, spawnSync } from 'node:child_process'
import { type Lab, instance, sh, sleep, twoHostSuite, waitFor } from './helpers/lab.js'

const VIP = '192.0.2.100'

/** a veth pair NAME / NAMEp inside a namespace, both up (NAME replaced if it exists) */
function veth(ns: string, name: string): void {
  sh('ip', ['-n', ns, 'link', 'del', name], { ignore: true })
  sh('ip', ['-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`])
  sh('ip', ['-n', ns, 'link', 'set', name, 'up'])
  sh('ip', ['-n', ns, 'link', 'set', `${name}p`, 'up'])
}

/** the elements of set NAME in table inet kad_vrrp of a namespace, undefined when the table does not exist */
function nftSet(ns: string, name: string): string[] | undefined {
  const out = sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'inet', 'kad_vrrp'], { ignore: true })
  if (!out) return undefined
  const j = JSON.parse(out) as { nftables: { set?: { name: string; elem?: string[] } }[] }
  return j.nftables.find((x) => x.set?.name === name)?.set?.elem ?? []
}
/** whether a TCP SYN from one namespace reaches the other's stack: a closed port answers RST (refused) unless dropped */
function reaches(from: string, to: string): boolean {
  const r = spawnSync('ip', ['netns', 'exec', from, 'timeout', '1', 'bash', '-c', `: > /dev/tcp/${to}/9`], { encoding: 'utf8' })
  return /refused/i.test(r.stderr)
}


/** capture on a device of a namespace for `secs` with a capture filter; `done` gives the fields of each packet */
async function capture(ns: string, dev: string, filter: string, secs: number, fields: string[]): Promise<{ done: Promise<string[][]> }> {
  const p = spawn('ip', ['netns', 'exec', ns, 'tshark', '-q', '-l', '-i', dev, '-f', filter, '-a', `duration:${secs}`, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  p.stdout.on('data', (b: Buffer) => (out += b.toString()))
  p.stderr.on('data', (b: Buffer) => (err += b.toString()))
  const exited = new Promise((r) => p.on('exit', r))
  await waitFor('tshark started', () => /Capturing on/.test(err), 5000)
  return { done: exited.then(() => out.trim().split('\n').filter(Boolean).map((l) => l.split('\t'))) }
}

/** [epoch ms, sender IP] of each ARP seen on a device */
async function captureGarps(ns: string, dev: string, secs: number): Promise<{ done: Promise<[number, string][]> }> {
  const c = await capture(ns, dev, 'arp', secs, ['frame.time_epoch', 'arp.src.proto_ipv4'])
  return { done: c.done.then((rows) => rows.map(([t, ip]) => [Number(t) * 1000, ip] as [number, string])) }
}

describe('vrrp: accept / no_accept (nftables)', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-a')
  const hosts = (): [Lab, string, string] => [suite.lab(), suite.a(), suite.b()]

  it('no_accept: a non-owner MASTER drops traffic to its VIPs; the table follows mastership and goes on stop', async () => {
    const [lab, a, b] = hosts()
    const c = (p: number) => instance({ priority: p, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'no_accept\n  virtual_ipaddress_excluded {\n    2001:db8::100/64\n  }' })
    const da = lab.kad(a, 'na-a', c(200))
    lab.kad(b, 'na-b', c(100))
    await waitFor('a MASTER with the VIPs in kad_vrrp', () => lab.hasAddr(a, VIP) && nftSet(a, 'vips4')?.includes(VIP))
    assert.deepEqual(nftSet(a, 'vips6'), ['2001:db8::100'])
    assert.equal(nftSet(b, 'vips4'), undefined, 'the BACKUP has no table')
    assert.ok(reaches(b, '192.0.2.1'), 'the primary address still answers')
    assert.ok(!reaches(b, VIP), 'the VIP is dropped')
    await da.term()
    assert.equal(nftSet(a, 'vips4'), undefined, 'table removed on stop')
    await waitFor('b MASTER with its own table', () => lab.hasAddr(b, VIP) && nftSet(b, 'vips4')?.includes(VIP))
  })

  it('accept: no table, the VIP answers; a priority-255 owner with no_accept never drops', async () => {
    const [lab, a, b] = hosts()
    const da = lab.kad(a, 'ac-a', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'accept' }) +
      instance({ name: 'VI_2', vrid: 52, priority: 255, advert: 0.1, version: 3, vips: ['192.0.2.101/24'], extra: 'no_accept' }))
    await waitFor('a MASTER of both', () => lab.hasAddr(a, VIP) && lab.hasAddr(a, '192.0.2.101') && da.count(/Entering MASTER STATE/) >= 2)
    await sleep(200)
    assert.equal(nftSet(a, 'vips4'), undefined)
    assert.ok(reaches(b, VIP), sh('ip', ['-n', b, 'neigh']) + sh('ip', ['netns', 'exec', a, 'nft', 'list', 'ruleset']) + lab.addrs(a).join(' '))
    assert.ok(reaches(b, '192.0.2.101'))
  })
})

describe('vrrp: reload keeps unchanged instances; notify_deleted; notify_priority_changes', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-r')

  it('SIGHUP: an unchanged MASTER stays MASTER without a transition, a removed one releases its VIP (DELETED), an added one starts, new VIPs apply in place', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const b = suite.b()
    const out = lab.file('notify.out', '')
    const script = lab.file('notify.sh', `#!/bin/sh\necho "$@" >> ${out}\n`)
    chmodSync(script, 0o755)
    const n = `notify "${script}"`
    const vi1 = (p: number) => instance({ priority: p, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: n })
    const vi2 = instance({ name: 'VI_2', vrid: 52, priority: 200, advert: 0.1, version: 3, vips: ['192.0.2.101/24'], extra: `${n}\n  notify_deleted` })
    const vi3 = instance({ name: 'VI_3', vrid: 53, priority: 200, advert: 0.1, version: 3, vips: ['192.0.2.102/24'], extra: n })
    const vi4 = (p: number) => instance({ name: 'VI_4', vrid: 54, priority: p, advert: 0.1, version: 3, vips: ['192.0.2.103/24'], extra: n })
    const vi5 = (vips: string[]) => instance({ name: 'VI_5', vrid: 55, priority: 200, advert: 0.1, version: 3, vips, extra: n })
    const da = lab.kad(a, 'rl-a', vi1(200) + vi2 + vi4(200) + vi5(['192.0.2.105/24']))
    const db = lab.kad(b, 'rl-b', vi1(100) + vi4(100))
    await waitFor('a MASTER of VI_1, VI_2, VI_4, VI_5', () => lab.hasAddr(a, VIP) && lab.hasAddr(a, '192.0.2.101') && lab.hasAddr(a, '192.0.2.103') && lab.hasAddr(a, '192.0.2.105') && db.count(/Entering BACKUP STATE/) >= 2)
    await sleep(300)
    const before = readFileSync(out, 'utf8')
    const masters1 = da.count(/\(VI_1\) Entering MASTER STATE/)
    const bMasters = db.count(/\(VI_1\) Entering MASTER STATE/)
    // VI_2 removed, VI_3 added, VI_4's priority lowered below b's (changed: restarted), VI_1 untouched,
    // VI_5's VIP replaced (updated in place: no transition)
    lab.file('rl-a.conf', vi1(200) + vi3 + vi4(50) + vi5(['192.0.2.106/24']))
    // VI_1's adverts as b sees them across the reload: same priority, same rhythm, no extra or missing one
    const adverts = await capture(b, 'eth0', 'ip proto 112 and src host 192.0.2.1', 3, ['frame.time_epoch', 'vrrp.virt_rtr_id', 'vrrp.prio'])
    await sleep(600)
    da.proc.kill('SIGHUP')
    await waitFor('VI_3 MASTER, VI_2 gone, b MASTER of VI_4, VI_5 moved to .106', () => lab.hasAddr(a, '192.0.2.102') && !lab.hasAddr(a, '192.0.2.101') && lab.hasAddr(b, '192.0.2.103') && !lab.hasAddr(a, '192.0.2.103') && lab.hasAddr(a, '192.0.2.106') && !lab.hasAddr(a, '192.0.2.105'), 15000)
    await sleep(500)
    const added = readFileSync(out, 'utf8').slice(before.length).trim().split('\n')
    assert.ok(added.includes('INSTANCE VI_2 DELETED 200'), added.join('|'))
    assert.ok(added.includes('INSTANCE VI_3 MASTER 200'), added.join('|'))
    assert.ok(!added.some((l) => l.includes('VI_1') || l.includes('VI_5')), `VI_1 and VI_5 kept their state: ${added.join('|')}`)
    assert.equal(da.count(/\(VI_5\) Entering MASTER STATE/), 1)
    assert.equal(da.count(/\(VI_1\) Entering MASTER STATE/), masters1)
    assert.ok(lab.hasAddr(a, VIP) && !lab.hasAddr(b, VIP), 'VI_1 still on a only')
    assert.equal(db.count(/\(VI_1\) Entering MASTER STATE/), bMasters, 'b did not take VI_1')
    const vi1Adverts = (await adverts.done).filter(([, vrid]) => vrid === '51')
    assert.ok(vi1Adverts.length >= 20, `${vi1Adverts.length} adverts of VI_1 in 3 s`)
    assert.ok(vi1Adverts.every(([, , prio]) => prio === '200'), 'no priority-0 advert from the kept MASTER')
    const gaps = vi1Adverts.slice(1).map(([t], i) => (Number(t) - Number(vi1Adverts[i][0])) * 1000)
    assert.ok(Math.min(...gaps) > 50 && Math.max(...gaps) < 250, `advert gaps ${gaps.map((g) => g.toFixed(0)).join(' ')} ms`)
    // a second reload without a change does nothing
    da.proc.kill('SIGHUP')
    await sleep(500)
    assert.equal(readFileSync(out, 'utf8').slice(before.length).trim().split('\n').length, added.length)
  })

  it('notify_priority_changes: MASTER_PRIORITY lines on the notify FIFO when a tracker changes the priority', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const flag = lab.file('ok-flag', '')
    const chk = lab.file('chk.sh', `#!/bin/sh\ntest -e ${flag}\n`)
    chmodSync(chk, 0o755)
    const fifo = `${lab.dir}/prio.fifo`
    const conf = `global_defs {\n  vrrp_notify_fifo ${fifo}\n}\nvrrp_script chk {\n  script "${chk}"\n  interval 0.2\n  weight -30\n  fall 1\n  rise 1\n}\n` +
      instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'notify_priority_changes\n  track_script {\n    chk\n  }' })
    const d = lab.kad(a, 'np-a', conf)
    await waitFor('MASTER', () => lab.hasAddr(a, VIP))
    await waitFor('fifo', () => existsSync(fifo), 5000)
    const lines: string[] = []
    const reader = spawn('cat', [fifo])
    reader.stdout.on('data', (x: Buffer) => lines.push(...x.toString().split('\n').filter(Boolean)))
    try {
      await sleep(300)
      sh('rm', ['-f', flag])
      await waitFor('MASTER_PRIORITY 170', () => lines.includes('INSTANCE "VI_1" MASTER_PRIORITY 170'), 5000)
      sh('touch', [flag])
      await waitFor('MASTER_PRIORITY 200', () => lines.includes('INSTANCE "VI_1" MASTER_PRIORITY 200'), 5000)
      assert.ok(lab.hasAddr(a, VIP))
      assert.ok(!d.has(/Entering BACKUP STATE.*\n?.*MASTER_PRIORITY/))
    } finally {
      reader.kill()
    }
  })
})

describe('vrrp: unicast_fault_no_peer, track_src_ip', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-u')

  it('unicast_fault_no_peer: an instance without peers stays in FAULT instead of using multicast', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const d = lab.kad(a, 'nf-a', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'unicast_fault_no_peer' }) +
      instance({ name: 'VI_2', vrid: 52, priority: 200, advert: 0.1, version: 3, vips: ['192.0.2.101/24'], extra: 'unicast_fault_no_peer\n  unicast_peer {\n    192.0.2.2\n  }' }))
    await waitFor('VI_2 (with a peer) MASTER', () => lab.hasAddr(a, '192.0.2.101'))
    await sleep(500)
    assert.ok(d.has(/\(VI_1\) Entering FAULT STATE/), d.log)
    assert.ok(!lab.hasAddr(a, VIP))
  })

  it('track_src_ip: FAULT while unicast_src_ip is missing from the host, back when it returns', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const d = lab.kad(a, 'ts-a', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'track_src_ip\n  unicast_src_ip 192.0.2.51\n  unicast_peer {\n    192.0.2.2\n  }' }))
    await waitFor('FAULT at start (no 192.0.2.51)', () => d.has(/\(VI_1\) Entering FAULT STATE/))
    assert.ok(!lab.hasAddr(a, VIP))
    sh('ip', ['-n', a, 'addr', 'add', '192.0.2.51/24', 'dev', 'eth0'])
    await waitFor('MASTER once the source address exists', () => lab.hasAddr(a, VIP), 5000)
    sh('ip', ['-n', a, 'addr', 'del', '192.0.2.51/24', 'dev', 'eth0'])
    await waitFor('FAULT when it goes', () => !lab.hasAddr(a, VIP) && d.count(/\(VI_1\) Entering FAULT STATE/) === 2, 5000)
  })
})

describe('vrrp: garp_extra_if and garp_group', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-g')
  const ext = (ns: string) => veth(ns, 'x0')

  it('garp_extra_if all 1: a MASTER repeats GARPs every second for its VIPs on other interfaces', async () => {
    const lab = suite.lab()
    const a = suite.a()
    ext(a)
    lab.kad(a, 'ge-a', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'garp_master_delay 0\n  garp_master_repeat 1\n  garp_extra_if all 1\n  virtual_ipaddress_excluded {\n    198.51.100.1/24 dev x0\n  }' }))
    await waitFor('MASTER', () => lab.hasAddr(a, '198.51.100.1', 'x0'))
    const seen = (await (await captureGarps(a, 'x0p', 3)).done).filter(([, ip]) => ip === '198.51.100.1')
    assert.ok(seen.length >= 2 && seen.length <= 4, `${seen.length} GARPs in 3 s`)
  })

  it('garp_group: garp_interval 0.3 over its interfaces spaces every GARP of a burst', async () => {
    const lab = suite.lab()
    const a = suite.a()
    ext(a)
    const cap = await captureGarps(a, 'x0p', 4)
    lab.kad(a, 'gg-a', 'garp_group {\n  garp_interval 0.3\n  interfaces {\n    x0\n  }\n}\n' + instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'garp_master_delay 0\n  garp_master_repeat 2\n  virtual_ipaddress_excluded {\n    198.51.100.1/24 dev x0\n    198.51.100.2/24 dev x0\n  }' }))
    const seen = (await cap.done).filter(([, ip]) => ip?.startsWith('198.51.100.'))
    assert.equal(seen.length, 4, JSON.stringify(seen))
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] - seen[i - 1][0] >= 280, `gap ${seen[i][0] - seen[i - 1][0]} ms`)
  })
})

describe('vrrp: linkbeat_interfaces / linkbeat_use_polling', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-l')
  for (const how of ['linkbeat_interfaces {\n  trk0\n}\n', 'linkbeat_use_polling\n']) {
    it(`${how.split(/\s/)[0]}: the carrier of a tracked interface is polled (peer down = FAULT), not taken from netlink`, async () => {
      const lab = suite.lab()
      const a = suite.a()
      veth(a, 'trk0')
      const d = lab.kad(a, `lb-${how.length}`, how + instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'track_interface {\n    trk0\n  }' }))
      await waitFor('MASTER', () => lab.hasAddr(a, VIP))
      sh('ip', ['-n', a, 'link', 'set', 'trk0p', 'down']) // trk0 loses its carrier
      await waitFor('FAULT', () => !lab.hasAddr(a, VIP) && d.has(/Entering FAULT STATE/), 5000)
      assert.ok(d.has(/Linkbeat reports trk0 down/), d.log)
      assert.ok(!d.has(/Netlink reports trk0/), d.log)
      sh('ip', ['-n', a, 'link', 'set', 'trk0p', 'up'])
      await waitFor('MASTER again', () => lab.hasAddr(a, VIP), 5000)
      assert.ok(d.has(/Linkbeat reports trk0 up/))
    })
  }
})

describe('vrrp: track_group on static addresses', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-t')
  it('a deleted static address is restored; one that cannot be restored puts the track_group\'s instances in FAULT', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const mk = () => veth(a, 'x0')
    mk()
    const d = lab.kad(a, 'tg-a', 'static_ipaddress {\n  203.0.113.1/24 dev x0 track_group G1\n}\ntrack_group G1 {\n  group {\n    VI_1\n  }\n}\n' +
      instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`] }))
    await waitFor('MASTER and the static address', () => lab.hasAddr(a, VIP) && lab.hasAddr(a, '203.0.113.1', 'x0'))
    sh('ip', ['-n', a, 'addr', 'del', '203.0.113.1/24', 'dev', 'x0'])
    await sleep(300)
    assert.ok(lab.hasAddr(a, '203.0.113.1', 'x0'), 'restored')
    assert.ok(lab.hasAddr(a, VIP) && !d.has(/Entering FAULT STATE/))
    sh('ip', ['-n', a, 'link', 'del', 'x0'])
    await waitFor('FAULT while it cannot be restored', () => !lab.hasAddr(a, VIP) && d.has(/Entering FAULT STATE/), 5000)
    mk()
    await waitFor('restored on the new link, MASTER again', () => lab.hasAddr(a, '203.0.113.1', 'x0') && lab.hasAddr(a, VIP), 5000)
    await d.term()
    assert.ok(!lab.hasAddr(a, '203.0.113.1', 'x0'), 'removed on stop')
  })
  it('a static route with a track_group is re-added when deleted; while it cannot be, the instances are in FAULT', async () => {
    const lab = suite.lab()
    const a = suite.a()
    veth(a, 'y0')
    const hasRoute = () => sh('ip', ['-n', a, 'route', 'show', '198.51.100.0/24']).includes('dev y0')
    const d = lab.kad(a, 'tr-a', 'static_routes {\n  198.51.100.0/24 dev y0 track_group G1\n}\ntrack_group G1 {\n  group {\n    VI_1\n  }\n}\n' +
      instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`] }))
    await waitFor('MASTER and the route', () => lab.hasAddr(a, VIP) && hasRoute())
    sh('ip', ['-n', a, 'route', 'del', '198.51.100.0/24', 'dev', 'y0'])
    await waitFor('route restored', hasRoute, 3000)
    assert.ok(!d.has(/Entering FAULT STATE/))
    sh('ip', ['-n', a, 'link', 'del', 'y0'])
    await waitFor('FAULT', () => !lab.hasAddr(a, VIP) && d.has(/Entering FAULT STATE/), 5000)
    veth(a, 'y0')
    await waitFor('route back, MASTER again', () => hasRoute() && lab.hasAddr(a, VIP), 5000)
    await d.term()
    assert.ok(!hasRoute(), 'removed on stop')
  })
})

describe('vrrp: use_ipvlan', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-i')
  it('an ipvlan interface vrrp.51 carries the VIP, or (kernel without ipvlan) the instance stays in FAULT with a clear error', async () => {
    const lab = suite.lab()
    const a = suite.a()
    sh('ip', ['-n', a, 'link', 'add', 'ivtest', 'link', 'eth0', 'type', 'ipvlan', 'mode', 'l2'], { ignore: true })
    const supported = sh('ip', ['-n', a, 'link', 'show', 'ivtest'], { ignore: true }) !== ''
    sh('ip', ['-n', a, 'link', 'del', 'ivtest'], { ignore: true })
    const d = lab.kad(a, 'iv-a', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'use_ipvlan 192.0.2.61/24 bridge' }))
    if (supported) {
      await waitFor('VIP on the ipvlan', () => lab.hasAddr(a, VIP, 'vrrp.51'))
      const link = JSON.parse(sh('ip', ['-j', '-d', '-n', a, 'link', 'show', 'vrrp.51']))[0]
      assert.equal(link.linkinfo?.info_kind, 'ipvlan')
      await d.term()
      assert.equal(sh('ip', ['-n', a, 'link', 'show', 'vrrp.51'], { ignore: true }), '', 'removed on stop')
    } else {
      await waitFor('FAULT with the reason', () => d.has(/use_ipvlan: cannot create ipvlan interface vrrp\.51 on eth0: this kernel has no ipvlan support/) && d.has(/Entering FAULT STATE/))
      assert.ok(!lab.hasAddr(a, VIP))
    }
  })
})
