/**
 * Gratuitous ARP / unsolicited NA pacing as keepalived: `vrrp_garp_interval` / `vrrp_gna_interval` are the
 * minimum gap between two such messages on one interface (whichever instance sends them), and a `garp_group`
 * applies its own intervals to an interface, or aggregates them over a group of interfaces on one switch.
 * Interfaces in no group inherit the globals. Pure: the caller passes the time and sleeps for what it gets.
 */
export interface GarpIntervals {
  /** seconds */
  garpInterval?: number
  gnaInterval?: number
}

export class GarpPacer {
  /** pacing key (group or interface, family) -> earliest time of the next message (ms) */
  private readonly next = new Map<string, number>()
  private readonly groupOf = new Map<string, number>()

  constructor(private readonly globals: GarpIntervals, private readonly groups: (GarpIntervals & { interfaces: string[] })[] = []) {
    groups.forEach((g, i) => g.interfaces.forEach((name) => this.groupOf.has(name) || this.groupOf.set(name, i)))
  }

  /** the interval (ms) and the key whose messages share it */
  intervalFor(ifname: string, family: 4 | 6): { key: string; ms: number } {
    const gi = this.groupOf.get(ifname)
    const src = gi === undefined ? this.globals : this.groups[gi]
    const secs = family === 4 ? src.garpInterval : src.gnaInterval
    return { key: `${gi === undefined ? `if:${ifname}` : `group:${gi}`}/${family}`, ms: (secs ?? 0) * 1000 }
  }

  /** book the next slot for a message on ifname at or after `now`; returns how long to wait before sending (ms) */
  reserve(ifname: string, family: 4 | 6, now: number): number {
    const { key, ms } = this.intervalFor(ifname, family)
    if (ms <= 0) return 0
    const at = Math.max(now, this.next.get(key) ?? now)
    this.next.set(key, at + ms)
    return at - now
  }

  /** a message actually left at `now` (later than its slot when the send itself was slow): the gap counts from here */
  sent(ifname: string, family: 4 | 6, now: number): void {
    const { key, ms } = this.intervalFor(ifname, family)
    if (ms > 0) this.next.set(key, Math.max(this.next.get(key) ?? 0, now + ms))
  }
}

/**
 * garp_extra_if: which VIPs/eVIPs get periodic GARP/NA — those on a device other than the instance's own
 * interface (whose MAC the adverts keep in the switches' caches); by default only those configured with
 * `use_vmac`, with `all` every one of them.
 */
export function extraGarpVips<V extends { dev: string; useVmac: boolean }>(vips: V[], instanceIf: string, all: boolean): V[] {
  return vips.filter((v) => v.dev && v.dev !== instanceIf && (all || v.useVmac))
}
