import type { Clock, PreciseTimer } from './clock.js'
import { Histogram } from './histogram.js'

/** A scheduled task; `cancel()` is idempotent. */
export interface TaskHandle {
  readonly name: string
  readonly active: boolean
  cancel(): void
  /**
   * Run it (again) `delayMs` from now, replacing any pending run: the same task, callback and options, nothing
   * allocated (a timer re-armed on every advert or every received packet).
   */
  rearm(delayMs: number): void
}

export interface TimerOptions {
  /**
   * 'fine': run within microseconds of the deadline (VRRP adverts and master-down, BFD), through the clock's
   * precise timer (see WAKE_PEAK_DECAY). 'ms' (default): setTimeout, whose wake-ups are whole milliseconds late or
   * worse. Without a precise timer (fake clocks) 'fine' behaves as 'ms'.
   */
  precision?: 'ms' | 'fine'
}

export interface PeriodicOptions extends TimerOptions {
  /** delay before the first run; default one interval */
  firstDelayMs?: number
  /**
   * Return the next interval from the callback instead (jitter, back-off); the next deadline is
   * previous deadline + returned value, never now + value, so periodic tasks do not drift.
   */
  dynamic?: boolean
}

export interface TaskInfo {
  name: string
  kind: 'timer' | 'periodic' | 'event'
  deadline: number
  runs: number
}

export interface SchedulerDeps {
  clock: Clock
}

/**
 * The precise timer wakes the thread this much before a 'fine' deadline, and the addon waits the rest on the CPU
 * (native/src/timer.cc): a sleeping thread does not run the instant its timer expires. How long it takes depends
 * on the machine and its load, so the lead follows the wake-ups themselves: the worst of roughly the last hundred
 * (each wake-up reports how late it came; the peak decays by WAKE_PEAK_DECAY per wake-up) plus a margin, but never
 * more than SPIN_BUDGET of the wait, so that spinning cannot take more than a tenth of the CPU whatever the rate.
 *
 * Measured on the 2-vCPU KVM guest this project runs on: a quiet machine wakes a SCHED_RR thread 70-100 us late
 * (p99 200-450 us), so the lead stays near 0.2-0.5 ms; under the VRRP bench's checker load (10,000 TCP checks a
 * second on the same 2 CPUs) 1-2% of wake-ups come 0.5-2 ms late, because the kernel runs with preempt=none and
 * the woken realtime thread waits until a SCHED_OTHER task's system call returns (perf: the timerfd expires on
 * time, the switch comes late), and the lead grows to its cap (1 ms at 10 ms adverts).
 */
const WAKE_PEAK_DECAY = 0.99
const SPIN_MARGIN_MS = 0.05
const SPIN_BUDGET = 0.1

/**
 * keepalived's thread_master for one process: one-shot timers, periodic tasks that re-arm from their previous
 * deadline (no setInterval, no drift), events on the next turn, named tasks for the dumps, a lateness histogram
 * of every timer and an event-loop lag probe.
 *
 * 'fine' tasks wait in one binary heap by deadline under ONE precise timer (a timerfd in the event loop), armed
 * for the earliest; when it expires every due task runs, in deadline order, and it is re-armed once for the next.
 * Nothing spins in JavaScript and nothing is allocated per wake-up.
 */
export class Scheduler {
  private readonly clock: Clock
  private readonly tasks = new Set<Task>()
  readonly lateness = new Histogram()
  readonly loopLag = new Histogram()
  private lagProbe?: TaskHandle
  /** created at the first 'fine' task; null: the clock has none */
  private fineTimer?: PreciseTimer | null
  /**
   * 'fine' tasks, a binary heap by deadline in fine[0 .. fineSize) (Task.heapIndex is each one's slot); the array
   * never shrinks, so pushing and popping a task per advert allocates nothing
   */
  private readonly fine: (Task | undefined)[] = []
  private fineSize = 0
  /** the deadline the precise timer is armed for (Infinity: disarmed) */
  private fineArmedAt = Infinity
  /** inside runFine: tasks armed meanwhile wait for its single re-arm */
  private fineRunning = false
  /** the recent worst wake-up delay of the precise timer, ms (see WAKE_PEAK_DECAY) */
  private wakePeakMs = 0.25

  constructor({ clock }: SchedulerDeps) {
    this.clock = clock
  }

  now(): number {
    return this.clock.now()
  }

  /** run `fn` once after `delayMs` */
  addTimer(name: string, delayMs: number, fn: () => void, opts: TimerOptions = {}): TaskHandle {
    const t = new Task(this, name, 'timer', fn, opts.precision ?? 'ms')
    t.arm(this.clock.now() + Math.max(0, delayMs))
    return t
  }

  /** run `fn` every `intervalMs`; with `dynamic`, `fn` returns the next interval (or a negative number to stop) */
  every(name: string, intervalMs: number, fn: () => void | number, opts: PeriodicOptions = {}): TaskHandle {
    const t = new Task(this, name, 'periodic', fn, opts.precision ?? 'ms', intervalMs, opts.dynamic === true)
    t.arm(this.clock.now() + (opts.firstDelayMs ?? intervalMs))
    return t
  }

  /** run `fn` on the next turn of the loop */
  addEvent(name: string, fn: () => void): TaskHandle {
    const t = new Task(this, name, 'event', fn, 'ms')
    t.armImmediate()
    return t
  }

  /** start sampling event-loop lag every `periodMs` into `loopLag` */
  startLagProbe(periodMs = 100): void {
    if (this.lagProbe) return
    this.lagProbe = this.every('core.loop-lag', periodMs, () => undefined)
  }

  /** cancel every task (process shutdown); the precise timer is released */
  cancelAll(): void {
    for (const t of [...this.tasks]) t.cancel()
    this.lagProbe = undefined
    this.fineTimer?.close()
    this.fineTimer = undefined
    this.fineArmedAt = Infinity
  }

  get size(): number {
    return this.tasks.size
  }

  dump(): TaskInfo[] {
    return [...this.tasks].map((t) => t.info()).sort((a, b) => a.deadline - b.deadline)
  }

  /** @internal */
  _clock(): Clock {
    return this.clock
  }
  /** @internal */
  _add(t: Task): void {
    this.tasks.add(t)
  }
  /** @internal */
  _remove(t: Task): void {
    this.tasks.delete(t)
  }
  /** @internal queue a 'fine' task; false when the clock has no precise timer */
  _addFine(t: Task): boolean {
    if (this.fineTimer === undefined) this.fineTimer = this.clock.preciseTimer?.(this.runFine) ?? null
    if (this.fineTimer === null) return false
    t.heapIndex = this.fineSize++
    this.fine[t.heapIndex] = t
    this.siftUp(t.heapIndex)
    if (!this.fineRunning && t.deadline < this.fineArmedAt) this.armFine()
    return true
  }
  /** @internal */
  _removeFine(t: Task): void {
    const h = this.fine
    const i = t.heapIndex
    t.heapIndex = -1
    const last = h[--this.fineSize]!
    h[this.fineSize] = undefined
    if (last !== t) {
      h[i] = last
      last.heapIndex = i
      this.siftDown(i)
      this.siftUp(last.heapIndex)
    }
    // an earlier task leaving only costs a wake-up that finds nothing due; the last one leaving disarms
    if (this.fineSize === 0 && !this.fineRunning) this.armFine()
  }

  /** arm the precise timer for the earliest 'fine' task, or disarm it */
  private armFine(): void {
    const timer = this.fineTimer
    if (!timer) return
    const top = this.fine[0]
    if (top === undefined) {
      if (this.fineArmedAt !== Infinity) timer.disarm()
      this.fineArmedAt = Infinity
      return
    }
    this.fineArmedAt = top.deadline
    const wait = top.deadline - this.clock.now()
    timer.arm(wait, Math.min(this.wakePeakMs + SPIN_MARGIN_MS, wait * SPIN_BUDGET))
  }

  private readonly runFine = (wokeLateUs: number): void => {
    this.wakePeakMs = Math.max(wokeLateUs / 1000, this.wakePeakMs * WAKE_PEAK_DECAY)
    this.fineArmedAt = Infinity
    this.fineRunning = true
    try {
      const now = this.clock.now()
      // one at a time: a task may cancel or arm others (a periodic one re-arms itself past `now`)
      while (this.fineSize > 0 && this.fine[0]!.deadline <= now) {
        const t = this.fine[0]!
        this._removeFine(t)
        t.fire()
      }
    } finally {
      this.fineRunning = false
      this.armFine()
    }
  }

  private siftUp(i: number): void {
    const h = this.fine as Task[]
    const t = h[i]
    while (i > 0) {
      const p = (i - 1) >> 1
      if (h[p].deadline <= t.deadline) break
      h[i] = h[p]
      h[i].heapIndex = i
      i = p
    }
    h[i] = t
    t.heapIndex = i
  }

  private siftDown(i: number): void {
    const h = this.fine as Task[]
    const n = this.fineSize
    const t = h[i]
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const c = l + 1 < n && h[l + 1].deadline < h[l].deadline ? l + 1 : l
      if (t.deadline <= h[c].deadline) break
      h[i] = h[c]
      h[i].heapIndex = i
      i = c
    }
    h[i] = t
    t.heapIndex = i
  }

  /** @internal */
  _late(t: Task, lateMs: number): void {
    const us = lateMs * 1000
    if (t.name === 'core.loop-lag') this.loopLag.record(us)
    else this.lateness.record(us)
  }
}

class Task implements TaskHandle {
  private handle: unknown
  private immediate: unknown
  /** @internal the slot in the scheduler's 'fine' heap; -1 outside it */
  heapIndex = -1
  /** @internal */
  deadline = 0
  private runs = 0
  private arms = 0
  private live = false

  constructor(
    private readonly sched: Scheduler,
    readonly name: string,
    private readonly kind: 'timer' | 'periodic' | 'event',
    private readonly fn: () => void | number,
    private readonly precision: 'ms' | 'fine',
    private readonly interval = 0,
    private readonly dynamic = false,
  ) {}

  get active(): boolean {
    return this.live
  }

  info(): TaskInfo {
    return { name: this.name, kind: this.kind, deadline: this.deadline, runs: this.runs }
  }

  arm(deadline: number): void {
    this.arms++
    this.deadline = deadline
    this.live = true
    this.sched._add(this)
    if (this.precision === 'fine' && this.sched._addFine(this)) return
    // Node truncates fractional delays and may fire up to 1 ms early: round up (onTimeout re-arms if still early)
    this.handle = this.sched._clock().setTimeout(this.onTimeout, Math.max(0, Math.ceil(deadline - this.sched._clock().now())))
  }

  armImmediate(): void {
    this.live = true
    this.deadline = this.sched._clock().now()
    this.sched._add(this)
    this.immediate = this.sched._clock().setImmediate(() => this.fire())
  }

  private readonly onTimeout = (): void => {
    this.handle = undefined
    if (!this.live) return
    const clock = this.sched._clock()
    const early = this.deadline - clock.now()
    if (early > 0) this.handle = clock.setTimeout(this.onTimeout, Math.ceil(early))
    else this.fire()
  }

  /** @internal run it (it is due) */
  fire(): void {
    if (!this.live) return
    const clock = this.sched._clock()
    const now = clock.now()
    if (this.kind !== 'event') this.sched._late(this, now - this.deadline)
    this.runs++
    if (this.kind !== 'periodic') {
      this.live = false
      this.sched._remove(this)
      this.fn()
      return
    }
    const arms = this.arms
    const ret = this.fn()
    if (!this.live || this.arms !== arms) return // cancelled or re-armed inside fn
    let step = this.interval
    if (this.dynamic) {
      if (typeof ret !== 'number' || ret < 0) {
        this.cancel()
        return
      }
      step = ret
    }
    let next = this.deadline + step
    // if we fell more than one interval behind, skip the missed runs instead of bursting
    if (next <= now && step > 0) next = this.deadline + step * Math.ceil((now - this.deadline) / step + 1e-9)
    this.arm(next)
  }

  rearm(delayMs: number): void {
    this.cancel()
    this.arm(this.sched._clock().now() + Math.max(0, delayMs))
  }

  cancel(): void {
    if (!this.live && this.handle === undefined && this.immediate === undefined) return
    const clock = this.sched._clock()
    this.live = false
    if (this.handle !== undefined) clock.clearTimeout(this.handle)
    if (this.immediate !== undefined) clock.clearImmediate(this.immediate)
    if (this.heapIndex >= 0) this.sched._removeFine(this)
    this.handle = undefined
    this.immediate = undefined
    this.sched._remove(this)
  }
}
