import assert from 'node:assert/strict'
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs'
import { spawn, spawnSync } from 'node:child_process'
import { type Lab, capture, instance, sh, sleep, twoHostSuite, waitFor } from './helpers/lab.js'

const VIP = '192.0.2.100'

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

describe('vrrp: the JSON, stats and data dumps', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-j')

  it('keepalived.json holds keepalived 2.2.7\'s records (what exporters read), with the trackers\' state added; keepalived_vrrp.json every plugin\'s JSON; keepalived.stats and .data carry keepalived\'s lines', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const ok = lab.file('json-ok.sh', '#!/bin/sh\nexit 0\n')
    chmodSync(ok, 0o755)
    const conf = `vrrp_script chk {\n  script "${ok}"\n  interval 0.2\n  weight -20\n}\n` +
      instance({ priority: 150, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'track_script {\n    chk\n  }\n  virtual_ipaddress_excluded {\n    2001:db8::5/64\n  }' })
    const d = lab.kad(a, 'js-a', conf)
    await waitFor('MASTER', () => lab.hasAddr(a, VIP))
    await sleep(500)
    process.kill(d.proc.pid!, 36)
    const file = `${d.dir}/keepalived.json`
    await waitFor('keepalived.json', () => existsSync(file) && existsSync(`${d.dir}/keepalived_vrrp.json`), 5000)
    assert.equal(statSync(file).mode & 0o777, 0o600, 'root only, as keepalived (it holds the VRRP keys)')
    const j = JSON.parse(readFileSync(file, 'utf8')) as { data: Record<string, unknown>; stats: Record<string, number> }[]
    assert.ok(Array.isArray(j) && j.length === 1, JSON.stringify(j))
    const { data, stats } = j[0]
    // every field of the record keepalived 2.2.7 wrote here for a similar instance (a MASTER with VIPs, eVIPs, a script)
    const keepalivedData = ['iname', 'dont_track_primary', 'skip_check_adv_addr', 'strict_mode', 'vmac_ifname', 'ifp_ifname', 'master_priority', 'last_transition',
      'garp_delay', 'garp_refresh', 'garp_rep', 'garp_refresh_rep', 'garp_lower_prio_delay', 'garp_lower_prio_rep', 'lower_prio_no_advert', 'higher_prio_send_advert',
      'vrid', 'base_priority', 'effective_priority', 'vipset', 'promote_secondaries', 'adver_int', 'master_adver_int', 'accept', 'nopreempt', 'preempt_delay',
      'state', 'wantstate', 'version', 'smtp_alert', 'notify_deleted', 'vips', 'evips', 'track_script', 'auth_type']
    assert.deepEqual(keepalivedData.filter((k) => !(k in data)), [])
    assert.deepEqual(Object.keys(stats), ['advert_rcvd', 'advert_sent', 'become_master', 'release_master', 'packet_len_err', 'advert_interval_err', 'ip_ttl_err',
      'invalid_type_rcvd', 'addr_list_err', 'invalid_authtype', 'authtype_mismatch', 'auth_failure', 'pri_zero_rcvd', 'pri_zero_sent'])
    assert.deepEqual([data.iname, data.state, data.wantstate, data.vrid, data.base_priority, data.effective_priority, data.vipset, data.ifp_ifname, data.version, data.adver_int],
      ['VI_1', 2, 2, 51, 150, 150, true, 'eth0', 3, 0.1])
    assert.deepEqual(data.vips, [`${VIP}/24 dev eth0 scope global set`])
    assert.deepEqual(data.evips, ['2001:db8::5/64 dev eth0 scope global preferred_lft forever set'])
    assert.deepEqual(data.track_script, [`'${ok}'`])
    assert.ok(stats.advert_sent > 5 && stats.become_master === 1, JSON.stringify(stats))
    const script = (data.kad_trackers as { name: string; fault: boolean; weight: number; state?: string; runs?: number }[]).find((t) => t.name === 'script:chk')
    assert.deepEqual([script?.fault, script?.weight, script?.state], [false, 0, 'GOOD'])
    assert.ok((script?.runs ?? 0) >= 1)
    const all = JSON.parse(readFileSync(`${d.dir}/keepalived_vrrp.json`, 'utf8')) as Record<string, unknown>
    assert.deepEqual(all.vrrp, j)
    // SIGUSR2 / SIGUSR1: the lines exporters parse in keepalived.stats and keepalived.data, as keepalived 2.2.7 writes them
    process.kill(d.proc.pid!, 'SIGUSR2')
    process.kill(d.proc.pid!, 'SIGUSR1')
    await waitFor('keepalived.stats and .data', () => existsSync(`${d.dir}/keepalived.stats`) && existsSync(`${d.dir}/keepalived.data`), 5000)
    await sleep(200)
    const statsText = readFileSync(`${d.dir}/keepalived.stats`, 'utf8').split('\n')
    const from = statsText.indexOf('VRRP Instance: VI_1')
    // keepalived 2.2.7's block for an instance (its keepalived.stats here), numbers left out
    const keepalivedBlock = ['VRRP Instance: VI_1', '  Advertisements:', '    Received:', '    Sent:', '  Became master:', '  Released master:', '  Packet Errors:',
      '    Length:', '    TTL:', '    Invalid Type:', '    Advertisement Interval:', '    Address List:', '  Authentication Errors:', '    Invalid Type:',
      '    Type Mismatch:', '    Failure:', '  Priority Zero:', '    Received:', '    Sent:']
    assert.deepEqual(statsText.slice(from, from + keepalivedBlock.length).map((l) => l.replace(/ \d+$/, '')), keepalivedBlock)
    assert.match(statsText[from + 4], /^ {2}Became master: 1$/)
    const dataText = readFileSync(`${d.dir}/keepalived.data`, 'utf8').split('\n')
    for (const l of [' VRRP Instance = VI_1', '   State = MASTER', '   Wantstate = MASTER', '   Interface = eth0', '   Virtual Router ID = 51', '   Virtual IP (1):',
      `     ${VIP}/24 dev eth0 scope global set`, ' VRRP Script = chk', '   Status = GOOD', '   State = idle']) assert.ok(dataText.includes(l), `${l} in\n${dataText.join('\n')}`)
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
    // a's notify script only (b's instances log, but do not write to a's file); VI_1 at 0.5 s so that a loaded
    // 2-CPU machine cannot make b take it over by starving a for one master-down interval
    const vi1 = (p: number, extra = n) => instance({ priority: p, advert: 0.5, version: 3, vips: [`${VIP}/24`], extra })
    const vi2 = instance({ name: 'VI_2', vrid: 52, priority: 200, advert: 0.1, version: 3, vips: ['192.0.2.101/24'], extra: `${n}\n  notify_deleted` })
    const vi3 = instance({ name: 'VI_3', vrid: 53, priority: 200, advert: 0.1, version: 3, vips: ['192.0.2.102/24'], extra: n })
    const vi4 = (p: number) => instance({ name: 'VI_4', vrid: 54, priority: p, advert: 0.1, version: 3, vips: ['192.0.2.103/24'], extra: n })
    const vi5 = (vips: string[]) => instance({ name: 'VI_5', vrid: 55, priority: 200, advert: 0.1, version: 3, vips, extra: n })
    const da = lab.kad(a, 'rl-a', vi1(200) + vi2 + vi4(200) + vi5(['192.0.2.105/24']))
    const vi4b = instance({ name: 'VI_4', vrid: 54, priority: 100, advert: 0.1, version: 3, vips: ['192.0.2.103/24'] })
    const db = lab.kad(b, 'rl-b', vi1(100, '') + vi4b)
    await waitFor('a MASTER of VI_1, VI_2, VI_4, VI_5', () => lab.hasAddr(a, VIP) && lab.hasAddr(a, '192.0.2.101') && lab.hasAddr(a, '192.0.2.103') && lab.hasAddr(a, '192.0.2.105') && db.count(/Entering BACKUP STATE/) >= 2)
    await sleep(300)
    const before = readFileSync(out, 'utf8')
    const masters1 = da.count(/\(VI_1\) Entering MASTER STATE/)
    const bMasters = db.count(/\(VI_1\) Entering MASTER STATE/)
    // VI_2 removed, VI_3 added, VI_4's priority lowered below b's (in place: b preempts), VI_1 untouched,
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
    assert.ok(vi1Adverts.length >= 5, `${vi1Adverts.length} adverts of VI_1 in 3 s`)
    assert.ok(vi1Adverts.every(([, , prio]) => prio === '200'), 'no priority-0 advert from the kept MASTER')
    const gaps = vi1Adverts.slice(1).map(([t], i) => (Number(t) - Number(vi1Adverts[i][0])) * 1000)
    assert.ok(Math.min(...gaps) > 250 && Math.max(...gaps) < 1000, `advert gaps ${gaps.map((g) => g.toFixed(0)).join(' ')} ms (0.5 s interval)`)
    // a second reload without a change does nothing
    da.proc.kill('SIGHUP')
    await sleep(500)
    assert.equal(readFileSync(out, 'utf8').slice(before.length).trim().split('\n').length, added.length)
  })

  it('SIGHUP that changes globals and scripts (a new stack): the MASTER (renamed, changed) and the BACKUP carry on, as keepalived: no notify, no priority 0, the VIP never leaves; a stop still releases it', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const b = suite.b()
    const out = lab.file('carry.out', '')
    const script = lab.file('carry.sh', `#!/bin/sh\necho "$@" >> ${out}\n`)
    chmodSync(script, 0o755)
    const ok = lab.file('carry-ok.sh', '#!/bin/sh\nexit 0\n')
    chmodSync(ok, 0o755)
    const n = `notify "${script}"`
    const globals = (id: string, interval: number) => `global_defs {\n  router_id ${id}\n}\nvrrp_script chk {\n  script "${ok}"\n  interval ${interval}\n  weight 0\n}\n`
    // VI_1: a MASTER tracking a script (weight 0: a failed script is FAULT); VI_7: b is MASTER, a BACKUP
    const vi1 = (name: string, p: number, extra: string) => instance({ name, priority: p, advert: 0.5, version: 3, vips: [`${VIP}/24`], extra })
    const vi7 = (p: number, extra: string) => instance({ name: 'VI_7', vrid: 57, priority: p, advert: 0.5, version: 3, vips: ['192.0.2.107/24'], extra })
    const track = `${n}\n  track_script {\n    chk\n  }`
    const da = lab.kad(a, 'cy-a', globals('a', 0.5) + vi1('VI_1', 200, track) + vi7(100, n))
    const db = lab.kad(b, 'cy-b', vi1('VI_1', 100, '') + vi7(200, ''))
    await waitFor('a MASTER of VI_1, b of VI_7', () => lab.hasAddr(a, VIP) && lab.hasAddr(b, '192.0.2.107') && da.count(/\(VI_7\) Entering BACKUP STATE/) >= 1)
    await sleep(500)
    const before = readFileSync(out, 'utf8')
    assert.match(before, /INSTANCE VI_1 MASTER 200/)
    const bMasters = db.count(/\(VI_1\) Entering MASTER STATE/)
    const transitions = da.count(/Entering (MASTER|BACKUP|FAULT) STATE/)
    // new globals, a new script interval, VI_1 renamed with a new garp_master_delay: none of it keeps the old stack
    lab.file('cy-a.conf', globals('a2', 0.3) + vi1('VI_one', 200, `${track}\n  garp_master_delay 2`) + vi7(100, n))
    const mon = spawn('ip', ['-n', a, 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let monitored = ''
    mon.stdout.on('data', (x: Buffer) => (monitored += x.toString()))
    const adverts = await capture(b, 'eth0', 'ip proto 112 and src host 192.0.2.1', 3, ['frame.time_epoch', 'vrrp.virt_rtr_id', 'vrrp.prio'])
    try {
      await sleep(600)
      da.proc.kill('SIGHUP')
      await waitFor('the new stack', () => da.count(/\(VI_one\) reload: MASTER state kept \(was VI_1\)/) === 1 && da.count(/\(VI_7\) reload: BACKUP state kept/) === 1, 10000)
      const vi1Adverts = (await adverts.done).filter(([, vrid]) => vrid === '51')
      assert.ok(vi1Adverts.length >= 5, `${vi1Adverts.length} adverts of VI_1 in 3 s`)
      assert.ok(vi1Adverts.every(([, , prio]) => prio === '200'), `no priority-0 advert: ${vi1Adverts.map(([, , p]) => p).join(' ')}`)
      await sleep(1500)
    } finally {
      mon.kill()
    }
    assert.doesNotMatch(monitored, /Deleted.*192\.0\.2\.10[07]/, 'the VIP never left a')
    assert.equal(readFileSync(out, 'utf8'), before, 'no notify: no state changed')
    assert.ok(lab.hasAddr(a, VIP) && !lab.hasAddr(b, VIP) && lab.hasAddr(b, '192.0.2.107') && !lab.hasAddr(a, '192.0.2.107'))
    assert.equal(db.count(/\(VI_1\) Entering MASTER STATE/), bMasters, 'b did not take VI_1')
    assert.equal(da.count(/Entering (MASTER|BACKUP|FAULT) STATE/), transitions, 'no transition on a')
    // a reload that changes only the instance (its garp_master_delay back): the instance list path carries it on too
    lab.file('cy-a.conf', globals('a2', 0.3) + vi1('VI_one', 200, track) + vi7(100, n))
    da.proc.kill('SIGHUP')
    await waitFor('the instance replaced, state kept', () => da.count(/\(VI_one\) reload: MASTER state kept/) === 2, 10000)
    await sleep(1500)
    assert.equal(readFileSync(out, 'utf8'), before, 'no notify')
    assert.ok(lab.hasAddr(a, VIP) && !lab.hasAddr(b, VIP))
    assert.equal(da.count(/Entering (MASTER|BACKUP|FAULT) STATE/), transitions)
    // the carried MASTER still owns its VIP: SIGTERM releases it and b takes over
    await da.term()
    assert.ok(!lab.hasAddr(a, VIP), 'released on stop')
    assert.match(readFileSync(out, 'utf8').slice(before.length), /INSTANCE VI_one STOP/)
    await waitFor('b MASTER of VI_1', () => lab.hasAddr(b, VIP))
  })

  it('notify_priority_changes: MASTER_PRIORITY lines on the notify FIFO when a tracker changes the priority; fifo_write_vrrp_states_on_reload', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const flag = lab.file('ok-flag', '')
    const chk = lab.file('chk.sh', `#!/bin/sh\ntest -e ${flag}\n`)
    chmodSync(chk, 0o755)
    const fifo = `${lab.dir}/prio.fifo`
    const conf = `global_defs {\n  vrrp_notify_fifo ${fifo}\n  fifo_write_vrrp_states_on_reload\n}\nvrrp_script chk {\n  script "${chk}"\n  interval 0.2\n  weight -30\n  fall 1\n  rise 1\n}\n` +
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
      // fifo_write_vrrp_states_on_reload: an unchanged reload writes the current state again
      const before = lines.filter((l) => l === 'INSTANCE "VI_1" MASTER 200').length
      d.proc.kill('SIGHUP')
      await waitFor('state re-written on reload', () => lines.filter((l) => l === 'INSTANCE "VI_1" MASTER 200').length === before + 1, 5000)
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
