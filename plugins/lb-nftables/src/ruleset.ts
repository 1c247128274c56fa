/**
 * DesiredTopology -> an nftables table (inet family) that load-balances NAT-mode virtual servers. Pure.
 *
 * Per virtual server: one named map from a slot number to a backend (address, or address . port), with one
 * interval per backend whose width is the backend's weight, and one rule in the nat prerouting and output chains:
 *
 *   ip daddr VIP meta l4proto tcp th dport PORT dnat ip to numgen inc mod SUM map @vs_…     (rr, wrr)
 *   … dnat ip to numgen random mod SUM map @vs_…                                           (other schedulers)
 *   … dnat ip to jhash ip saddr mod SUM seed 0x6b6164 map @vs_…                             (sh, mh, persistence)
 *   meta mark 1 meta nfproto ipv4 dnat ip to …                                              (fwmark services)
 *
 * Only NAT is expressible: DR and TUN real servers are skipped and reported.
 */
import { isIPv4, isIPv6 } from 'node:net'
import type { DesiredTopology, DesiredVirtualServer } from '@kad/core'

export const TABLE = 'kad'
export const HASH_SEED = 0x6b6164

export type Selector = 'inc' | 'random' | 'jhash'

export interface NftBackend {
  readonly address: string
  readonly port: number
  readonly weight: number
}

export interface NftService {
  /** the DesiredVirtualServer id */
  readonly id: string
  readonly mapName: string
  readonly family: 4 | 6
  /** '' for fwmark services */
  readonly protocol: '' | 'tcp' | 'udp' | 'sctp'
  readonly address?: string
  readonly port?: number
  readonly fwmark?: number
  readonly selector: Selector
  /** the map's value is address . port (else address only) */
  readonly withPort: boolean
  /** weight > 0, in topology order */
  readonly backends: readonly NftBackend[]
}

export type NftPlan = ReadonlyMap<string, NftService>

export function selectorFor(vs: DesiredVirtualServer): Selector {
  if (vs.persistence || vs.scheduler === 'sh' || vs.scheduler === 'mh' || vs.scheduler === 'dh') return 'jhash'
  if (vs.scheduler === 'rr' || vs.scheduler === 'wrr') return 'inc'
  return 'random'
}

/** A map name from the service id: letters, digits and '_' only; the suffix says the map's value type. */
export function mapNameOf(id: string, family: 4 | 6, withPort: boolean): string {
  // FNV-1a of the raw id keeps ids that sanitise alike ('a-b', 'a_b') apart
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0
  const base = id.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 180)
  return `vs${family}_${base}_${h.toString(16).padStart(8, '0')}_${withPort ? 'ap' : 'a'}`
}

export function planNft(t: DesiredTopology, skipped?: (id: string, reason: string) => void): Map<string, NftService> {
  const out = new Map<string, NftService>()
  for (const vs of t.virtualServers) {
    const ok = (a: string | undefined, f: 4 | 6): a is string => a !== undefined && (f === 4 ? isIPv4(a) : isIPv6(a))
    if (vs.fwmark === undefined && !ok(vs.address, vs.family)) { skipped?.(vs.id, 'no valid virtual address'); continue }
    const backends: NftBackend[] = []
    for (const rs of vs.realServers) {
      if (rs.method !== 'NAT') { skipped?.(`${vs.id} ${rs.id}`, `${rs.method} forwarding cannot be expressed in nftables (NAT only)`); continue }
      if (rs.family !== vs.family || !ok(rs.address, rs.family)) { skipped?.(`${vs.id} ${rs.id}`, 'real server address of another family or invalid'); continue }
      const port = Number.isInteger(rs.port) && rs.port >= 0 && rs.port <= 65535 ? rs.port : 0
      const weight = Math.max(0, Math.floor(rs.weight))
      if (weight > 0) backends.push({ address: rs.address, port, weight })
    }
    // fwmark services keep the client's destination port (nft can only map a port after a protocol match)
    const withPort = vs.fwmark === undefined && (backends.some((b) => b.port !== 0) || (vs.port !== undefined && vs.port !== 0))
    const protocol = vs.fwmark !== undefined ? '' : vs.protocol === 'UDP' ? 'udp' : vs.protocol === 'SCTP' ? 'sctp' : 'tcp'
    out.set(vs.id, {
      id: vs.id,
      mapName: mapNameOf(vs.id, vs.family, withPort),
      family: vs.family,
      protocol,
      ...(vs.fwmark !== undefined ? { fwmark: vs.fwmark } : { address: vs.address, port: vs.port ?? 0 }),
      selector: selectorFor(vs),
      withPort,
      // a backend without a port keeps the virtual port
      backends: backends.map((b) => (withPort && b.port === 0 ? { ...b, port: vs.port ?? 0 } : b)),
    })
  }
  return out
}

const ipk = (f: 4 | 6): string => (f === 4 ? 'ip' : 'ip6')

export function totalWeight(s: NftService): number {
  return s.backends.reduce((n, b) => n + b.weight, 0)
}

function mapDecl(s: NftService): string {
  return `typeof numgen inc mod 1 : ${ipk(s.family)} daddr${s.withPort ? ` . ${s.protocol || 'th'} dport` : ''}; flags interval;`
}

function elements(s: NftService): string[] {
  let at = 0
  return s.backends.map((b) => {
    const lo = at
    at += b.weight
    const value = s.withPort ? `${b.address} . ${b.port}` : b.address
    return `${lo}-${at - 1} : ${value}`
  })
}

export function ruleOf(s: NftService): string | undefined {
  const sum = totalWeight(s)
  if (sum === 0) return undefined
  const ip = ipk(s.family)
  const match = s.fwmark !== undefined
    ? `meta mark ${s.fwmark >>> 0} meta nfproto ${s.family === 4 ? 'ipv4' : 'ipv6'}`
    : `${ip} daddr ${s.address} meta l4proto ${s.protocol} th dport ${s.port}`
  const key = s.selector === 'jhash' ? `jhash ${ip} saddr mod ${sum} seed 0x${HASH_SEED.toString(16)}` : `numgen ${s.selector} mod ${sum}`
  return `${match} dnat ${ip} to ${key} map @${s.mapName}`
}

const sameService = (a: NftService, b: NftService): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * One nft batch (text, for `nft -f -`) that turns `prev` into `next` atomically. With `prev` undefined the table is
 * replaced as a whole (add + delete + add in one transaction), which also removes leftovers of an earlier run.
 * Unchanged services keep their maps untouched; the chains are rebuilt (cheap, and conntrack keeps established
 * NAT bindings).
 */
export function buildBatch(prev: NftPlan | undefined, next: NftPlan, table = TABLE): string {
  const L: string[] = []
  const T = `inet ${table}`
  L.push(`add table ${T}`)
  if (!prev) L.push(`delete table ${T}`, `add table ${T}`)
  L.push(`add chain ${T} prerouting { type nat hook prerouting priority dstnat; policy accept; }`)
  L.push(`add chain ${T} output { type nat hook output priority -100; policy accept; }`)
  L.push(`flush chain ${T} prerouting`, `flush chain ${T} output`)
  const prevByMap = new Map([...(prev?.values() ?? [])].map((s) => [s.mapName, s]))
  for (const s of next.values()) {
    const old = prevByMap.get(s.mapName)
    if (old && sameService(old, s)) continue
    if (!old) L.push(`add map ${T} ${s.mapName} { ${mapDecl(s)} }`)
    else L.push(`flush map ${T} ${s.mapName}`)
    const el = elements(s)
    if (el.length) L.push(`add element ${T} ${s.mapName} { ${el.join(', ')} }`)
  }
  for (const s of next.values()) {
    const r = ruleOf(s)
    if (r) L.push(`add rule ${T} prerouting ${r}`, `add rule ${T} output ${r}`)
  }
  const nextMaps = new Set([...next.values()].map((s) => s.mapName))
  for (const m of prevByMap.keys()) if (!nextMaps.has(m)) L.push(`delete map ${T} ${m}`)
  return L.join('\n') + '\n'
}

export function deleteTableBatch(table = TABLE): string {
  return `add table inet ${table}\ndelete table inet ${table}\n`
}
