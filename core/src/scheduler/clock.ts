/**
 * The clock every timer goes through. `now()` is monotonic milliseconds (fractions allowed). The default
 * implementation reads the globals at call time, so sinon fake timers installed by a test drive it.
 */
export interface Clock {
  now(): number
  /** wall-clock ms since the epoch (for notifications and logs) */
  wallNow(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  setImmediate(fn: () => void): unknown
  clearImmediate(handle: unknown): void
  /**
   * Hold the thread for `ms` (fractions allowed) of real time and return true; false when this clock cannot
   * (a fake clock, or the system clock while a test fakes `performance`). Only the 'fine' timers use it, for
   * sub-millisecond slices. The system clock busy-waits: a thread that sleeps, even 0.2 ms, gives its CPU away and
   * on a loaded machine a SCHED_OTHER thread waits milliseconds to get it back.
   */
  sleepSync?(ms: number): boolean
}

const REAL_PERFORMANCE = globalThis.performance
const REAL_PERFORMANCE_NOW = REAL_PERFORMANCE.now
let spinSink = 0

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    return t
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
  clearImmediate: (h) => clearImmediate(h as NodeJS.Immediate),
  sleepSync: (ms) => {
    // a faked performance.now would not move while the thread waits: report that we cannot
    if (globalThis.performance !== REAL_PERFORMANCE || REAL_PERFORMANCE.now !== REAL_PERFORMANCE_NOW) return false
    // read the clock every few hundred empty iterations only: each performance.now() can box its result, and
    // calling it back to back allocated ~500 KB per millisecond waited
    const end = REAL_PERFORMANCE.now() + ms
    while (REAL_PERFORMANCE.now() < end) for (let i = 0; i < 256; i++) spinSink = (spinSink + i) | 0
    return true
  },
}
