/**
 * DesiredTopology (what the checkers decided) -> the IPVS services and destinations to program. Pure.
 */
import type { DesiredRealServer, DesiredTopology, DesiredVirtualServer } from '@kad/core'
import {
  canonicalAddr, FWD, PROTO, serviceKey, SVC_F, TUN_FLAG, TUN_TYPE, destKey, type Family, type IpvsDest, type IpvsService,
} from './codec/ipvs.js'

/** Every scheduler the kernel ships (twos since Linux 6.7). */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const

/** keepalived's scheduler flag words -> IP_VS_SVC_F_* bits. sh-* / mh-* are the named aliases of flag-1 / flag-2. */
export const SCHED_FLAG_BITS: Readonly<Record<string, number>> = {
  'flag-1': SVC_F.SCHED1, 'flag-2': SVC_F.SCHED2, 'flag-3': SVC_F.SCHED3,
  'sh-fallback': SVC_F.SCHED1, 'sh-port': SVC_F.SCHED2,
  'mh-fallback': SVC_F.SCHED1, 'mh-port': SVC_F.SCHED2,
  ops: SVC_F.ONEPACKET, hashed: SVC_F.HASHED,
}

/** What kad wants one kernel service to look like. */
export interface ServicePlan {
  readonly key: string
  readonly service: IpvsService
  /** by destKey */
  readonly dests: ReadonlyMap<string, IpvsDest>
}

export type Plan = ReadonlyMap<string, ServicePlan>

/** A persistence granularity as IPVS wants it: the IPv4 mask value, or the IPv6 prefix length. */
export function netmaskOf(af: Family, granularity: string | undefined): number {
  if (granularity === undefined || granularity === '') return af === 4 ? 0xffffffff : 128
  if (af === 6) {
    const n = Number(granularity.replace(/^\//, ''))
    return Number.isInteger(n) && n >= 1 && n <= 128 ? n : 128
  }
  if (/^\d+$/.test(granularity)) {
    const n = Number(granularity)
    return n >= 32 ? 0xffffffff : n <= 0 ? 0 : ~(0xffffffff >>> n) >>> 0
  }
  const o = granularity.split('.').map(Number)
  if (o.length !== 4 || o.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return 0xffffffff
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0
}

export function serviceOf(vs: DesiredVirtualServer): IpvsService {
  let flags = 0
  for (const f of vs.schedulerFlags) flags |= SCHED_FLAG_BITS[f] ?? 0
  const p = vs.persistence
  if (p) flags |= SVC_F.PERSISTENT
  const common = {
    af: vs.family,
    scheduler: vs.scheduler,
    flags,
    timeout: p ? p.timeout : 0,
    netmask: netmaskOf(vs.family, p?.granularity),
    ...(p?.engine ? { peName: p.engine } : {}),
  }
  if (vs.fwmark !== undefined && vs.fwmark > 0) return { ...common, protocol: 0, fwmark: vs.fwmark }
  return { ...common, protocol: PROTO[vs.protocol ?? 'TCP'], address: canonicalAddr(vs.family, vs.address ?? (vs.family === 4 ? '0.0.0.0' : '::')), port: vs.port ?? 0 }
}

export function destOf(rs: DesiredRealServer): IpvsDest {
  const fwdMethod = rs.method === 'DR' ? FWD.DROUTE : rs.method === 'TUN' ? FWD.TUNNEL : FWD.MASQ
  const tun = rs.method === 'TUN' && rs.tunnel
    ? { tunType: TUN_TYPE[rs.tunnel.type], tunPort: rs.tunnel.type === 'gue' ? rs.tunnel.port ?? 0 : 0, tunFlags: TUN_FLAG[rs.tunnel.checksum ?? 'nocsum'] }
    : { tunType: 0, tunPort: 0, tunFlags: 0 }
  return {
    af: rs.family,
    address: canonicalAddr(rs.family, rs.address),
    port: rs.port,
    fwdMethod,
    weight: Math.max(0, rs.weight),
    uThreshold: rs.uthreshold ?? 0,
    lThreshold: rs.lthreshold ?? 0,
    ...tun,
  }
}

/** Builds the plan; invalid entries (bad addresses) are reported through `bad` and skipped, never thrown. */
export function planOf(topology: DesiredTopology, bad?: (vsId: string, reason: string) => void): Map<string, ServicePlan> {
  const out = new Map<string, ServicePlan>()
  for (const vs of topology.virtualServers) {
    let service: IpvsService
    try {
      service = serviceOf(vs)
    } catch (e) {
      bad?.(vs.id, (e as Error).message)
      continue
    }
    const key = serviceKey(service)
    const dests = new Map<string, IpvsDest>()
    for (const rs of vs.realServers) {
      try {
        const d = destOf(rs)
        dests.set(destKey(d), d)
      } catch (e) {
        bad?.(`${vs.id} ${rs.id}`, (e as Error).message)
      }
    }
    out.set(key, { key, service, dests })
  }
  return out
}

/** Whether two virtual servers program the same kernel state (field by field, no allocation). */
export function sameVirtualServer(a: DesiredVirtualServer, b: DesiredVirtualServer): boolean {
  if (a === b) return true
  if (a.family !== b.family || a.protocol !== b.protocol || a.address !== b.address || a.port !== b.port || a.fwmark !== b.fwmark || a.scheduler !== b.scheduler) return false
  if (a.schedulerFlags.length !== b.schedulerFlags.length || a.schedulerFlags.some((f, i) => f !== b.schedulerFlags[i])) return false
  const pa = a.persistence
  const pb = b.persistence
  if (pa !== pb && (!pa || !pb || pa.timeout !== pb.timeout || pa.granularity !== pb.granularity || pa.engine !== pb.engine)) return false
  const ra = a.realServers
  const rb = b.realServers
  if (ra.length !== rb.length) return false
  for (let i = 0; i < ra.length; i++) {
    const x = ra[i]
    const y = rb[i]
    if (x === y) continue
    if (x.address !== y.address || x.port !== y.port || x.weight !== y.weight || x.method !== y.method || x.family !== y.family || x.uthreshold !== y.uthreshold || x.lthreshold !== y.lthreshold) return false
    const tx = x.tunnel
    const ty = y.tunnel
    if (tx !== ty && (!tx || !ty || tx.type !== ty.type || tx.port !== ty.port || tx.checksum !== ty.checksum)) return false
  }
  return true
}

interface CachedVs {
  obj: DesiredVirtualServer
  plan: ServicePlan | undefined
  seen: number
}

/**
 * Plans topology after topology, re-planning only the virtual servers that changed (compared field by field with
 * the previous topology's), so a single weight change costs a scan of plain fields, not O(real servers) address
 * parsing and kernel diffing. The plan map is updated in place (no per-call allocation for unchanged entries).
 * `changed` holds the service keys whose plan changed (added, edited, or removed).
 */
export class IncrementalPlanner {
  private readonly cache = new Map<string, CachedVs>()
  private readonly current = new Map<string, ServicePlan>()
  private round = 0

  update(t: DesiredTopology, bad?: (vsId: string, reason: string) => void): { plan: Map<string, ServicePlan>; changed: Set<string> } {
    const round = ++this.round
    const changed = new Set<string>()
    for (const vs of t.virtualServers) {
      const old = this.cache.get(vs.id)
      if (old && sameVirtualServer(old.obj, vs)) {
        old.obj = vs
        old.seen = round
        continue
      }
      const plan: ServicePlan | undefined = planOf({ generation: t.generation, virtualServers: [vs] }, bad).values().next().value
      if (old?.plan) {
        changed.add(old.plan.key)
        this.current.delete(old.plan.key)
      }
      if (plan) {
        changed.add(plan.key)
        this.current.set(plan.key, plan)
      }
      this.cache.set(vs.id, { obj: vs, plan, seen: round })
    }
    for (const [id, e] of this.cache) {
      if (e.seen === round) continue
      this.cache.delete(id)
      if (e.plan) {
        changed.add(e.plan.key)
        this.current.delete(e.plan.key)
      }
    }
    return { plan: this.current, changed }
  }

  get plan(): ReadonlyMap<string, ServicePlan> {
    return this.current
  }
}
