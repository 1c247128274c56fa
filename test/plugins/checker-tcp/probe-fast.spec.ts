// The check framework's per-attempt machinery that TCP_CHECK and HTTP_GET rely on (plugins/checkers probe.ts),
// under fake timers: the callback fast path (done / cancelCheck at the hard deadline and at stop), the shared
// deadline queue, the cycle wheel (every server once per delay_loop, no drift, slots) and verdict fan-out.
import { strict as assert } from 'node:assert'
import sinon from 'sinon'
import { Scheduler, systemClock, type Checker, type CheckOutcome, type CheckTiming, type Logger } from '@kad/core'
import { Probe, wheelSlotMs } from '../../../plugins/checkers/src/probe.js'

const log: Logger = { fatal() {}, error() {}, warn() {}, info() {}, debug() {}, child: () => log, limited() {} } as unknown as Logger
const timing = (over: Partial<CheckTiming> = {}): CheckTiming => ({ delayLoop: 1, connectTimeout: 2, retry: 0, delayBeforeRetry: 1, warmup: 0, ...over })

/** a fast-path checker whose attempts the test settles by hand */
class FastFake implements Checker {
  readonly type = 'FAKE'
  starts: number[] = []
  cancels = 0
  pending: ((o: CheckOutcome) => void) | undefined
  auto: CheckOutcome | undefined = { ok: true }
  promiseCalls = 0
  checkFast(done: (o: CheckOutcome) => void): void {
    this.starts.push(performance.now())
    if (this.auto) done(this.auto)
    else this.pending = done
  }
  cancelCheck(): void {
    this.cancels++
    this.pending = undefined
  }
  check(): Promise<CheckOutcome> {
    this.promiseCalls++
    return Promise.resolve({ ok: true })
  }
  compare(): boolean {
    return false
  }
  key(): string {
    return 'fake'
  }
  dump(): Record<string, unknown> {
    return {}
  }
}

describe('probe fast path, deadline queue and cycle wheel (fake timers)', () => {
  let clock: sinon.SinonFakeTimers
  let scheduler: Scheduler
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance', 'Date'] })
    scheduler = new Scheduler({ clock: systemClock })
  })
  afterEach(() => {
    scheduler.cancelAll()
    clock.restore()
  })

  it('uses checkFast (never the promise path) and checks once per delay_loop without drift', async () => {
    const c = new FastFake()
    const p = new Probe('k', c, timing(), scheduler, log)
    const verdicts: CheckOutcome[] = []
    p.listeners.add((o) => verdicts.push(o))
    p.start(0)
    await clock.tickAsync(10_000)
    assert.equal(c.promiseCalls, 0)
    assert.equal(c.starts.length, 11) // t = 0, 1000, …, 10000
    // each start within one wheel slot after its due time, never before it
    c.starts.forEach((t, i) => assert.ok(t >= i * 1000 && t < i * 1000 + wheelSlotMs(1000), `start ${i} at ${t}`))
    // identical verdicts reach the listeners once
    assert.deepEqual(verdicts, [{ ok: true }])
    assert.equal(p.stats.verdicts, 11)
    p.stop()
  })

  it('cancels an attempt at the hard deadline and ignores a late done()', async () => {
    const c = new FastFake()
    c.auto = undefined
    const p = new Probe('k', c, timing({ connectTimeout: 2 }), scheduler, log)
    const verdicts: CheckOutcome[] = []
    p.listeners.add((o) => verdicts.push(o))
    p.start(0)
    await clock.tickAsync(1999)
    assert.equal(c.cancels, 0)
    const late = c.pending!
    await clock.tickAsync(1)
    assert.equal(c.cancels, 1)
    assert.deepEqual(verdicts, [{ ok: false, reason: 'timeout after 2s' }])
    assert.equal(p.stats.timeouts, 1)
    late({ ok: true })
    assert.equal(verdicts.length, 1)
    p.stop()
  })

  it('stop() cancels the attempt in flight; start() again delivers the first verdict even if unchanged', async () => {
    const c = new FastFake()
    const p = new Probe('k', c, timing(), scheduler, log)
    const verdicts: CheckOutcome[] = []
    p.listeners.add((o) => verdicts.push(o))
    p.start(0)
    await clock.tickAsync(1)
    c.auto = undefined
    await clock.tickAsync(1000)
    assert.ok(c.pending)
    p.stop()
    assert.equal(c.cancels, 1)
    c.auto = { ok: true }
    p.start(0)
    await clock.tickAsync(1)
    assert.deepEqual(verdicts, [{ ok: true }, { ok: true }])
    p.stop()
  })

  it('retries after delay_before_retry, then gives the verdict; the next cycle counts from the first attempt', async () => {
    const c = new FastFake()
    c.auto = { ok: false, reason: 'refused' }
    const p = new Probe('k', c, timing({ retry: 2, delayBeforeRetry: 0.5 }), scheduler, log)
    const verdicts: CheckOutcome[] = []
    p.listeners.add((o) => verdicts.push(o))
    p.start(0)
    await clock.tickAsync(999)
    assert.deepEqual(c.starts, [0, 500, 1000].filter((t) => t < 999))
    await clock.tickAsync(2)
    assert.equal(verdicts.length, 1)
    // the cycle began at 0: the next one is due at 1000, right after the last retry
    assert.deepEqual(c.starts.slice(0, 3), [0, 500, 1000])
    assert.ok(c.starts[3] >= 1000 && c.starts[3] <= 1001, String(c.starts[3]))
    p.stop()
  })

  it('10,000 probes spread over the warmup: each checked exactly once per delay_loop, deadlines never fire for settled attempts', async () => {
    const probes: Probe[] = []
    const checkers: FastFake[] = []
    for (let i = 0; i < 10_000; i++) {
      const c = new FastFake()
      checkers.push(c)
      const p = new Probe(`k${i}`, c, timing(), scheduler, log)
      probes.push(p)
      p.start((i / 10_000) * 1000)
    }
    await clock.tickAsync(5_000)
    for (const c of checkers) assert.ok(c.starts.length === 5 || c.starts.length === 6, String(c.starts.length))
    assert.equal(checkers.reduce((n, c) => n + c.cancels, 0), 0)
    // never more than one slot's worth at once: the wheel keeps the spread
    const slot = wheelSlotMs(1000)
    const perSlot = new Map<number, number>()
    for (const c of checkers) for (const t of c.starts) perSlot.set(Math.floor(t / slot), (perSlot.get(Math.floor(t / slot)) ?? 0) + 1)
    assert.ok(Math.max(...perSlot.values()) <= (10_000 * slot) / 1000 + 1, `burst of ${Math.max(...perSlot.values())}`)
    for (const p of probes) p.stop()
  })

  it('slot widths: delay_loop / 20, between 1 and 50 ms', () => {
    assert.equal(wheelSlotMs(1000), 50)
    assert.equal(wheelSlotMs(100), 5)
    assert.equal(wheelSlotMs(10), 1)
    assert.equal(wheelSlotMs(60_000), 50)
  })
})
