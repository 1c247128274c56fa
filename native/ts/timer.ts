// A one-shot timer with microsecond accuracy: a timerfd (CLOCK_MONOTONIC, the clock of performance.now()) that the
// event loop polls like a socket. See native/src/timer.cc and docs/native.md.
import { addon } from './addon.js'

export interface PreciseTimer {
  /** the timerfd; -1 once closed */
  readonly fd: number
  /**
   * (Re)arm: `onExpire()` runs once, `delayMs` (fractions allowed) from now, never earlier; `<= 0`: on the loop's
   * next poll. With `spinMs` the timerfd expires that much earlier and the addon busy-waits the rest before calling
   * `onExpire` (it covers the thread's wake-up latency). `onExpire` gets how late the thread woke after the timerfd
   * expired, in whole microseconds. While armed the timer keeps the event loop alive. Throws
   * EBADF after close().
   */
  arm(delayMs: number, spinMs?: number): void
  /** cancel; the loop may exit */
  disarm(): void
  /** disarm and release the fd; calling it again does nothing */
  close(): void
}

/** a disarmed timer; the first one also sets the loop thread's timer slack to 1 ns (PR_SET_TIMERSLACK) */
export function preciseTimer(onExpire: (wokeLateUs: number) => void): PreciseTimer {
  return new (addon().Timer)(onExpire)
}
