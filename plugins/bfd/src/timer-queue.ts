/**
 * Every session timer of the engine in one binary heap, driven by a single core Scheduler timer: with thousands
 * of sessions there is one wait in progress instead of one per session, and timers due together run in one
 * turn. Cancelled entries are dropped lazily.
 *
 * An entry may allow running early (`earlyMs`: transmissions, whose jitter range the session narrows to match);
 * detection timers never run early. The scheduler timer is armed with `precision: 'fine'` (the scheduler's
 * precise timer: a timerfd wake-up, the last fraction of the wait spent on the CPU, at most a tenth of it) while
 * timers are sparse; when more than `fineMaxPerSec` fire per second it uses `precision: 'ms'` and relies on the
 * early window to batch.
 */
import type { Scheduler, TaskHandle } from '@kad/core'

interface Entry {
  /** earliest time it may run */
  at: number
  seq: number
  fn: () => void
  live: boolean
}

export class TimerQueue {
  private heap: Entry[] = []
  private seq = 0
  private task?: TaskHandle
  private taskAt = Infinity
  private stopped = false
  /** timers run per wake-up (for the dumps) */
  wakeups = 0
  fired = 0
  fineWakeups = 0
  private rateWindowStart = 0
  private rateCount = 0
  private rate = 0
  private armSeq = 0

  constructor(
    private readonly scheduler: Scheduler,
    private readonly name = 'bfd.timers',
    private readonly fineMaxPerSec = 400,
  ) {}

  get size(): number {
    return this.heap.length
  }

  at(deadline: number, fn: () => void, earlyMs = 0): { cancel(): void } {
    const e: Entry = { at: deadline - Math.max(0, earlyMs), seq: this.seq++, fn, live: true }
    this.push(e)
    if (deadline < this.taskAt) this.arm(deadline)
    return { cancel: () => void (e.live = false) }
  }

  stop(): void {
    this.stopped = true
    this.task?.cancel()
    this.task = undefined
    this.heap = []
  }

  private arm(deadline: number): void {
    if (this.stopped) return
    this.task?.cancel()
    this.taskAt = deadline
    // a token per arming: the scheduler may run a due timer synchronously inside addTimer (re-entering run(),
    // which arms again); a superseded task must then do nothing when it fires
    const token = ++this.armSeq
    const fire = () => {
      if (token === this.armSeq) this.run()
    }
    const wait = deadline - this.scheduler.now()
    if (wait <= 0) {
      this.task = this.scheduler.addEvent(this.name, fire)
      return
    }
    const fine = this.rate <= this.fineMaxPerSec
    if (fine) this.fineWakeups++
    // 'ms' timers may fire a fraction of a millisecond early (whole-ms loop time): ask for whole milliseconds,
    // at least one, so that a dense queue wakes up at most once per millisecond
    const delay = fine ? wait : Math.max(1, Math.ceil(wait))
    const t = this.scheduler.addTimer(this.name, delay, fire, { precision: fine ? 'fine' : 'ms' })
    if (token === this.armSeq) this.task = t
  }

  private run(): void {
    this.armSeq++
    this.task = undefined
    this.taskAt = Infinity
    this.wakeups++
    const now = this.scheduler.now()
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const e = this.pop()!
      if (!e.live) continue
      e.live = false
      this.fired++
      this.rateCount++
      e.fn()
      if (this.stopped) return
    }
    if (now - this.rateWindowStart >= 250) {
      this.rate = (this.rateCount * 1000) / Math.max(1, now - this.rateWindowStart)
      this.rateWindowStart = now
      this.rateCount = 0
    }
    while (this.heap.length > 0 && !this.heap[0].live) this.pop()
    if (this.heap.length > 0 && this.heap[0].at < this.taskAt) this.arm(this.heap[0].at)
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push(e: Entry): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i], h[p])) break
      ;[h[i], h[p]] = [h[p], h[i]]
      i = p
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l], h[m])) m = l
        if (r < h.length && this.less(h[r], h[m])) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m], h[i]]
        i = m
      }
    }
    return top
  }
}
