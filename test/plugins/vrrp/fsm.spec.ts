import assert from 'node:assert/strict'
import fc from 'fast-check'
import { type FsmConfig, type FsmEvent, type FsmState, compareIp, initialState, masterDownMs, skewMs, step } from '../../../plugins/vrrp/src/fsm.js'

const cfg = (o: Partial<FsmConfig> = {}): FsmConfig => ({
  version: 3, priority: 100, advertIntCs: 100, initialState: 'BACKUP', preempt: true, preemptDelayMs: 0, downTimerAdverts: 3,
  lowerPrioNoAdvert: false, higherPrioSendAdvert: false, ownerIgnoreAdverts: false, primaryIp: '192.0.2.1', ...o,
})
const types = (a: { type: string }[]) => a.map((x) => x.type)
const run = (c: FsmConfig, events: FsmEvent[], s0: FsmState = initialState(c)) => {
  let s = s0
  const all: ReturnType<typeof step>['actions'][] = []
  for (const e of events) {
    const r = step(c, s, e)
    s = r.state
    all.push(r.actions)
  }
  return { s, all, last: all[all.length - 1] }
}
const adv = (priority: number, src = '192.0.2.2', advertIntCs = 100, now = 0): FsmEvent => ({ type: 'advert', now, priority, advertIntCs, src })

describe('vrrp fsm: timers (RFC 5798 §6.1)', () => {
  it('skew and master-down interval (v3 centiseconds, v2 seconds, down_timer_adverts)', () => {
    const c = cfg()
    const s = initialState(c)
    assert.equal(skewMs(c, s), (156 * 1000) / 256)
    assert.equal(masterDownMs(c, s), 3000 + (156 * 1000) / 256)
    assert.equal(masterDownMs(cfg({ downTimerAdverts: 5 }), s), 5000 + (156 * 1000) / 256)
    const c2 = cfg({ version: 2, advertIntCs: 300 })
    assert.equal(skewMs(c2, initialState(c2)), (156 * 1000) / 256)
    assert.equal(masterDownMs(c2, initialState(c2)), 9000 + (156 * 1000) / 256)
    const fast = cfg({ advertIntCs: 1, priority: 200 })
    assert.equal(masterDownMs(fast, initialState(fast)), 30 + (56 * 10) / 256)
  })
  it('compares addresses numerically', () => {
    assert.equal(compareIp('192.0.2.10', '192.0.2.9'), 1)
    assert.equal(compareIp('10.0.0.1', '9.255.255.255'), 1)
    assert.equal(compareIp('fe80::2', 'fe80::10'), -1)
    assert.equal(compareIp('2001:db8::1', '2001:db8::1'), 0)
  })
})

describe('vrrp fsm: INIT', () => {
  it('a non-owner starts BACKUP with the master-down timer, even with state MASTER', () => {
    for (const initial of ['MASTER', 'BACKUP'] as const) {
      const c = cfg({ initialState: initial })
      const r = step(c, initialState(c), { type: 'startup', now: 0 })
      assert.equal(r.state.state, 'BACKUP')
      assert.deepEqual(r.actions, [{ type: 'armMasterDown', ms: masterDownMs(c, r.state) }, { type: 'notify', from: 'INIT', to: 'BACKUP', reason: 'init' }])
    }
  })
  it('the address owner (255) becomes MASTER at once: VIPs, advert, GARP, timer, notify', () => {
    const c = cfg({ priority: 255 })
    const r = step(c, initialState(c), { type: 'startup', now: 0 })
    assert.equal(r.state.state, 'MASTER')
    assert.deepEqual(types(r.actions), ['cancelMasterDown', 'addVips', 'sendAdvert', 'sendGarp', 'armAdvertTimer', 'notify'])
    assert.deepEqual(r.actions[2], { type: 'sendAdvert', priority: 255 })
  })
  it('a faulty instance starts in FAULT', () => {
    const c = cfg()
    const r = run(c, [{ type: 'fault', now: 0 }, { type: 'startup', now: 0 }])
    assert.equal(r.s.state, 'FAULT')
    assert.deepEqual(types(r.last), ['notify'])
  })
  it('INIT ignores adverts and timers', () => {
    const c = cfg()
    for (const e of [adv(200), { type: 'masterDown', now: 0 } as FsmEvent, { type: 'advertTimer', now: 0 } as FsmEvent]) {
      const r = step(c, initialState(c), e)
      assert.equal(r.state.state, 'INIT')
      assert.deepEqual(r.actions, [])
    }
  })
})

describe('vrrp fsm: BACKUP (RFC 5798 §6.4.2)', () => {
  const c = cfg()
  const backup = () => run(c, [{ type: 'startup', now: 0 }]).s
  it('master down -> MASTER', () => {
    const r = step(c, backup(), { type: 'masterDown', now: 3600 })
    assert.equal(r.state.state, 'MASTER')
    assert.deepEqual(types(r.actions), ['cancelMasterDown', 'addVips', 'sendAdvert', 'sendGarp', 'armAdvertTimer', 'notify'])
    assert.deepEqual(r.actions[4], { type: 'armAdvertTimer', ms: 1000 })
  })
  it('priority 0 advert: master down after the skew time only', () => {
    const r = step(c, backup(), adv(0))
    assert.equal(r.state.state, 'BACKUP')
    assert.deepEqual(r.actions, [{ type: 'armMasterDown', ms: skewMs(c, r.state) }])
  })
  it('higher or equal priority: reset the timer with the master advertised interval (v3)', () => {
    for (const p of [100, 150, 255]) {
      const r = step(c, backup(), adv(p, '192.0.2.2', 50))
      assert.equal(r.state.masterAdvertIntCs, 50)
      assert.deepEqual(r.actions, [{ type: 'armMasterDown', ms: 3 * 500 + ((156 * 50 * 10) / 256) }])
    }
  })
  it('v2 keeps its own interval for the master-down interval', () => {
    const c2 = cfg({ version: 2 })
    const r = step(c2, run(c2, [{ type: 'startup', now: 0 }]).s, adv(150, '192.0.2.2', 7))
    assert.equal(r.state.masterAdvertIntCs, 100)
  })
  it('lower priority with preempt: discarded (we take over when the timer fires)', () => {
    const r = step(c, backup(), adv(50))
    assert.deepEqual(r.actions, [])
  })
  it('nopreempt: a lower-priority master is accepted', () => {
    const np = cfg({ preempt: false })
    const r = step(np, run(np, [{ type: 'startup', now: 0 }]).s, adv(50))
    assert.deepEqual(types(r.actions), ['armMasterDown'])
  })
  it('preempt_delay: lower-priority adverts are accepted until the delay has passed', () => {
    const pd = cfg({ preemptDelayMs: 5000 })
    let s = run(pd, [{ type: 'startup', now: 0 }]).s
    let r = step(pd, s, adv(50, '192.0.2.2', 100, 1000))
    assert.equal(r.state.preemptAt, 6000)
    assert.deepEqual(types(r.actions), ['armMasterDown'])
    s = r.state
    r = step(pd, s, adv(50, '192.0.2.2', 100, 5500))
    assert.equal(r.actions.length, 1)
    const armed = (r.actions[0] as { ms: number }).ms
    assert.ok(armed <= 500 + skewMs(pd, r.state) + 1e-9)
    r = step(pd, r.state, adv(50, '192.0.2.2', 100, 6100))
    assert.deepEqual(r.actions, [])
    r = step(pd, r.state, { type: 'masterDown', now: 7000 })
    assert.equal(r.state.state, 'MASTER')
    assert.equal(r.state.preemptAt, undefined)
  })
  it('a higher-priority advert cancels a pending preempt delay', () => {
    const pd = cfg({ preemptDelayMs: 5000 })
    const r = run(pd, [{ type: 'startup', now: 0 }, adv(50, 'x', 100, 10), adv(150, 'y', 100, 20)])
    assert.equal(r.s.preemptAt, undefined)
  })
  it('fault from BACKUP cancels the timer; cleared -> BACKUP', () => {
    let r = step(c, backup(), { type: 'fault', now: 0, reason: 'eth0 down' })
    assert.equal(r.state.state, 'FAULT')
    assert.deepEqual(r.actions, [{ type: 'cancelMasterDown' }, { type: 'notify', from: 'BACKUP', to: 'FAULT', reason: 'eth0 down' }])
    r = step(c, r.state, { type: 'faultCleared', now: 0 })
    assert.equal(r.state.state, 'BACKUP')
    assert.deepEqual(types(r.actions), ['armMasterDown', 'notify'])
  })
  it('shutdown from BACKUP: notify STOP, no advert', () => {
    const r = step(c, backup(), { type: 'shutdown', now: 0 })
    assert.equal(r.state.state, 'INIT')
    assert.deepEqual(r.actions, [{ type: 'cancelMasterDown' }, { type: 'notify', from: 'BACKUP', to: 'STOP', reason: 'shutdown' }])
  })
})

describe('vrrp fsm: MASTER (RFC 5798 §6.4.3)', () => {
  const c = cfg()
  const master = (cc = c) => run(cc, [{ type: 'startup', now: 0 }, { type: 'masterDown', now: 1 }]).s
  it('advert timer: send and re-arm', () => {
    assert.deepEqual(step(c, master(), { type: 'advertTimer', now: 0 }).actions, [{ type: 'sendAdvert', priority: 100 }, { type: 'armAdvertTimer', ms: 1000 }])
  })
  it('shutdown: priority-0 advert, VIPs removed, STOP', () => {
    const r = step(c, master(), { type: 'shutdown', now: 0 })
    assert.deepEqual(r.actions, [{ type: 'cancelAdvertTimer' }, { type: 'sendAdvert', priority: 0 }, { type: 'removeVips' }, { type: 'notify', from: 'MASTER', to: 'STOP', reason: 'shutdown' }])
  })
  it('priority 0 advert: answer at once', () => {
    assert.deepEqual(step(c, master(), adv(0)).actions, [{ type: 'sendAdvert', priority: 100 }, { type: 'armAdvertTimer', ms: 1000 }])
  })
  it('higher priority -> BACKUP with the master interval', () => {
    const r = step(c, master(), adv(150, '192.0.2.2', 20))
    assert.equal(r.state.state, 'BACKUP')
    assert.equal(r.state.masterAdvertIntCs, 20)
    assert.deepEqual(types(r.actions), ['cancelAdvertTimer', 'removeVips', 'armMasterDown', 'notify'])
  })
  it('equal priority: the higher primary address wins', () => {
    assert.equal(step(c, master(), adv(100, '192.0.2.2')).state.state, 'BACKUP')
    assert.equal(step(c, master(), adv(100, '192.0.2.0')).state.state, 'MASTER')
  })
  it('higher_prio_send_advert sends one more advert before leaving', () => {
    const h = cfg({ higherPrioSendAdvert: true })
    assert.deepEqual(types(step(h, master(h), adv(150)).actions), ['sendAdvert', 'cancelAdvertTimer', 'removeVips', 'armMasterDown', 'notify'])
  })
  it('lower priority: advert + GARP, or nothing with lower_prio_no_advert', () => {
    assert.deepEqual(types(step(c, master(), adv(50)).actions), ['masterRxLowerPri', 'sendAdvert', 'sendGarp'])
    const l = cfg({ lowerPrioNoAdvert: true })
    assert.deepEqual(types(step(l, master(l), adv(50)).actions), ['masterRxLowerPri'])
  })
  it('the owner can ignore adverts (owner_ignore_adverts)', () => {
    const o = cfg({ priority: 255, ownerIgnoreAdverts: true })
    const s = run(o, [{ type: 'startup', now: 0 }]).s
    assert.deepEqual(step(o, s, adv(0)).actions, [])
  })
  it('fault from MASTER: priority-0 advert, VIPs removed', () => {
    const r = step(c, master(), { type: 'fault', now: 0 })
    assert.equal(r.state.state, 'FAULT')
    assert.deepEqual(types(r.actions), ['cancelAdvertTimer', 'sendAdvert', 'removeVips', 'notify'])
    assert.deepEqual(r.actions[1], { type: 'sendAdvert', priority: 0 })
  })
  it('tracking priority changes go into the next advert; the owner stays 255', () => {
    let r = step(c, master(), { type: 'priority', now: 0, priority: 60 })
    assert.deepEqual(step(c, r.state, { type: 'advertTimer', now: 0 }).actions[0], { type: 'sendAdvert', priority: 60 })
    r = step(c, r.state, { type: 'priority', now: 0, priority: 400 })
    assert.equal(r.state.effectivePriority, 254)
    const o = cfg({ priority: 255 })
    assert.equal(step(o, initialState(o), { type: 'priority', now: 0, priority: 10 }).state.effectivePriority, 255)
  })
})

describe('vrrp fsm: FAULT and sync groups', () => {
  const c = cfg()
  it('FAULT ignores adverts and timers; the owner returns to MASTER', () => {
    const f = run(c, [{ type: 'startup', now: 0 }, { type: 'fault', now: 0 }]).s
    for (const e of [adv(0), adv(200), { type: 'masterDown', now: 0 } as FsmEvent, { type: 'advertTimer', now: 0 } as FsmEvent]) assert.deepEqual(step(c, f, e).actions, [])
    const o = cfg({ priority: 255 })
    const fo = run(o, [{ type: 'startup', now: 0 }, { type: 'fault', now: 0 }, { type: 'faultCleared', now: 0 }]).s
    assert.equal(fo.state, 'MASTER')
  })
  it('sync events move a member with its group', () => {
    const b = run(c, [{ type: 'startup', now: 0 }]).s
    assert.equal(step(c, b, { type: 'sync', now: 0, to: 'MASTER' }).state.state, 'MASTER')
    assert.equal(step(c, b, { type: 'sync', now: 0, to: 'FAULT' }).state.state, 'FAULT')
    const m = step(c, b, { type: 'sync', now: 0, to: 'MASTER' }).state
    assert.equal(step(c, m, { type: 'sync', now: 0, to: 'BACKUP' }).state.state, 'BACKUP')
    const f = step(c, b, { type: 'fault', now: 0 }).state
    assert.equal(step(c, f, { type: 'sync', now: 0, to: 'MASTER' }).state.state, 'FAULT')
  })
})

describe('vrrp fsm: invariants under random event sequences', () => {
  const ev = fc.oneof(
    fc.record({ type: fc.constant('advert' as const), now: fc.nat(100000), priority: fc.nat(255), advertIntCs: fc.nat(4095), src: fc.constantFrom('192.0.2.0', '192.0.2.2') }),
    ...(['startup', 'masterDown', 'advertTimer', 'fault', 'faultCleared', 'shutdown'] as const).map((t) => fc.record({ type: fc.constant(t), now: fc.nat(100000) })),
    fc.record({ type: fc.constant('priority' as const), now: fc.nat(), priority: fc.integer({ min: -300, max: 300 }) }),
    fc.record({ type: fc.constant('sync' as const), now: fc.nat(), to: fc.constantFrom('MASTER' as const, 'BACKUP' as const, 'FAULT' as const) }),
  ) as fc.Arbitrary<FsmEvent>
  it('VIPs are held exactly in MASTER, adverts only sent by a MASTER (or its priority-0 goodbye), notifications match transitions', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 255 }), fc.boolean(), fc.integer({ min: 0, max: 3000 }), fc.array(ev, { maxLength: 60 }), (prio, preempt, delay, events) => {
      const c = cfg({ priority: prio, preempt, preemptDelayMs: delay })
      let s = initialState(c)
      let vips = false
      for (const e of events) {
        const before = s.state
        const r = step(c, s, e)
        for (const a of r.actions) {
          if (a.type === 'addVips') vips = true
          if (a.type === 'removeVips') vips = false
          if (a.type === 'sendAdvert') assert.ok(before === 'MASTER' || r.state.state === 'MASTER', `advert from ${before}->${r.state.state}`)
          if (a.type === 'armMasterDown') assert.ok(a.ms >= 0 && Number.isFinite(a.ms))
        }
        const notes = r.actions.filter((a) => a.type === 'notify')
        if (before !== r.state.state && !(before === 'INIT' && r.state.state === 'INIT')) assert.equal(notes.length, 1)
        s = r.state
        assert.equal(vips, s.state === 'MASTER')
        assert.ok(s.effectivePriority >= 1 && s.effectivePriority <= 255)
        if (prio === 255) assert.equal(s.effectivePriority, 255)
      }
    }), { numRuns: 500 })
  })
})

describe('vrrp fsm: resume (a reload carries an instance on, keepalived restore_vrrp_state)', () => {
  const resume = (state: FsmState['state'], fault = false, c = cfg()) =>
    step(c, { ...initialState(c), fault }, { type: 'resume', now: 0, state, masterIp: '192.0.2.9', masterPriority: 150, masterAdvertIntCs: 50 })
  it('MASTER: carries on without a transition: its addresses restored, an advert now and the timer, no GARP, no notify', () => {
    const r = resume('MASTER')
    assert.equal(r.state.state, 'MASTER')
    assert.deepEqual(types(r.actions), ['restoreVips', 'sendAdvert', 'armAdvertTimer'])
  })
  it('BACKUP: the master it heard and its interval kept, the master-down timer armed, no notify', () => {
    const r = resume('BACKUP')
    assert.equal(r.state.state, 'BACKUP')
    assert.equal(r.state.masterIp, '192.0.2.9')
    assert.equal(r.state.masterAdvertIntCs, 50)
    assert.deepEqual(r.actions, [{ type: 'armMasterDown', ms: masterDownMs(cfg(), r.state) }])
  })
  it('a tracker fault found by then: MASTER and BACKUP go to FAULT as usual (MASTER: priority 0, addresses removed)', () => {
    const m = resume('MASTER', true)
    assert.equal(m.state.state, 'FAULT')
    assert.deepEqual(types(m.actions), ['cancelAdvertTimer', 'sendAdvert', 'removeVips', 'notify'])
    assert.deepEqual(m.actions[1], { type: 'sendAdvert', priority: 0 })
    assert.equal(resume('BACKUP', true).state.state, 'FAULT')
  })
  it('FAULT stays FAULT silently while a tracker says so; a fault that has cleared leaves it (BACKUP, or MASTER for the owner)', () => {
    const f = resume('FAULT', true)
    assert.equal(f.state.state, 'FAULT')
    assert.deepEqual(f.actions, [])
    const cleared = resume('FAULT', false)
    assert.equal(cleared.state.state, 'BACKUP')
    assert.ok(cleared.actions.some((a) => a.type === 'notify'))
    assert.equal(resume('FAULT', false, cfg({ priority: 255 })).state.state, 'MASTER')
  })
  it('INIT is a start; a running instance ignores it', () => {
    assert.equal(resume('INIT').state.state, 'BACKUP')
    const c = cfg()
    const running = run(c, [{ type: 'startup', now: 0 }]).s
    assert.deepEqual(step(c, running, { type: 'resume', now: 1, state: 'MASTER' }), { state: running, actions: [] })
  })
})
