/**
 * The reconciler: which IPVS commands turn the kernel's table into the plan. Pure.
 *
 * Rules:
 * - a service in the plan that the kernel lacks is added with all its destinations;
 * - a service the kernel has is edited (SET_SERVICE) only if its scheduler, flags, persistence or engine differ,
 *   and its destinations are diffed one by one (add / edit / delete), so unchanged entries and their connections
 *   stay untouched;
 * - a service that is not in the plan is deleted only if kad owns it (it was in an earlier plan); services added
 *   by hand to unrelated addresses are never touched.
 */
import { destKey, IPVS_CMD, SVC_F, type IpvsDest, type IpvsService, type IpvsServiceKey } from './codec/ipvs.js'
import type { Plan, ServicePlan } from './model.js'

export interface KernelService {
  readonly service: IpvsService
  readonly dests: ReadonlyMap<string, IpvsDest>
}
export type KernelTable = ReadonlyMap<string, KernelService>

export type Op =
  | { readonly cmd: typeof IPVS_CMD.NEW_SERVICE | typeof IPVS_CMD.SET_SERVICE; readonly key: string; readonly service: IpvsService }
  | { readonly cmd: typeof IPVS_CMD.DEL_SERVICE; readonly key: string; readonly service: IpvsServiceKey }
  | { readonly cmd: typeof IPVS_CMD.NEW_DEST | typeof IPVS_CMD.SET_DEST | typeof IPVS_CMD.DEL_DEST; readonly key: string; readonly service: IpvsServiceKey; readonly dest: IpvsDest }

/** Flags the kernel sets by itself and that do not describe the configuration. */
const IGNORED_FLAGS = SVC_F.HASHED

export function sameService(a: IpvsService, b: IpvsService): boolean {
  return (
    a.scheduler === b.scheduler &&
    (a.flags & ~IGNORED_FLAGS) === (b.flags & ~IGNORED_FLAGS) &&
    a.timeout === b.timeout &&
    (!(a.flags & SVC_F.PERSISTENT) || a.netmask === b.netmask) &&
    (a.peName ?? '') === (b.peName ?? '')
  )
}

export function sameDest(a: IpvsDest, b: IpvsDest): boolean {
  const tun = a.fwdMethod === 2
  return (
    a.fwdMethod === b.fwdMethod &&
    a.weight === b.weight &&
    a.uThreshold === b.uThreshold &&
    a.lThreshold === b.lThreshold &&
    (!tun || ((a.tunType ?? 0) === (b.tunType ?? 0) && (a.tunPort ?? 0) === (b.tunPort ?? 0) && (a.tunFlags ?? 0) === (b.tunFlags ?? 0)))
  )
}

function keyOf(s: IpvsService): IpvsServiceKey {
  return s.fwmark ? { af: s.af, protocol: 0, fwmark: s.fwmark } : { af: s.af, protocol: s.protocol, address: s.address, port: s.port }
}

/** Commands for one service present in both the plan and the kernel. */
export function diffService(want: ServicePlan, have: KernelService | undefined): Op[] {
  const ops: Op[] = []
  const k = keyOf(want.service)
  if (!have) {
    ops.push({ cmd: IPVS_CMD.NEW_SERVICE, key: want.key, service: want.service })
    for (const d of want.dests.values()) ops.push({ cmd: IPVS_CMD.NEW_DEST, key: want.key, service: k, dest: d })
    return ops
  }
  if (!sameService(want.service, have.service)) ops.push({ cmd: IPVS_CMD.SET_SERVICE, key: want.key, service: want.service })
  for (const [dk, d] of have.dests) if (!want.dests.has(dk)) ops.push({ cmd: IPVS_CMD.DEL_DEST, key: want.key, service: k, dest: d })
  for (const [dk, d] of want.dests) {
    const cur = have.dests.get(dk)
    if (!cur) ops.push({ cmd: IPVS_CMD.NEW_DEST, key: want.key, service: k, dest: d })
    else if (!sameDest(d, cur)) ops.push({ cmd: IPVS_CMD.SET_DEST, key: want.key, service: k, dest: d })
  }
  return ops
}

/**
 * Commands that converge `kernel` to `plan`. `owned` are the services kad programmed before (deleted when they
 * leave the plan). With `only`, just those service keys are compared (the rest is known to be unchanged). Order: service edits and additions, destination changes, then deletions of whole services.
 */
export function reconcile(plan: Plan, kernel: KernelTable, owned: ReadonlySet<string>, only?: ReadonlySet<string>): Op[] {
  const ops: Op[] = []
  if (only) {
    for (const key of only) {
      const want = plan.get(key)
      if (want) ops.push(...diffService(want, kernel.get(key)))
    }
  } else for (const [key, want] of plan) ops.push(...diffService(want, kernel.get(key)))
  for (const key of only ?? owned) {
    if (plan.has(key) || !owned.has(key)) continue
    const have = kernel.get(key)
    if (have) ops.push({ cmd: IPVS_CMD.DEL_SERVICE, key, service: keyOf(have.service) })
  }
  return ops
}

/** The kernel table after `op` succeeded (used to keep kad's view without reading the kernel back). */
export function applyOp(table: Map<string, KernelService>, op: Op): void {
  switch (op.cmd) {
    case IPVS_CMD.NEW_SERVICE:
      table.set(op.key, { service: op.service, dests: new Map() })
      return
    case IPVS_CMD.SET_SERVICE: {
      const cur = table.get(op.key)
      table.set(op.key, { service: op.service, dests: cur?.dests ?? new Map() })
      return
    }
    case IPVS_CMD.DEL_SERVICE:
      table.delete(op.key)
      return
    default: {
      const cur = table.get(op.key)
      if (!cur) return
      const dests = new Map(cur.dests)
      if (op.cmd === IPVS_CMD.DEL_DEST) dests.delete(destKey(op.dest))
      else dests.set(destKey(op.dest), op.dest)
      table.set(op.key, { service: cur.service, dests })
    }
  }
}
