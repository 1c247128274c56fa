/**
 * One scheduled check: a `Checker` plus its timing. Identical checks (same checker key and timing) configured
 * under several virtual servers share one Probe, which runs once per delay_loop and fans its verdict out.
 *
 * Cost per attempt is kept to what the attempt needs (at 10,000 servers and delay_loop 1 that is 10,000 attempts a
 * second): the AbortSignal is reused until it is aborted; the hard deadline is an entry in a FIFO shared by every
 * probe with the same connect_timeout (one scheduler timer per queue, armed at the oldest attempt still in
 * flight); the next cycle is an entry in a wheel of slots shared by every probe (one scheduler timer per occupied
 * slot) instead of a timer per probe; a verdict equal to the previous one is not fanned out again.
 */
import type { Checker, CheckOutcome, CheckTiming, Logger, Scheduler, TaskHandle } from '@kad/core'

export type VerdictListener = (o: CheckOutcome) => void

/**
 * An optional fast path a checker may add to the core contract's `check(signal)`: no AbortSignal, no promise.
 * `checkFast` starts one attempt and calls `done` exactly once, unless `cancelCheck` (the hard deadline, a stop)
 * is called first, after which `done` is never called. The probe uses it when a checker has both methods
 * (TCP_CHECK, HTTP_GET: the checks that run by the ten thousand).
 */
export interface FastChecker {
  checkFast(done: (o: CheckOutcome) => void): void
  cancelCheck(): void
}

function fastOf(c: Checker): FastChecker | undefined {
  const f = c as Partial<FastChecker>
  return typeof f.checkFast === 'function' && typeof f.cancelCheck === 'function' ? (f as FastChecker) : undefined
}

export interface ProbeStats {
  attempts: number
  failures: number
  timeouts: number
  verdicts: number
  lastDurationMs: number
}

/**
 * Deadlines of attempts that all last `timeoutMs`: entries arrive in deadline order, so a FIFO holds them. An
 * entry whose attempt has settled is dropped lazily when the queue's one timer fires (attempts mostly settle long
 * before their deadline, so one firing sweeps thousands of them).
 */
class DeadlineQueue {
  private probes: (Probe | undefined)[] = []
  private tokens: number[] = []
  private ats: number[] = []
  private head = 0
  private timer: TaskHandle | undefined
  private readonly fire = () => this.sweep()

  constructor(
    private readonly scheduler: Scheduler,
    readonly timeoutMs: number,
  ) {}

  push(p: Probe, token: number, at: number): void {
    this.probes.push(p)
    this.tokens.push(token)
    this.ats.push(at)
    if (!this.timer?.active) this.timer = this.scheduler.addTimer('check.deadlines', at - this.scheduler.now(), this.fire)
  }

  private sweep(): void {
    this.timer = undefined
    const now = this.scheduler.now()
    while (this.head < this.probes.length) {
      const i = this.head
      const p = this.probes[i]!
      if (!p.inFlight(this.tokens[i])) {
        this.probes[i] = undefined
        this.head++
        continue
      }
      if (this.ats[i] > now) break
      this.probes[i] = undefined
      this.head++
      p.timedOut(this.tokens[i])
    }
    if (this.head >= this.probes.length) {
      this.probes.length = this.tokens.length = this.ats.length = 0
      this.head = 0
      return
    }
    if (this.head > 4096 && this.head * 2 > this.probes.length) {
      this.probes = this.probes.slice(this.head)
      this.tokens = this.tokens.slice(this.head)
      this.ats = this.ats.slice(this.head)
      this.head = 0
    }
    if (!this.timer) this.timer = this.scheduler.addTimer('check.deadlines', this.ats[this.head] - now, this.fire)
  }
}

/**
 * The wheel's slot width for a delay_loop: a cycle starts at most this late (never early, and with no drift: the
 * next cycle counts from when this one was due). Checks due within one slot share one wake-up of the event loop —
 * at 1,000 servers and delay_loop 1, 50 per wake-up instead of 1 — which is most of what a check costs at low
 * rates (a wake-up from idle cost ~0.25 ms of CPU on the development VM: 25 ms slots cost 20 % more CPU than
 * 50 ms ones at 1,000 servers). 1/20 of the delay_loop, at most 50 ms (which divides whole seconds: cycles of
 * servers spread on whole milliseconds keep their exact times).
 */
export function wheelSlotMs(delayLoopMs: number): number {
  return Math.max(1, Math.min(50, Math.floor(delayLoopMs / 20)))
}

/**
 * Next-cycle starts of every probe of one scheduler, bucketed by the slot they are due in (`wheelSlotMs`; never
 * early: a bucket fires at or after the end of its slot). One scheduler timer is armed, for the earliest bucket.
 */
class CycleWheel {
  private readonly buckets = new Map<number, Probe[]>()
  private readonly tokens = new Map<number, number[]>()
  /** due milliseconds with a bucket, as a binary min-heap */
  private readonly heap: number[] = []
  private timer: TaskHandle | undefined
  private timerAt = Infinity
  private readonly fire = () => this.run()

  constructor(private readonly scheduler: Scheduler) {}

  add(p: Probe, token: number, at: number, slotMs: number): void {
    // a start due now (a new probe, fast recovery) keeps its millisecond
    const ms = at - this.scheduler.now() < slotMs ? Math.ceil(at) : Math.ceil(at / slotMs) * slotMs
    let b = this.buckets.get(ms)
    if (!b) {
      this.buckets.set(ms, (b = []))
      this.tokens.set(ms, [])
      heapPush(this.heap, ms)
    }
    b.push(p)
    this.tokens.get(ms)!.push(token)
    if (ms < this.timerAt || !this.timer?.active) this.arm()
  }

  private arm(): void {
    this.timer?.cancel()
    if (this.heap.length === 0) {
      this.timer = undefined
      this.timerAt = Infinity
      return
    }
    this.timerAt = this.heap[0]
    this.timer = this.scheduler.addTimer('check.cycles', this.timerAt - this.scheduler.now(), this.fire)
  }

  private run(): void {
    this.timer = undefined
    this.timerAt = Infinity
    const now = this.scheduler.now()
    while (this.heap.length > 0 && this.heap[0] <= now) {
      const ms = heapPop(this.heap)
      const b = this.buckets.get(ms)!
      const t = this.tokens.get(ms)!
      this.buckets.delete(ms)
      this.tokens.delete(ms)
      for (let i = 0; i < b.length; i++) b[i].due(t[i])
    }
    if (!this.timer) this.arm()
  }
}

function heapPush(h: number[], v: number): void {
  let i = h.push(v) - 1
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (h[parent] <= v) break
    h[i] = h[parent]
    i = parent
  }
  h[i] = v
}

function heapPop(h: number[]): number {
  const top = h[0]
  const last = h.pop()!
  if (h.length > 0) {
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= h.length) break
      const c = l + 1 < h.length && h[l + 1] < h[l] ? l + 1 : l
      if (h[c] >= last) break
      h[i] = h[c]
      i = c
    }
    h[i] = last
  }
  return top
}

const cycleWheels = new WeakMap<Scheduler, CycleWheel>()
function cycleWheel(scheduler: Scheduler): CycleWheel {
  let w = cycleWheels.get(scheduler)
  if (!w) cycleWheels.set(scheduler, (w = new CycleWheel(scheduler)))
  return w
}

const deadlineQueues = new WeakMap<Scheduler, Map<number, DeadlineQueue>>()
function deadlineQueue(scheduler: Scheduler, timeoutMs: number): DeadlineQueue {
  let m = deadlineQueues.get(scheduler)
  if (!m) deadlineQueues.set(scheduler, (m = new Map()))
  let q = m.get(timeoutMs)
  if (!q) m.set(timeoutMs, (q = new DeadlineQueue(scheduler, timeoutMs)))
  return q
}

export class Probe {
  readonly listeners = new Set<VerdictListener>()
  last: CheckOutcome | undefined
  readonly stats: ProbeStats = { attempts: 0, failures: 0, timeouts: 0, verdicts: 0, lastDurationMs: 0 }
  private task: TaskHandle | undefined
  /** reused by consecutive attempts until it is aborted */
  private abort: AbortController | undefined
  private unsubscribe: (() => void) | undefined
  private stopped = true
  /** bumps on every attempt and every stop: a settlement or deadline carrying an older token is ignored */
  private token = 0
  /** the attempt in flight: its number (0 first try), cycle start, start time; -1 when none */
  private tryNo = -1
  private cycleStart = 0
  private started = 0
  private readonly deadlines: DeadlineQueue
  private readonly wheel: CycleWheel
  /** the wheel entry that is current: bumps when the probe stops or runs a cycle early */
  private waitToken = 0
  /** the last verdict was given to the listeners since start() */
  private delivered = false
  private readonly fast: FastChecker | undefined
  private readonly doneFn = (o: CheckOutcome) => this.finish(this.token, o, false)
  private readonly cycleFn = () => this.attempt(0, this.scheduler.now())
  private readonly retryFn = () => this.attempt(this.retryNext, this.cycleStart)
  private retryNext = 0
  /** when the next cycle is due (its wheel slot may fire up to slotMs later) */
  private nextAt = 0
  private readonly slotMs: number

  constructor(
    readonly key: string,
    readonly checker: Checker,
    readonly timing: CheckTiming,
    private readonly scheduler: Scheduler,
    private readonly log: Logger,
    readonly logAllFailures = false,
    readonly label = '',
  ) {
    this.deadlines = deadlineQueue(scheduler, timing.connectTimeout * 1000)
    this.wheel = cycleWheel(scheduler)
    this.slotMs = wheelSlotMs(timing.delayLoop * 1000)
    this.fast = fastOf(checker)
  }

  get running(): boolean {
    return !this.stopped
  }

  /** start checking; the first run after `firstDelayMs` */
  start(firstDelayMs: number): void {
    if (!this.stopped) return
    this.stopped = false
    // the first verdict after a start reaches the listeners even when it equals the last one
    this.delivered = false
    if (this.checker.subscribe) {
      this.unsubscribe = this.checker.subscribe((o) => this.verdict(o))
      // one initial read so the state is known without waiting for a change
      this.task = this.scheduler.addTimer(`check.${this.key}`, 0, this.cycleFn)
      return
    }
    this.nextAt = this.scheduler.now() + firstDelayMs
    this.wheel.add(this, ++this.waitToken, this.nextAt, this.slotMs)
  }

  stop(): void {
    this.stopped = true
    if (this.tryNo >= 0) this.fast?.cancelCheck()
    this.token++
    this.waitToken++
    this.tryNo = -1
    this.task?.cancel()
    this.abort?.abort(new Error('stopped'))
    this.unsubscribe?.()
    this.task = this.abort = this.unsubscribe = undefined
  }

  /** run a whole cycle now (fast_recovery, tests) */
  runNow(): void {
    if (this.stopped || this.tryNo >= 0) return
    this.task?.cancel()
    this.waitToken++
    this.attempt(0, this.scheduler.now())
  }

  /** @internal the cycle wheel: the next cycle entered with this token is due */
  due(token: number): void {
    if (token !== this.waitToken || this.stopped || this.tryNo >= 0) return
    // the cycle counts from when it was due, not from when its wheel slot fired: no drift
    this.attempt(0, this.nextAt)
  }

  /** @internal the deadline queue: is the attempt with this token still running? */
  inFlight(token: number): boolean {
    return token === this.token && this.tryNo >= 0
  }

  /** @internal the deadline queue: the attempt with this token reached its hard deadline */
  timedOut(token: number): void {
    if (!this.inFlight(token)) return
    if (this.fast) this.fast.cancelCheck()
    else {
      const ac = this.abort
      this.abort = undefined
      ac?.abort(new Error('timeout'))
    }
    this.finish(token, { ok: false, reason: `timeout after ${this.timing.connectTimeout}s` }, true)
  }

  private attempt(n: number, cycleStart: number): void {
    this.task = undefined
    if (this.stopped) return
    const token = ++this.token
    this.tryNo = n
    this.cycleStart = cycleStart
    this.stats.attempts++
    const started = (this.started = this.scheduler.now())
    // the hard deadline: whatever the checker does, the attempt ends there
    this.deadlines.push(this, token, started + this.deadlines.timeoutMs)
    if (this.fast) {
      try {
        this.fast.checkFast(this.doneFn)
      } catch (e) {
        this.finish(token, { ok: false, reason: e instanceof Error ? e.message : String(e) }, false)
      }
      return
    }
    const ac = (this.abort ??= new AbortController())
    let p: Promise<CheckOutcome>
    try {
      p = this.checker.check(ac.signal)
    } catch (e) {
      p = Promise.reject(e)
    }
    p.then(
      (o) => this.finish(token, o, false),
      (e: unknown) => this.finish(token, { ok: false, reason: e instanceof Error ? e.message : String(e) }, false),
    )
  }

  private finish(token: number, o: CheckOutcome, timedOut: boolean): void {
    if (!this.inFlight(token)) return
    const n = this.tryNo
    this.tryNo = -1
    this.stats.lastDurationMs = this.scheduler.now() - this.started
    if (timedOut) this.stats.timeouts++
    if (!o.ok) {
      this.stats.failures++
      if (this.logAllFailures || n >= this.timing.retry) {
        this.log.limited(`check-fail:${this.key}`, 'info', `${this.label}: check failed: ${o.reason}`, { attempt: n + 1 })
      }
      if (n < this.timing.retry && !this.checker.subscribe) {
        this.retryNext = n + 1
        this.task = this.scheduler.addTimer(`check.${this.key}.retry`, this.timing.delayBeforeRetry * 1000, this.retryFn)
        return
      }
    }
    this.verdict(o)
    if (this.checker.subscribe || this.stopped) return
    // next cycle one delay_loop after this one began (never in the past: no catch-up bursts)
    this.nextAt = Math.max(this.cycleStart + this.timing.delayLoop * 1000, this.scheduler.now())
    this.wheel.add(this, ++this.waitToken, this.nextAt, this.slotMs)
  }

  private verdict(o: CheckOutcome): void {
    const prev = this.last
    this.last = o
    this.stats.verdicts++
    // the listeners hold the previous verdict already: an identical one changes nothing
    if (this.delivered && prev !== undefined && sameOutcome(prev, o)) return
    this.delivered = true
    if (this.listeners.size === 1) {
      for (const l of this.listeners) this.call(l, o)
      return
    }
    for (const l of [...this.listeners]) this.call(l, o)
  }

  private call(l: VerdictListener, o: CheckOutcome): void {
    try {
      l(o)
    } catch (e) {
      this.log.error(`${this.label}: result handler failed: ${(e as Error).stack ?? String(e)}`)
    }
  }
}

function sameOutcome(a: CheckOutcome, b: CheckOutcome): boolean {
  if (a.ok && b.ok) return a.weight === b.weight
  if (!a.ok && !b.ok) return a.reason === b.reason
  return false
}
