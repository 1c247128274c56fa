/**
 * track_group on static entries: keepalived watches static_ipaddress / static_routes / static_rules; one that
 * is deleted is put back, and while it cannot be restored (its interface is gone, …) every instance of its
 * track_group is in FAULT. kad follows the rtnetlink address and link events for addresses (an address deleted
 * by someone else is re-added at once, a link that (re)appears gets its static addresses back); routes and rules
 * with a track_group are re-asserted once a second (an exclusive add: EEXIST = still there, success = restored,
 * any other error = cannot be restored).
 */
import type { Logger, Scheduler, TaskHandle } from '@kad/core'
import type { Networking, RtnlEvent } from '@kad/native'
import type { KernelState } from './addresses.js'
import type { VipModel } from './model.js'

export interface StaticEntry {
  v: VipModel
  dev: string
  /** the track_group of the entry, if any */
  group?: string
}

/** a static route or rule with a track_group: `ensure` adds it if missing and says whether it is in place */
export interface TrackedStatic {
  key: string
  group: string
  ensure: () => Promise<boolean>
}

export class StaticGuard {
  private unsub?: () => void
  private poll?: TaskHandle
  private readonly brokenOther = new Set<string>()
  /** entries that could not be restored */
  readonly broken = new Set<StaticEntry>()
  private chain: Promise<void> = Promise.resolve()

  constructor(
    private readonly net: Networking,
    private readonly kernel: KernelState,
    private readonly log: Logger,
    private readonly entries: StaticEntry[],
    /** a track group's fault state changed for one entry */
    private readonly onFault: (group: string, key: string, fault: boolean) => void,
    private readonly others: TrackedStatic[] = [],
    private readonly scheduler?: Scheduler,
  ) {}

  static key(e: StaticEntry): string {
    return `static ${e.v.address}/${e.v.prefixLength} dev ${e.dev}`
  }

  /** add every entry; those of a track group that fail put the group in FAULT */
  async start(): Promise<void> {
    for (const e of this.entries) await this.restore(e)
    if (this.entries.length === 0) return
    this.unsub = this.net.rtnl.subscribe((ev: RtnlEvent) => this.onEvent(ev))
  }

  /** the track_group routes and rules: added now (after the static addresses a `via` may need), then re-asserted */
  async startRoutesAndRules(): Promise<void> {
    if (this.others.length === 0) return
    await this.checkOthers()
    this.poll = this.scheduler?.every('vrrp.static-track', 1000, () => {
      this.chain = this.chain.then(() => this.checkOthers()).catch(() => undefined)
    })
  }

  private async checkOthers(): Promise<void> {
    for (const o of this.others) {
      const ok = await o.ensure().catch(() => false)
      if (ok === !this.brokenOther.has(o.key)) continue
      if (ok) this.brokenOther.delete(o.key)
      else this.brokenOther.add(o.key)
      this.log.info(`${o.key} ${ok ? 'restored' : 'cannot be restored'}: track_group ${o.group} ${ok ? 'OK' : 'FAULT'}`)
      this.onFault(o.group, o.key, !ok)
    }
  }

  private ifname(index: number): string | undefined {
    try {
      return this.net.ifIndexToName(index)
    } catch {
      return undefined
    }
  }

  private onEvent(ev: RtnlEvent): void {
    if (ev.kind === 'address' && ev.action === 'del') {
      const dev = this.ifname(ev.address.ifindex)
      for (const e of this.entries) {
        if (e.v.address === ev.address.address && e.v.prefixLength === ev.address.prefixLength && (dev === undefined || dev === e.dev)) {
          this.log.info(`static address ${e.v.address}/${e.v.prefixLength} deleted from ${e.dev} - restoring`)
          this.queue(e)
        }
      }
    } else if (ev.kind === 'link') {
      for (const e of this.entries) if (e.dev === ev.link.name && (ev.action === 'del' || this.broken.has(e))) this.queue(e)
    } else if (ev.kind === 'resync') {
      for (const e of this.entries) this.queue(e)
    }
  }

  private queue(e: StaticEntry): void {
    this.chain = this.chain.then(() => this.restore(e)).catch(() => undefined)
  }

  private async restore(e: StaticEntry): Promise<void> {
    let ok: boolean
    try {
      // the kernel may have dropped it with its link: forget it first, then add it again
      await this.kernel.delVip(e.v, e.dev).catch(() => undefined)
      ok = await this.kernel.addVip(e.v, e.dev, false)
    } catch {
      ok = false
    }
    const was = this.broken.has(e)
    if (ok) this.broken.delete(e)
    else this.broken.add(e)
    if (was !== !ok && e.group) {
      this.log.info(`static address ${e.v.address} on ${e.dev} ${ok ? 'restored' : 'cannot be restored'}: track_group ${e.group} ${ok ? 'OK' : 'FAULT'}`)
      this.onFault(e.group, StaticGuard.key(e), !ok)
    } else if (!ok && !was && !e.group) this.log.warn(`static address ${e.v.address} on ${e.dev} cannot be restored`)
  }

  async flush(): Promise<void> {
    await this.chain
  }

  stop(): void {
    this.unsub?.()
    this.unsub = undefined
    this.poll?.cancel()
    this.poll = undefined
  }
}
