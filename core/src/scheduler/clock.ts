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
}

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
}
