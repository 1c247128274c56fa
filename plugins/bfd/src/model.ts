/** The `bfd` section of the configuration model (plain JSON) and its accessor. */
import type { ConfigModel } from '@kad/core'

export const SECTION = 'bfd'

export interface BfdInstanceModel {
  name: string
  family: 4 | 6
  /** neighbor_ip / neighbour_ip (canonical text) */
  neighbor: string
  source?: string
  /** microseconds */
  minRxUs: number
  minTxUs: number
  idleTxUs: number
  multiplier: number
  passive: boolean
  multihop: boolean
  /** outgoing TTL / hop limit */
  ttl: number
  /** allowed decrease of the received TTL; 255 disables the check */
  maxHops: number
  /** default weight for track_bfd */
  weight: number
  reverse: boolean
  /** which children get the events (keepalived `vrrp` / `checker`; both when neither is given) */
  toVrrp: boolean
  toChecker: boolean
  loc: string
}

export interface TrackBfdModel {
  name: string
  /** from the track_bfd line; absent = the bfd_instance's weight */
  weight?: number
  /** absent = the bfd_instance's reverse */
  reverse?: boolean
  loc: string
}

export interface BfdSection {
  instances: BfdInstanceModel[]
  /** track_bfd entries by vrrp_instance name */
  vrrpInstances: Record<string, TrackBfdModel[]>
  /** track_bfd entries by vrrp_sync_group name */
  syncGroups: Record<string, TrackBfdModel[]>
  /** BFD_CHECK blocks: the bfd_instance names real servers use ('[ip]:port' of the real server -> names) */
  checks: Record<string, string[]>
}

export function emptySection(): BfdSection {
  return { instances: [], vrrpInstances: {}, syncGroups: {}, checks: {} }
}

/** The typed `bfd` section of a model (an empty one when the config has none). */
export function bfdSection(model: ConfigModel | undefined): BfdSection {
  const s = model?.sections?.[SECTION] as BfdSection | undefined
  return s ?? emptySection()
}

/** keepalived's defaults (bfd.h) */
export const DEFAULTS = Object.freeze({
  minRxMs: 10,
  minTxMs: 10,
  idleTxMs: 1000,
  multiplier: 5,
  ttl: 255,
  weight: 0,
})

export const LIMITS = Object.freeze({
  minRxMs: [1, 1000] as const,
  minTxMs: [1, 1000] as const,
  idleTxMs: [1000, 10000] as const,
  multiplier: [1, 10] as const,
  ttl: [1, 255] as const,
  maxHops: [0, 255] as const,
  weight: [-253, 253] as const,
  nameMax: 31,
})

/** The effective weight/reverse of one track_bfd entry. */
export function effectiveTrack(t: TrackBfdModel, inst: BfdInstanceModel | undefined): { weight: number; reverse: boolean } {
  return { weight: t.weight ?? inst?.weight ?? 0, reverse: t.reverse ?? inst?.reverse ?? false }
}

/**
 * keepalived's priority arithmetic for a tracked BFD: weight 0 means FAULT while down (while up with reverse);
 * a positive weight is added while up, a negative one subtracted while down; reverse swaps up and down.
 */
export function trackEffect(up: boolean, weight0: number, reverse: boolean): { fault: boolean; delta: number } {
  // reverse: "the priority is decreased when up and increased when down" - flip both the state and the sign
  const effectiveUp = reverse ? !up : up
  const weight = reverse ? -weight0 : weight0
  if (weight === 0) return { fault: !effectiveUp, delta: 0 }
  if (weight > 0) return { fault: false, delta: effectiveUp ? weight : 0 }
  return { fault: false, delta: effectiveUp ? 0 : weight }
}
