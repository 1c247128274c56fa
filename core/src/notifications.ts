import type { HostHooks } from './hooks/host-hooks.js'
import type { Logger } from './log.js'
import type { Clock } from './scheduler/clock.js'
import type { Notification } from './notifications-types.js'

/**
 * The notifications service (container key `notifications`).
 *
 * Publishers (VRRP, the checkers, BFD) call `publish(n)`: synchronous, O(1) apart from measuring the event, never
 * blocks and never throws. Delivery happens on later event-loop turns: the service calls
 * `hooks.notify.promise(n)` for one event at a time **per ordering key**, the key being `kind` + `name`
 * (`vrrp-instance:VI_1`, `real-server:[192.0.2.10]:tcp:80`, …). So for one instance, group or server the
 * notices reach every notifier in the order they were published — a MASTER notice never overtakes the BACKUP
 * notice before it — while a slow notifier for one instance does not hold back the notices of another.
 * There is no order between different keys (two instances' notices may interleave differently than published).
 *
 * Bounded: every queued event costs its JSON size; when the byte budget (`maxBytes`, default 1 MiB) or the item
 * cap (`maxItems`, default 10,000) would be exceeded, the new event is dropped and counted (`stats().dropped`)
 * with a rate-limited warning. The newest event is the one dropped so that what is delivered stays a prefix of
 * each key's history — gaps only at the end, never in the middle.
 *
 * Notifier taps on `hooks.notify` must enqueue and return quickly (a sync `tap`, or a `tapPromise` that resolves
 * as soon as the event is in the notifier's own bounded queue); a notifier that sends over the network does that
 * work in its own loop. A tap that throws or rejects is logged and counted (`tapErrors`); a delivery that has not
 * settled after `deliveryTimeoutMs` (default 10 s) is abandoned for the key's next event (`timeouts`), so one
 * stuck notifier cannot stop the notices of others for good.
 */
export interface NotificationsDeps {
  hooks: HostHooks
  log: Logger
  clock: Clock
}

export interface NotificationsOptions {
  /** byte budget of everything queued (JSON size of the events) */
  readonly maxBytes?: number
  /** most events queued at once */
  readonly maxItems?: number
  /** how long to wait for one hooks.notify call before moving to the key's next event */
  readonly deliveryTimeoutMs?: number
}

export interface NotificationsStats {
  readonly published: number
  readonly delivered: number
  /** refused: over the byte budget or the item cap */
  readonly dropped: number
  readonly droppedBytes: number
  /** events waiting (not yet handed to the hook) */
  readonly queued: number
  readonly queuedBytes: number
  /** keys with a delivery under way */
  readonly activeKeys: number
  readonly tapErrors: number
  readonly timeouts: number
  readonly highWaterBytes: number
}

interface KeyQueue {
  readonly key: string
  items: Notification[]
  sizes: number[]
  head: number
  running: boolean
}

export const NOTIFICATIONS_DEFAULTS = Object.freeze({ maxBytes: 1 << 20, maxItems: 10_000, deliveryTimeoutMs: 10_000 })

/** the ordering key: events with the same key are delivered in publication order */
export function notificationKey(n: Pick<Notification, 'kind' | 'name'>): string {
  return `${n.kind}:${n.name}`
}

/** the byte cost of one event in the budget (its JSON length; a fixed overhead for unserialisable ones) */
export function notificationSize(n: Notification): number {
  try {
    return 64 + JSON.stringify(n).length
  } catch {
    return 4096
  }
}

export class Notifications {
  private readonly hooks: HostHooks
  private readonly log: Logger
  private readonly clock: Clock
  private readonly maxBytes: number
  private readonly maxItems: number
  private readonly deliveryTimeoutMs: number
  private readonly queues = new Map<string, KeyQueue>()
  private queuedItems = 0
  private queuedBytes = 0
  private active = 0
  private idleWaiters: (() => void)[] = []
  private counters = { published: 0, delivered: 0, dropped: 0, droppedBytes: 0, tapErrors: 0, timeouts: 0, highWaterBytes: 0 }

  constructor(deps: NotificationsDeps, opts: NotificationsOptions = {}) {
    this.hooks = deps.hooks
    this.log = deps.log.child({ svc: 'notifications' })
    this.clock = deps.clock
    this.maxBytes = opts.maxBytes ?? NOTIFICATIONS_DEFAULTS.maxBytes
    this.maxItems = opts.maxItems ?? NOTIFICATIONS_DEFAULTS.maxItems
    this.deliveryTimeoutMs = opts.deliveryTimeoutMs ?? NOTIFICATIONS_DEFAULTS.deliveryTimeoutMs
    // its counters in the SIGUSR2 stats and the JSON dump of this process
    this.hooks.dumpStats.tap('notifications', (w, clear) => {
      const s = this.stats()
      w.section('Notifications', [
        `Published = ${s.published}`,
        `Delivered = ${s.delivered}`,
        `Dropped = ${s.dropped} (${s.droppedBytes} bytes)`,
        `Queued = ${s.queued} (${s.queuedBytes} bytes, high water ${s.highWaterBytes} of ${this.maxBytes})`,
        `Notifier errors = ${s.tapErrors}`,
        `Notifier timeouts = ${s.timeouts}`,
      ])
      if (clear) this.clearStats()
    })
    this.hooks.dumpJson.tap('notifications', (w) => w.json('notifications', this.stats()))
  }

  /** queue an event for the notifiers; returns at once (delivery happens on a later turn) */
  publish(n: Notification): void {
    this.counters.published++
    const size = notificationSize(n)
    if (this.queuedItems >= this.maxItems || this.queuedBytes + size > this.maxBytes) {
      this.counters.dropped++
      this.counters.droppedBytes += size
      this.log.limited('notifications:dropped', 'warn', `notification queue full (${this.queuedItems} events, ${this.queuedBytes} bytes): dropped ${n.kind} ${n.name} -> ${n.to}`, {
        dropped: this.counters.dropped,
      })
      return
    }
    const key = notificationKey(n)
    let q = this.queues.get(key)
    if (!q) {
      q = { key, items: [], sizes: [], head: 0, running: false }
      this.queues.set(key, q)
    }
    q.items.push(n)
    q.sizes.push(size)
    this.queuedItems++
    this.queuedBytes += size
    if (this.queuedBytes > this.counters.highWaterBytes) this.counters.highWaterBytes = this.queuedBytes
    if (!q.running) {
      q.running = true
      this.active++
      const qq = q
      this.clock.setImmediate(() => void this.pump(qq))
    }
  }

  stats(): NotificationsStats {
    return { ...this.counters, queued: this.queuedItems, queuedBytes: this.queuedBytes, activeKeys: this.active }
  }

  clearStats(): void {
    this.counters = { published: 0, delivered: 0, dropped: 0, droppedBytes: 0, tapErrors: 0, timeouts: 0, highWaterBytes: this.queuedBytes }
  }

  /** resolves once every queued event has been handed to the hook and its delivery settled (or timed out) */
  drain(): Promise<void> {
    if (this.active === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** deliver one key's events in order, one at a time */
  private async pump(q: KeyQueue): Promise<void> {
    while (q.head < q.items.length) {
      const n = q.items[q.head]
      const size = q.sizes[q.head]
      q.head++
      this.queuedItems--
      this.queuedBytes -= size
      // compact now and then so a long-lived busy key does not hold every delivered event
      if (q.head >= 64 && q.head * 2 >= q.items.length) {
        q.items = q.items.slice(q.head)
        q.sizes = q.sizes.slice(q.head)
        q.head = 0
      }
      await this.deliver(n)
    }
    this.queues.delete(q.key)
    q.running = false
    this.active--
    if (this.active === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters
      this.idleWaiters = []
      for (const r of w) r()
    }
  }

  private deliver(n: Notification): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false
      const timer = this.clock.setTimeout(() => {
        if (settled) return
        settled = true
        this.counters.timeouts++
        this.log.limited('notifications:timeout', 'warn', `a notifier did not finish ${n.kind} ${n.name} -> ${n.to} within ${this.deliveryTimeoutMs} ms; moving on`)
        resolve()
      }, this.deliveryTimeoutMs)
      const done = (err?: unknown) => {
        if (settled) return
        settled = true
        this.clock.clearTimeout(timer)
        if (err === undefined) this.counters.delivered++
        else {
          this.counters.tapErrors++
          this.log.limited('notifications:tap', 'error', `a notifier failed on ${n.kind} ${n.name} -> ${n.to}: ${err instanceof Error ? err.message : String(err)}`)
        }
        resolve()
      }
      let p: Promise<void>
      try {
        p = this.hooks.notify.promise(n)
      } catch (e) {
        done(e ?? new Error('tap threw'))
        return
      }
      p.then(
        () => done(),
        (e: unknown) => done(e ?? new Error('tap rejected')),
      )
    })
  }
}
