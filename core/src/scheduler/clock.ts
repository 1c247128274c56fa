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
   * Block the thread for `ms` (fractions allowed) of real time and return true; false when this clock cannot
   * (a fake clock, or the system clock while a test fakes `performance`). Only the 'fine' timers use it, for
   * sub-millisecond slices.
   */
  sleepSync?(ms: number): boolean
}

const REAL_PERFORMANCE = globalThis.performance
const REAL_PERFORMANCE_NOW = REAL_PERFORMANCE.now
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4))

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
    // a faked performance.now would not move while the thread sleeps: report that we cannot
    if (globalThis.performance !== REAL_PERFORMANCE || REAL_PERFORMANCE.now !== REAL_PERFORMANCE_NOW) return false
    // futex wait with a nanosecond timeout: no allocation, no CPU, no event-loop turn
    if (ms > 0) Atomics.wait(SLEEP_CELL, 0, 0, ms)
    return true
  },
}
