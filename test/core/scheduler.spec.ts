import { strict as assert } from 'node:assert'
import sinon from 'sinon'
import { Scheduler } from '../../core/src/scheduler/scheduler.js'
import { systemClock, type Clock } from '../../core/src/scheduler/clock.js'
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

  it('fine precision finishes the wait with immediates', () => {
    let fired = -1
    s.addTimer('f', 10, () => (fired = performance.now()), { precision: 'fine' })
    clock.tick(20)
    assert.ok(fired >= 10 && fired <= 11, `fired at ${fired}`)
  })

  it('fine precision with a clock that can sleep: a few short sleeps, a few loop turns, never early', () => {
    // a hand-driven clock: sleepSync moves virtual time as the real one sleeps the thread; the busy-wait reads now()
    let t = 0
    const timers: { at: number; fn: () => void }[] = []
    const immediates: (() => void)[] = []
    const sleeps: number[] = []
    let reads = 0
    const vclock: Clock = {
      now: () => (reads++, (t += 0.001)),
      wallNow: () => t,
      setTimeout: (fn, ms) => timers.push({ at: t + ms, fn }),
      clearTimeout: () => undefined,
      setImmediate: (fn) => immediates.push(fn),
      clearImmediate: () => undefined,
      sleepSync: (ms) => (sleeps.push(ms), (t += ms), true),
    }
    const s2 = new Scheduler({ clock: vclock })
    let fired = -1
    s2.addTimer('f', 10, () => (fired = t), { precision: 'fine' })
    let turns = 0
    while (fired < 0 && turns < 10000) {
      turns++
      const batch = immediates.splice(0)
      if (batch.length) batch.forEach((f) => f())
      else {
        const next = timers.sort((x, y) => x.at - y.at).shift()
        if (!next) break
        t = Math.max(t, next.at)
        next.fn()
      }
    }
    assert.ok(fired >= 10 && fired <= 10.05, `fired at ${fired}`)
    // the 1.5 ms lead is covered by waits of at most 0.2 ms with one loop turn each (the last, at most 0.3 ms,
    // fires without one), not by thousands of immediates
    assert.ok(turns < 20, `${turns} turns`)
    assert.ok(sleeps.slice(0, -1).every((ms) => ms > 0 && ms <= 0.2 + 1e-9), sleeps.join(','))
    assert.ok(sleeps[sleeps.length - 1] <= 0.3 + 1e-9, sleeps.join(','))
    assert.ok(reads < 1000, `${reads} clock reads`)
  })

  it('fine precision falls back to immediates when the clock cannot sleep (faked performance)', () => {
    assert.equal(systemClock.sleepSync?.(1), false)
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
  it("'fine' timers never fire early and the system clock sleeps for real", async () => {
    const s = new Scheduler({ clock: systemClock })
    const t0 = performance.now()
    assert.equal(systemClock.sleepSync?.(0.3), true)
    assert.ok(performance.now() - t0 >= 0.29)
    const errs: number[] = []
    await new Promise<void>((done) => {
      let n = 0
      let want = performance.now() + 5
      s.every('f', 5, () => {
        errs.push(performance.now() - want)
        want += 5
        if (++n === 20) done()
      }, { precision: 'fine' })
    })
    s.cancelAll()
    assert.ok(errs.every((e) => e >= -0.01), `early by ${Math.min(...errs)} ms`)
  })
})
