import assert from 'node:assert/strict'
import { chmodSync, readFileSync, existsSync } from 'node:fs'
import { type Lab, instance, sh, sleep, twoHostSuite, waitFor } from './helpers/lab.js'

const VIP = '192.0.2.100'

describe('vrrp: kad routers in namespaces — election, preemption, handoff, tracking', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp-f')
  let lab: Lab
  let a: string
  let b: string
  beforeEach(() => {
    lab = suite.lab()
    a = suite.a()
    b = suite.b()
  })
  const conf = (prio: number, extra = '', advert = 0.1) => instance({ priority: prio, advert, version: 3, vips: [`${VIP}/24`], extra })
  const on = (ns: string) => lab.hasAddr(ns, VIP)

  it('elects the higher priority; the lower stays BACKUP without the VIP', async () => {
    const da = lab.kad(a, 'e-a', conf(100))
    const db = lab.kad(b, 'e-b', conf(200))
    await waitFor('b MASTER', () => on(b) && da.has(/Entering BACKUP STATE/))
    await sleep(500)
    assert.ok(on(b) && !on(a))
  })

  it('preempts a lower master; nopreempt does not; preempt_delay waits', async () => {
    const da = lab.kad(a, 'p-a', conf(100))
    await waitFor('a MASTER', () => on(a))
    let db = lab.kad(b, 'p-b', conf(200))
    await waitFor('b preempts', () => on(b) && !on(a))
    // a heard b's adverts while it was still MASTER: counted (the split-brain counter, kad_vrrp_adverts_received_as_master_total)
    process.kill(da.proc.pid!, 'SIGUSR2')
    await waitFor('a\'s stats', () => existsSync(`${da.dir}/keepalived.stats`))
    await sleep(100)
    assert.match(readFileSync(`${da.dir}/keepalived.stats`, 'utf8'), /^ {2}Adverts received as MASTER: [1-9]\d*$/m)
    await db.term()
    await waitFor('a back', () => on(a))
    db = lab.kad(b, 'np-b', conf(200, 'nopreempt'))
    await waitFor('b BACKUP', () => db.has(/Entering BACKUP STATE/))
    await sleep(1000)
    assert.ok(on(a) && !on(b), 'nopreempt keeps the lower master')
    await db.term()
    db = lab.kad(b, 'pd-b', conf(200, 'preempt_delay 2'))
    await waitFor('b BACKUP', () => db.has(/Entering BACKUP STATE/))
    const t0 = Date.now()
    await waitFor('b preempts after the delay', () => on(b) && !on(a), 10000)
    assert.ok(Date.now() - t0 >= 1500, `preempted after ${Date.now() - t0} ms`)
    void da
  })

  it('priority-0 advert on SIGTERM hands over faster than the master-down interval', async () => {
    const da = lab.kad(a, 'z-a', conf(200, '', 1))
    const db = lab.kad(b, 'z-b', conf(100, '', 1))
    await waitFor('a MASTER', () => on(a) && db.has(/Entering BACKUP STATE/), 15000)
    await sleep(1200)
    const t0 = Date.now()
    await da.term()
    await waitFor('b MASTER', () => on(b), 5000, 5)
    const took = Date.now() - t0
    assert.ok(took < 3000, `handoff took ${took} ms (master down would be ~3.2 s)`)
    await waitFor('backup logged the takeover', () => db.has(/Entering MASTER STATE/), 3000)
  })

  it('a vrrp_script weight takes the master below its backup; track_interface weight 0 takes it to FAULT', async () => {
    const flag = lab.file('ok-flag', '')
    const script = lab.file('chk.sh', `#!/bin/sh\ntest -e ${flag}\n`)
    chmodSync(script, 0o755)
    const extra = `track_script {\n    chk\n  }\n  track_interface {\n    dummy0\n  }`
    sh('ip', ['-n', a, 'link', 'add', 'dummy0', 'type', 'veth', 'peer', 'name', 'dummy0p'])
    sh('ip', ['-n', a, 'link', 'set', 'dummy0', 'up'])
    sh('ip', ['-n', a, 'link', 'set', 'dummy0p', 'up'])
    const da = lab.kad(a, 't-a', `vrrp_script chk {\n  script "${script}"\n  interval 0.2\n  weight -150\n  fall 1\n  rise 1\n}\n` + conf(200, extra))
    const db = lab.kad(b, 't-b', conf(100))
    await waitFor('a MASTER', () => on(a) && !on(b) && db.has(/Entering BACKUP STATE/))
    sh('rm', ['-f', flag])
    await waitFor('a BACKUP by weight', () => on(b) && !on(a) && da.has(/Entering BACKUP STATE/), 10000)
    sh('touch', [flag])
    await waitFor('a MASTER again', () => on(a) && !on(b), 10000)
    sh('ip', ['-n', a, 'link', 'set', 'dummy0', 'down'])
    await waitFor('a FAULT', () => da.has(/Entering FAULT STATE/) && on(b) && !on(a), 10000)
    sh('ip', ['-n', a, 'link', 'set', 'dummy0', 'up'])
    sh('ip', ['-n', a, 'link', 'set', 'dummy0p', 'up'])
    await waitFor('a back to MASTER', () => on(a) && !on(b), 10000)
  })

  it('sync group: one member fault moves the whole group', async () => {
    sh('ip', ['-n', a, 'link', 'add', 'dummy1', 'type', 'veth', 'peer', 'name', 'dummy1p'], { ignore: true })
    sh('ip', ['-n', a, 'link', 'set', 'dummy1', 'up'])
    sh('ip', ['-n', a, 'link', 'set', 'dummy1p', 'up'])
    const two = (prio: number, track: boolean) =>
      instance({ name: 'VI_1', vrid: 51, priority: prio, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: track ? 'track_interface {\n    dummy1\n  }' : '' }) +
      instance({ name: 'VI_2', vrid: 52, priority: prio, advert: 0.1, version: 3, vips: ['192.0.2.101/24'] }) +
      'vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n}\n'
    const da = lab.kad(a, 's-a', two(200, true))
    lab.kad(b, 's-b', two(100, false))
    await waitFor('a holds both', () => on(a) && lab.hasAddr(a, '192.0.2.101') && !on(b))
    sh('ip', ['-n', a, 'link', 'set', 'dummy1', 'down'])
    await waitFor('b takes both', () => on(b) && lab.hasAddr(b, '192.0.2.101') && !on(a) && !lab.hasAddr(a, '192.0.2.101'), 10000)
    assert.ok(da.count(/Entering FAULT STATE/) >= 2, 'both members in FAULT')
    sh('ip', ['-n', a, 'link', 'set', 'dummy1', 'up'])
    sh('ip', ['-n', a, 'link', 'set', 'dummy1p', 'up'])
    await waitFor('a takes both back', () => on(a) && lab.hasAddr(a, '192.0.2.101') && !on(b), 10000)
  })

  it('sync group across a reload that changes the group: the members carry on without a transition, and the group still moves together afterwards', async () => {
    sh('ip', ['-n', a, 'link', 'add', 'dummy2', 'type', 'veth', 'peer', 'name', 'dummy2p'], { ignore: true })
    sh('ip', ['-n', a, 'link', 'set', 'dummy2', 'up'])
    sh('ip', ['-n', a, 'link', 'set', 'dummy2p', 'up'])
    const two = (prio: number, track: boolean, groupExtra = '') =>
      instance({ name: 'VI_1', vrid: 51, priority: prio, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: track ? 'track_interface {\n    dummy2\n  }' : '' }) +
      instance({ name: 'VI_2', vrid: 52, priority: prio, advert: 0.1, version: 3, vips: ['192.0.2.101/24'] }) +
      `vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n  ${groupExtra}\n}\n`
    const da = lab.kad(a, 'sr-a', two(200, true))
    lab.kad(b, 'sr-b', two(100, false))
    await waitFor('a holds both', () => on(a) && lab.hasAddr(a, '192.0.2.101') && !on(b))
    await sleep(300)
    const transitions = da.count(/Entering (MASTER|BACKUP|FAULT) STATE/)
    const syncs = da.count(/VRRP_Group\(G\) Syncing/)
    lab.file('sr-a.conf', two(200, true, 'smtp_alert'))
    da.proc.kill('SIGHUP')
    await waitFor('both carried on', () => da.count(/reload: MASTER state kept/) === 2, 10000)
    await sleep(1000)
    assert.equal(da.count(/Entering (MASTER|BACKUP|FAULT) STATE/), transitions, 'no transition')
    assert.equal(da.count(/VRRP_Group\(G\) Syncing/), syncs, 'the group did not sync again')
    assert.ok(on(a) && lab.hasAddr(a, '192.0.2.101') && !on(b))
    sh('ip', ['-n', a, 'link', 'set', 'dummy2', 'down'])
    await waitFor('b takes both', () => on(b) && lab.hasAddr(b, '192.0.2.101') && !on(a) && !lab.hasAddr(a, '192.0.2.101'), 10000)
    sh('ip', ['-n', a, 'link', 'del', 'dummy2'], { ignore: true })
  })
})

