/**
 * Converger: runs `step` for the newest value handed to `apply()`, one run at a time. Values that arrive during a
 * run are coalesced (only the newest runs next). A step that reports failure is retried with exponential backoff
 * (min doubling to max) unless a newer value arrives first. Shared by the IPVS and nftables backends.
 */
export interface ConvergerOptions {
  readonly minBackoffMs?: number
  readonly maxBackoffMs?: number
}

export class Converger<T> {
  private latest: T | undefined
  private pending = false
  private running: Promise<void> | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private backoff: number
  private stopped = false

  /** `step` resolves true when the value is in force, false to retry later; it must not throw */
  constructor(private readonly step: (value: T) => Promise<boolean>, private readonly opts: ConvergerOptions = {}) {
    this.backoff = opts.minBackoffMs ?? 1000
  }

  apply(value: T): Promise<void> {
    this.latest = value
    this.pending = true
    if (this.running) return this.running
    this.running = (async () => {
      try {
        while (this.pending && !this.stopped) {
          const v = this.latest as T
          this.pending = false
          const ok = await this.step(v)
          if (ok) {
            // the newest value is in force: an older value's retry is moot
            this.backoff = this.opts.minBackoffMs ?? 1000
            if (this.retryTimer) clearTimeout(this.retryTimer)
            this.retryTimer = undefined
          } else this.scheduleRetry()
        }
      } finally {
        this.running = undefined
      }
    })()
    return this.running
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return
    const delay = this.backoff
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 30_000)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      // retry with the newest value (a newer one may have arrived and failed too)
      if (!this.pending && this.latest !== undefined) void this.apply(this.latest)
    }, delay)
    this.retryTimer.unref?.()
  }

  /** Stops retrying and waits for the current run. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    await this.running?.catch(() => undefined)
  }
}
