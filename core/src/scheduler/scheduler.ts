import type { Clock } from './clock.js'
import { Histogram } from './histogram.js'

/** A scheduled task; `cancel()` is idempotent. */
export interface TaskHandle {
  readonly name: string
  readonly active: boolean
  cancel(): void
}

export interface TimerOptions {
  /**
   * 'fine' wakes up early (spinLeadMs before the deadline) and finishes the wait with setImmediate polls, for
   * sub-millisecond accuracy (VRRP at 10 ms adverts, BFD). 'ms' (default) relies on setTimeout alone.
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

const SPIN_LEAD_MS = 1.5
/**
 * Inside the lead, a 'fine' timer alternates short synchronous waits (at most SLICE_MS, so the loop still serves
 * packets and other timers between them) with one event-loop turn each, instead of thousands of bare
 * setImmediate turns: those allocated ~350 KB per wait (35 MB/s of garbage at 10 ms adverts, a scavenge every
 * 200 ms). The last FINISH_MS are waited synchronously, then it fires.
 */
const SLICE_MS = 0.2
const FINISH_MS = 0.3

/**
 * keepalived's thread_master for one process: one-shot timers, periodic tasks that re-arm from their previous
 * deadline (no setInterval, no drift), events on the next turn, named tasks for the dumps, a lateness histogram
 * of every timer and an event-loop lag probe.
 */
export class Scheduler {
  private readonly clock: Clock
  private readonly tasks = new Set<Task>()
  readonly lateness = new Histogram()
  readonly loopLag = new Histogram()
  private lagProbe?: TaskHandle

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

  /** cancel every task (process shutdown) */
  cancelAll(): void {
    for (const t of [...this.tasks]) t.cancel()
    this.lagProbe = undefined
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
  private deadline = 0
  private runs = 0
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
    const clock = this.sched._clock()
    this.deadline = deadline
    this.live = true
    this.sched._add(this)
    const wait = deadline - clock.now() - (this.precision === 'fine' ? SPIN_LEAD_MS : 0)
    if (wait <= 0 && this.precision === 'fine') this.spin()
    // Node truncates fractional delays and may fire up to 1 ms early: round up (onTimeout re-arms if still early)
    else this.handle = clock.setTimeout(() => this.onTimeout(), Math.max(0, Math.ceil(wait)))
  }

  armImmediate(): void {
    this.live = true
    this.deadline = this.sched._clock().now()
    this.sched._add(this)
    this.immediate = this.sched._clock().setImmediate(() => this.fire())
  }

  private onTimeout(): void {
    this.handle = undefined
    if (!this.live) return
    if (this.precision === 'fine') {
      this.spin()
      return
    }
    const clock = this.sched._clock()
    const early = this.deadline - clock.now()
    if (early > 0) this.handle = clock.setTimeout(() => this.onTimeout(), Math.ceil(early))
    else this.fire()
  }

  private readonly spinNext = (): void => {
    this.immediate = undefined
    this.spin()
  }

  private spin(): void {
    const clock = this.sched._clock()
    if (!this.live) return
    const left = this.deadline - clock.now()
    if (left <= 0) {
      this.fire()
      return
    }
    if (clock.sleepSync) {
      if (left <= FINISH_MS) {
        if (clock.sleepSync(left)) {
          this.fire()
          return
        }
      } else clock.sleepSync(Math.min(SLICE_MS, left - FINISH_MS))
    }
    this.immediate = clock.setImmediate(this.spinNext)
  }

  private fire(): void {
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
    const ret = this.fn()
    if (!this.live) return // cancelled inside fn
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

  cancel(): void {
    if (!this.live && this.handle === undefined && this.immediate === undefined) return
    const clock = this.sched._clock()
    this.live = false
    if (this.handle !== undefined) clock.clearTimeout(this.handle)
    if (this.immediate !== undefined) clock.clearImmediate(this.immediate)
    this.handle = undefined
    this.immediate = undefined
    this.sched._remove(this)
  }
}
