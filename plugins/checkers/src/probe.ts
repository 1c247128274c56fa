/**
 * One scheduled check: a `Checker` plus its timing. Identical checks (same checker key and timing) configured
 * under several virtual servers share one Probe, which runs once per delay_loop and fans its verdict out.
 */
import type { Checker, CheckOutcome, CheckTiming, Logger, Scheduler, TaskHandle } from '@kad/core'

export type VerdictListener = (o: CheckOutcome) => void

export interface ProbeStats {
  attempts: number
  failures: number
  timeouts: number
  verdicts: number
  lastDurationMs: number
}

export class Probe {
  readonly listeners = new Set<VerdictListener>()
  last: CheckOutcome | undefined
  readonly stats: ProbeStats = { attempts: 0, failures: 0, timeouts: 0, verdicts: 0, lastDurationMs: 0 }
  private task: TaskHandle | undefined
  private deadline: TaskHandle | undefined
  private abort: AbortController | undefined
  private unsubscribe: (() => void) | undefined
  private stopped = true
  /** bumps on every stop so late settlements of an aborted attempt are ignored */
  private epoch = 0

  constructor(
    readonly key: string,
    readonly checker: Checker,
    readonly timing: CheckTiming,
    private readonly scheduler: Scheduler,
    private readonly log: Logger,
    readonly logAllFailures = false,
    readonly label = '',
  ) {}

  get running(): boolean {
    return !this.stopped
  }

  /** start checking; the first run after `firstDelayMs` */
  start(firstDelayMs: number): void {
    if (!this.stopped) return
    this.stopped = false
    if (this.checker.subscribe) {
      this.unsubscribe = this.checker.subscribe((o) => this.verdict(o))
      // one initial read so the state is known without waiting for a change
      this.task = this.scheduler.addTimer(`check.${this.key}`, 0, () => this.attempt(0, this.scheduler.now()))
      return
    }
    this.task = this.scheduler.addTimer(`check.${this.key}`, firstDelayMs, () => this.cycle())
  }

  stop(): void {
    this.stopped = true
    this.epoch++
    this.task?.cancel()
    this.deadline?.cancel()
    this.abort?.abort(new Error('stopped'))
    this.unsubscribe?.()
    this.task = this.deadline = this.abort = this.unsubscribe = undefined
  }

  /** run a whole cycle now (fast_recovery, tests) */
  runNow(): void {
    if (this.stopped || this.abort) return
    this.task?.cancel()
    this.cycle()
  }

  private cycle(): void {
    this.attempt(0, this.scheduler.now())
  }

  private attempt(n: number, cycleStart: number): void {
    if (this.stopped) return
    const epoch = this.epoch
    const ac = new AbortController()
    this.abort = ac
    this.stats.attempts++
    const started = this.scheduler.now()
    let settled = false
    const finish = (o: CheckOutcome, timedOut: boolean) => {
      if (settled || epoch !== this.epoch) return
      settled = true
      this.deadline?.cancel()
      this.deadline = undefined
      this.abort = undefined
      this.stats.lastDurationMs = this.scheduler.now() - started
      if (timedOut) this.stats.timeouts++
      if (!o.ok) {
        this.stats.failures++
        if (this.logAllFailures || n >= this.timing.retry) {
          this.log.limited(`check-fail:${this.key}`, 'info', `${this.label}: check failed: ${o.reason}`, { attempt: n + 1 })
        }
        if (n < this.timing.retry && !this.checker.subscribe) {
          this.task = this.scheduler.addTimer(`check.${this.key}.retry`, this.timing.delayBeforeRetry * 1000, () => this.attempt(n + 1, cycleStart))
          return
        }
      }
      this.verdict(o)
      if (this.checker.subscribe) return
      // next cycle one delay_loop after this one began (never in the past: no catch-up bursts)
      const next = Math.max(cycleStart + this.timing.delayLoop * 1000, this.scheduler.now())
      this.task = this.scheduler.addTimer(`check.${this.key}`, next - this.scheduler.now(), () => this.cycle())
    }
    // the hard deadline: whatever the checker does, the attempt ends here
    this.deadline = this.scheduler.addTimer(`check.${this.key}.deadline`, this.timing.connectTimeout * 1000, () => {
      ac.abort(new Error('timeout'))
      finish({ ok: false, reason: `timeout after ${this.timing.connectTimeout}s` }, true)
    })
    let p: Promise<CheckOutcome>
    try {
      p = this.checker.check(ac.signal)
    } catch (e) {
      p = Promise.reject(e)
    }
    p.then(
      (o) => finish(o, false),
      (e: unknown) => finish({ ok: false, reason: e instanceof Error ? e.message : String(e) }, false),
    )
  }

  private verdict(o: CheckOutcome): void {
    this.last = o
    this.stats.verdicts++
    for (const l of [...this.listeners]) {
      try {
        l(o)
      } catch (e) {
        this.log.error(`${this.label}: result handler failed: ${(e as Error).stack ?? String(e)}`)
      }
    }
  }
}
