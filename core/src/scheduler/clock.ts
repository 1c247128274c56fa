// the timer module alone: the index would load all of @kad/native into every process, `kad -t` included
import { preciseTimer as nativePreciseTimer } from '@kad/native/timer'

/**
 * A one-shot timer with sub-millisecond accuracy on the Clock's `now()` time base (the Scheduler's 'fine'
 * timers). `arm(delayMs, spinMs)` (re)arms it to call its callback once, `delayMs` from now and never earlier; the
 * implementation may wake the thread up to `spinMs` early and wait the rest on the CPU, and tells the callback how
 * late (microseconds) the thread woke up. While armed it keeps the process alive. `disarm()` cancels; `close()`
 * releases it (idempotent).
 */
export interface PreciseTimer {
  arm(delayMs: number, spinMs?: number): void
  disarm(): void
  close(): void
}

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
   * A precise timer calling `onExpire`, or undefined when this clock has none (a fake clock): the Scheduler's
   * 'fine' timers then fall back to setTimeout, like 'ms' ones.
   */
  preciseTimer?(onExpire: (wokeLateUs: number) => void): PreciseTimer | undefined
}

const REAL_PERFORMANCE = globalThis.performance
const REAL_PERFORMANCE_NOW = REAL_PERFORMANCE.now

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
  // the addon's timerfd runs on the real monotonic clock: none while a test fakes performance.now
  preciseTimer: (onExpire) => {
    if (globalThis.performance !== REAL_PERFORMANCE || REAL_PERFORMANCE.now !== REAL_PERFORMANCE_NOW) return undefined
    return nativePreciseTimer(onExpire)
  },
}
