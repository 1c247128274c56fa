import { strict as assert } from 'node:assert'
import sinon from 'sinon'
import { Scheduler } from '../../core/src/scheduler/scheduler.js'
import { systemClock, type Clock } from '../../core/src/scheduler/clock.js'
import type { TaskHandle } from '../../core/src/scheduler/scheduler.js'
import { Histogram } from '../../core/src/scheduler/histogram.js'

describe('core/scheduler', () => {
  let clock: sinon.SinonFakeTimers
  let s: Scheduler
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance', 'Date'] })
    s = new Scheduler({ clock: systemClock })
  })
  afterEach(() => {
    s.cancelAll()
    clock.restore()
  })

  it('runs a one-shot timer once at its deadline', () => {
    let n = 0
    s.addTimer('t', 100, () => n++)
    clock.tick(99)
    assert.equal(n, 0)
    clock.tick(1)
    assert.equal(n, 1)
    clock.tick(1000)
    assert.equal(n, 1)
    assert.equal(s.size, 0)
  })

  it('re-arms periodic tasks from the previous deadline, so they do not drift', () => {
    const at: number[] = []
    s.every('p', 10, () => {
      at.push(performance.now())
    })
    clock.tick(1000)
    assert.equal(at.length, 100)
    at.forEach((t, i) => assert.equal(t, (i + 1) * 10))
  })

  it('skips missed runs instead of bursting when the loop stalls', () => {
    const at: number[] = []
    s.every('p', 10, () => {
      at.push(performance.now())
    })
    clock.tick(10) // ran at 10, next deadline 20
    clock.jump(55) // the loop stalls until 65: the task runs once, late
    clock.tick(10) // next deadline re-aligned to 70, not a burst of 30, 40, 50, 60
    assert.deepEqual(at, [10, 65, 70])
  })

  it('dynamic periodic tasks take their next interval from the callback and stop on a negative one', () => {
    const steps = [5, 20, -1]
    const at: number[] = []
    s.every('d', 10, () => {
      at.push(performance.now())
      return steps.shift()
    }, { dynamic: true })
    clock.tick(1000)
    assert.deepEqual(at, [10, 15, 35])
  })

  it('cancel is idempotent and works from inside the task', () => {
    let n = 0
    const h = s.every('c', 10, () => {
      n++
      if (n === 2) h.cancel()
    })
    clock.tick(100)
    assert.equal(n, 2)
    h.cancel()
    assert.equal(h.active, false)
  })

  it("fine precision on a clock without a precise timer (faked performance) falls back to setTimeout, never early", () => {
    assert.equal(systemClock.preciseTimer?.(() => undefined), undefined)
    let fired = -1
    s.addTimer('f', 10.4, () => (fired = performance.now()), { precision: 'fine' })
    clock.tick(20)
    assert.ok(fired >= 10.4 && fired <= 11, `fired at ${fired}`)
  })

  it('fine tasks share one precise timer armed for the earliest deadline, run in deadline order, re-armed once per wake-up', () => {
    // a hand-driven clock whose precise timer records how it is armed
    let t = 0
    let expire: ((wokeLateUs: number) => void) | undefined
    const arms: [number, number | undefined][] = []
    let disarms = 0
    let closes = 0
    let made = 0
    const vclock: Clock = {
      now: () => t,
      wallNow: () => t,
      setTimeout: () => assert.fail('a fine task used setTimeout'),
      clearTimeout: () => undefined,
      setImmediate: () => assert.fail('a fine task used setImmediate'),
      clearImmediate: () => undefined,
      preciseTimer: (fn) => {
        made++
        expire = fn
        return { arm: (ms, spin) => void arms.push([t + ms, spin]), disarm: () => void disarms++, close: () => void closes++ }
      },
    }
    const s2 = new Scheduler({ clock: vclock })
    const ran: string[] = []
    s2.addTimer('b', 20, () => ran.push(`b@${t}`), { precision: 'fine' })
    s2.addTimer('a', 10, () => ran.push(`a@${t}`), { precision: 'fine' })
    const c = s2.addTimer('c', 15, () => ran.push(`c@${t}`), { precision: 'fine' })
    s2.every('p', 10, () => void ran.push(`p@${t}`), { precision: 'fine' })
    c.rearm(12) // moved within the heap: still not the earliest
    assert.equal(arms.length, 2)
    // armed at 20, then earlier at 10; neither 15 nor the periodic 10 re-arms it
    assert.deepEqual(arms.map(([at]) => at), [20, 10])
    assert.ok(arms.every(([, spin]) => spin !== undefined && spin > 0 && spin < 1), 'armed with a sub-millisecond spin lead')
    c.cancel()
    t = 10.002
    expire!(0)
    // both due tasks ran in one wake-up, then ONE re-arm for the next deadline (b and the periodic at 20)
    assert.deepEqual(ran, ['a@10.002', 'p@10.002'])
    assert.deepEqual(arms.map(([at]) => at), [20, 10, 20])
    t = 20
    expire!(0)
    assert.deepEqual(ran.slice(2).sort(), ['b@20', 'p@20'])
    assert.equal(s2.lateness.count, 4)
    // a wake-up with nothing due (an earlier task was cancelled) runs nothing and re-arms
    t = 25
    expire!(0)
    assert.equal(ran.length, 4)
    assert.equal(arms[arms.length - 1][0], 30)
    s2.cancelAll()
    assert.equal(disarms, 1, 'the last task leaving disarms the timer')
    assert.equal(closes, 1)
    assert.equal(made, 1)
  })

  it('rearm moves a pending run, runs a fired or cancelled task again, and wins over a periodic re-arm', () => {
    const at: number[] = []
    const t = s.addTimer('r', 100, () => void at.push(performance.now()))
    clock.tick(50)
    t.rearm(100) // pending at 100: moved to 150
    clock.tick(60)
    assert.deepEqual(at, [])
    clock.tick(40)
    assert.deepEqual(at, [150])
    t.rearm(10) // fired: runs again
    clock.tick(10)
    assert.deepEqual(at, [150, 160])
    t.rearm(10)
    t.cancel()
    t.rearm(5) // cancelled: runs again
    clock.tick(20)
    assert.deepEqual(at, [150, 160, 165])
    assert.equal(t.active, false)
    assert.equal(s.size, 0)
    // a periodic task re-armed from its own callback runs at the new time, once, then every interval from there
    const p: number[] = []
    let h: TaskHandle | undefined = undefined
    h = s.every('p', 10, () => {
      p.push(performance.now())
      if (p.length === 1) h!.rearm(25)
    })
    clock.tick(60)
    assert.deepEqual(p.map((x) => x - 180), [10, 35, 45, 55])
    h.cancel()
  })

  it('the spin lead follows how late the wake-ups come, within a tenth of the wait', () => {
    let t = 0
    let expire: ((wokeLateUs: number) => void) | undefined
    const spins: number[] = []
    const vclock: Clock = {
      now: () => t, wallNow: () => t, setTimeout: () => undefined, clearTimeout: () => undefined, setImmediate: () => undefined, clearImmediate: () => undefined,
      preciseTimer: (fn) => ((expire = fn), { arm: (_ms, spin) => void spins.push(spin ?? 0), disarm: () => undefined, close: () => undefined }),
    }
    const s2 = new Scheduler({ clock: vclock })
    s2.every('p', 10, () => undefined, { precision: 'fine' })
    const wake = (late: number) => {
      t += 10
      expire!(late)
      return spins[spins.length - 1]
    }
    const first = spins[0]
    assert.ok(first > 0 && first < 1, `${first}`)
    // a 5 ms late wake-up: the lead grows, but only to a tenth of the 10 ms wait
    assert.equal(wake(5000), 1)
    // then quiet wake-ups: it decays back towards their delay plus a margin
    let lead = 1
    for (let i = 0; i < 500; i++) lead = wake(80)
    assert.ok(lead > 0.08 && lead < 0.2, `${lead}`)
    s2.cancelAll()
  })

  it('fine heap: random arms and cancels always run the due tasks in deadline order', () => {
    let t = 0
    let expire: ((wokeLateUs: number) => void) | undefined
    let armedAt = Infinity
    const vclock: Clock = {
      now: () => t, wallNow: () => t, setTimeout: () => undefined, clearTimeout: () => undefined, setImmediate: () => undefined, clearImmediate: () => undefined,
      preciseTimer: (fn) => ((expire = fn), { arm: (ms) => void (armedAt = t + ms), disarm: () => void (armedAt = Infinity), close: () => undefined }),
    }
    const s2 = new Scheduler({ clock: vclock })
    let seed = 42
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
    const ran: number[] = []
    const live = new Map<number, TaskHandle>()
    for (let i = 0; i < 500; i++) {
      const at = Math.floor(rnd() * 1000)
      live.set(i, s2.addTimer(`t${i}`, at, () => void ran.push(at), { precision: 'fine' }))
      if (rnd() < 0.3) {
        const k = Math.floor(rnd() * i)
        live.get(k)?.cancel()
        live.delete(k)
      }
    }
    const want = [...live.values()].filter((h) => h.active).length
    // a one-shot timer: expiring disarms it
    while (armedAt !== Infinity) {
      t = armedAt
      armedAt = Infinity
      expire!(0)
    }
    assert.equal(ran.length, want)
    assert.deepEqual(ran, [...ran].sort((x, y) => x - y))
  })

  it('events run on the next turn; dump lists named tasks', () => {
    let ran = false
    s.addEvent('e', () => (ran = true))
    s.addTimer('later', 50, () => undefined)
    assert.deepEqual(s.dump().map((t) => t.name).sort(), ['e', 'later'])
    clock.tick(0)
    assert.equal(ran, true)
  })
})

describe('core/histogram', () => {
  it('gives quantiles within one bucket (12.5%) of the truth', () => {
    const h = new Histogram()
    for (let i = 1; i <= 10000; i++) h.record(i)
    const p50 = h.quantile(0.5)
    const p99 = h.quantile(0.99)
    assert.ok(Math.abs(p50 - 5000) / 5000 < 0.13, `p50 ${p50}`)
    assert.ok(Math.abs(p99 - 9900) / 9900 < 0.13, `p99 ${p99}`)
    assert.equal(h.max, 10000)
    assert.equal(h.count, 10000)
  })
})

describe('core/scheduler on the real clock', () => {
  it("'ms' timers never fire before their deadline (Node truncates fractional delays)", async () => {
    const s = new Scheduler({ clock: systemClock })
    let early = 0
    const runs: Promise<void>[] = []
    for (let i = 0; i < 50; i++) {
      const delay = 1 + Math.random() * 5
      const due = performance.now() + delay
      runs.push(new Promise((ok) => s.addTimer('t', delay, () => {
        if (performance.now() < due) early++
        ok()
      })))
    }
    await Promise.all(runs)
    assert.equal(early, 0)
  })
})

describe('core/scheduler on the real clock', () => {
  it("'fine' timers never fire early and run within a millisecond of their deadline", async () => {
    const s = new Scheduler({ clock: systemClock })
    const errs: number[] = []
    await new Promise<void>((done) => {
      let n = 0
      let want = performance.now() + 5
      s.every('f', 5, () => {
        errs.push(performance.now() - want)
        want += 5
        if (++n === 40) done()
      }, { precision: 'fine' })
    })
    // a cancelled task and cancelAll leave nothing armed: the process could exit
    s.addTimer('x', 1000, () => assert.fail('cancelled'), { precision: 'fine' }).cancel()
    s.cancelAll()
    assert.ok(errs.every((e) => e >= -0.001), `early by ${Math.min(...errs)} ms`)
    errs.sort((a, b) => a - b)
    // the median wake-up, even on a loaded 2-CPU machine without a realtime class (the bench measures the tail)
    assert.ok(errs[20] < 1, `median ${errs[20]} ms late`)
  })
})
