/**
 * `bfd_instance NAME { … }` (top level), `track_bfd { … }` inside vrrp_instance and vrrp_sync_group, and
 * `BFD_CHECK { name NAME }` inside virtual_server/real_server, with keepalived 2.2.7's defaults and messages.
 */
import { isIP } from 'node:net'
import type { BlockBuilder, ConfigModel, DiagnosticSink, KeywordContext, KeywordRegistrar, RootTarget } from '@kad/core'
import { parseLoc } from '@kad/core/plugin'
import { DEFAULTS, LIMITS, SECTION, emptySection, type BfdInstanceModel, type BfdSection, type TrackBfdModel } from './model.js'
import { BFD_SCHEMA } from './schema.js'

function locOf(k: KeywordContext): string {
  return `${k.loc.file}:${k.loc.line}`
}

function section(k: KeywordContext): BfdSection {
  return k.section<BfdSection>(SECTION, emptySection)
}

export function canonicalIp(ip: string): string | undefined {
  const fam = isIP(ip)
  if (fam === 4) return ip
  if (fam !== 6) return undefined
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
  } catch {
    return undefined
  }
}

/** milliseconds with up to 3 decimals (keepalived's microsecond resolution) -> microseconds */
function readMs(k: KeywordContext, inst: Draft, what: string, [min, max]: readonly [number, number]): number | undefined {
  const s = k.string(0, what)
  if (s === undefined) return undefined
  if (!/^\d+(\.\d{1,3})?$/.test(s) || Number(s) < min || Number(s) > max) {
    k.error(`Configuration error: BFD instance ${inst.name} ${what} value ${s} is not valid (must be in range [${min}-${max}]), ignoring`)
    return undefined
  }
  return Math.round(Number(s) * 1000)
}

function readInt(k: KeywordContext, inst: Draft, what: string, [min, max]: readonly [number, number], verb = 'is not valid'): number | undefined {
  const s = k.string(0, what)
  if (s === undefined) return undefined
  if (!/^-?\d+$/.test(s) || Number(s) < min || Number(s) > max) {
    k.error(`Configuration error: BFD instance ${inst.name} ${what} value ${s} ${verb} (must be in range [${min}-${max}]), ignoring`)
    return undefined
  }
  return Number(s)
}

interface Draft {
  name: string
  neighborWord: 'neighbor' | 'neighbour'
  neighbor?: string
  neighborFamily?: 4 | 6
  source?: string
  sourceFamily?: 4 | 6
  minRxUs: number
  minTxUs: number
  idleTxUs: number
  multiplier: number
  passive: boolean
  multihop: boolean
  ttl?: number
  maxHops?: number
  weight: number
  reverse: boolean
  vrrp: boolean
  checker: boolean
  skip: boolean
  loc: string
}

function neighborKeyword(k: KeywordContext, d: Draft): void {
  if (k.keyword === 'neighbour_ip') d.neighborWord = 'neighbour'
  const s = k.string(0, 'address')
  if (s === undefined) return
  const ip = canonicalIp(s)
  if (!ip) {
    k.error(`Configuration error: BFD instance ${d.name} has malformed ${d.neighborWord} address ${s}, ignoring instance`)
    d.skip = true
    return
  }
  d.neighbor = ip
  d.neighborFamily = isIP(ip) as 4 | 6
}

function bfdInstanceChildren(b: BlockBuilder<Draft>): void {
  b.keyword('neighbor_ip', neighborKeyword)
    .keyword('neighbour_ip', neighborKeyword)
    .keyword('source_ip', (k, d) => {
      const s = k.string(0, 'address')
      if (s === undefined) return
      const ip = canonicalIp(s)
      if (!ip) {
        k.error(`Configuration error: BFD instance ${d.name} has malformed source address ${s}, ignoring`)
        return
      }
      d.source = ip
      d.sourceFamily = isIP(ip) as 4 | 6
    })
    .keyword('min_rx', (k, d) => {
      const v = readMs(k, d, 'min_rx', LIMITS.minRxMs)
      if (v !== undefined) d.minRxUs = v
    })
    .keyword('min_tx', (k, d) => {
      const v = readMs(k, d, 'min_tx', LIMITS.minTxMs)
      if (v !== undefined) d.minTxUs = v
    })
    .keyword('idle_tx', (k, d) => {
      const v = readMs(k, d, 'idle_tx', LIMITS.idleTxMs)
      if (v !== undefined) d.idleTxUs = v
    })
    .keyword('multiplier', (k, d) => {
      const v = readInt(k, d, 'multiplier', LIMITS.multiplier, 'not valid')
      if (v !== undefined) d.multiplier = v
    })
    .keyword('passive', (_k, d) => {
      d.passive = true
    })
    .keyword('multihop', (k, d) => {
      const v = k.bool(0)
      if (v !== undefined) d.multihop = v
    })
    .keyword('ttl', ttlKeyword)
    .keyword('hoplimit', ttlKeyword)
    .keyword('max_hops', (k, d) => {
      const v = readInt(k, d, 'max_hops', LIMITS.maxHops, 'not valid')
      if (v !== undefined) d.maxHops = v
    })
    .keyword('weight', (k, d) => {
      const v = readInt(k, d, 'weight', LIMITS.weight, 'not valid')
      if (v !== undefined) d.weight = v
      const r = k.args[1]
      if (r === 'reverse') d.reverse = true
      else if (r === 'noreverse') d.reverse = false
      else if (r !== undefined) k.error(`Configuration error: BFD instance ${d.name} unknown weight option ${r}`)
    })
    .keyword('vrrp', (_k, d) => {
      d.vrrp = true
    })
    .keyword('checker', (_k, d) => {
      d.checker = true
    })
}

function ttlKeyword(k: KeywordContext, d: Draft): void {
  const v = readInt(k, d, 'ttl/hoplimit', LIMITS.ttl, 'not valid')
  if (v !== undefined) d.ttl = v
}

function closeInstance(k: KeywordContext, d: Draft): void {
  if (d.skip) return
  const sec = section(k)
  if (!d.neighbor) {
    k.error(`Configuration error: BFD instance ${d.name} has no ${d.neighborWord} address set, disabling instance`)
    return
  }
  if (d.source && d.sourceFamily !== d.neighborFamily) {
    k.error(`Configuration error: BFD instance ${d.name} source address ${d.source} and ${d.neighborWord} address ${d.neighbor} are not of the same family, disabling instance`)
    return
  }
  if (sec.instances.some((i) => i.neighbor === d.neighbor && i.multihop === d.multihop && (i.source ?? '') === (d.source ?? ''))) {
    k.error(`Configuration error: BFD instance ${d.name} has duplicate ${d.neighborWord} address ${d.neighbor}, ignoring instance`)
    return
  }
  // RFC 5881/5883: single-hop packets go out with TTL 255 (keepalived: ttl 255 for IPv4, hoplimit 64 for IPv6 -
  // kad uses 255 for both, which RFC 5881 requires and FRR checks)
  const ttl = d.ttl ?? DEFAULTS.ttl
  let maxHops = d.maxHops ?? (d.multihop ? 255 : 0)
  if (maxHops !== 255 && maxHops > ttl) {
    k.error(`BFD instance ${d.name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit`)
    maxHops = ttl
  }
  if (d.passive && d.minTxUs === 0) k.warn(`BFD instance ${d.name}: passive with min_tx 0`)
  const inst: BfdInstanceModel = {
    name: d.name,
    family: d.neighborFamily!,
    neighbor: d.neighbor,
    ...(d.source ? { source: d.source } : {}),
    minRxUs: d.minRxUs,
    minTxUs: d.minTxUs,
    idleTxUs: d.idleTxUs,
    multiplier: d.multiplier,
    passive: d.passive,
    multihop: d.multihop,
    ttl,
    maxHops,
    weight: d.weight,
    reverse: d.reverse,
    toVrrp: d.vrrp || !d.checker,
    toChecker: d.checker || !d.vrrp,
    loc: d.loc,
  }
  sec.instances.push(inst)
}

/** the track_bfd block: `NAME [weight N] [reverse|noreverse]` per line */
function trackBfdLine(k: KeywordContext, list: TrackBfdModel[], owner: string): void {
  const name = k.keyword
  if (list.some((t) => t.name === name)) {
    k.error(`(${owner}) track_bfd ${name} specified more than once - ignoring`)
    return
  }
  const t: TrackBfdModel = { name, loc: locOf(k) }
  for (let i = 0; i < k.args.length; i++) {
    const w = k.args[i]
    if (w === 'weight') {
      const s = k.args[i + 1]
      i++
      if (s === undefined || !/^-?\d+$/.test(s) || Number(s) < LIMITS.weight[0] || Number(s) > LIMITS.weight[1]) {
        k.error(`(${owner}) track_bfd ${name} weight ${s ?? ''} must be in range [${LIMITS.weight[0]}, ${LIMITS.weight[1]}] - ignoring`)
        continue
      }
      t.weight = Number(s)
    } else if (w === 'reverse') t.reverse = true
    else if (w === 'noreverse') t.reverse = false
    else k.error(`(${owner}) track_bfd ${name} option ${w} not valid - ignoring`)
  }
  list.push(t)
}

interface NamedParent {
  name?: string
  trackBfd?: unknown
}

function trackBfdBlock(kind: 'vrrpInstances' | 'syncGroups') {
  return {
    open: (k: KeywordContext, parent: NamedParent): { list: TrackBfdModel[]; owner: string } => {
      const owner = parent?.name ?? '?'
      const sec = section(k)
      const list = (sec[kind][owner] ??= [])
      return { list, owner }
    },
    lines: (k: KeywordContext, self: { list: TrackBfdModel[]; owner: string }) => trackBfdLine(k, self.list, self.owner),
    close: (_k: KeywordContext, self: { list: TrackBfdModel[] }, parent: NamedParent) => {
      // if the VRRP plugin keeps a trackBfd array on its instance, give it the entries too
      if (parent && Array.isArray(parent.trackBfd)) for (const t of self.list) (parent.trackBfd as TrackBfdModel[]).push({ ...t })
    },
  }
}

/** Minimal shape of the checkers plugin's real server and checker block (plugins/checkers/src/model.ts). */
interface RealServerLike {
  address?: string
  port?: number
  family?: 4 | 6
  checkers?: { type: string; common: Record<string, unknown>; options: Record<string, unknown>; loc: string }[]
}

function rsKey(rs: RealServerLike): string {
  return `[${rs.address ?? ''}]:${rs.port ?? 0}`
}

export interface InstallResult {
  /** paths that could not be extended (their owner plugin is missing) */
  missing: string[]
}

/** Install every keyword; extensions of other plugins' blocks that fail are reported, not fatal. */
export function installKeywords(kw: KeywordRegistrar): InstallResult {
  const missing: string[] = []
  kw.root.block<Draft>('bfd_instance', {
    open: (k, _root: RootTarget) => {
      const name = k.string(0, 'name') ?? ''
      const d: Draft = {
        name,
        neighborWord: 'neighbor',
        minRxUs: DEFAULTS.minRxMs * 1000,
        minTxUs: DEFAULTS.minTxMs * 1000,
        idleTxUs: DEFAULTS.idleTxMs * 1000,
        multiplier: DEFAULTS.multiplier,
        passive: false,
        multihop: false,
        weight: DEFAULTS.weight,
        reverse: false,
        vrrp: false,
        checker: false,
        skip: false,
        loc: locOf(k),
      }
      const sec = section(k)
      if (name.length > LIMITS.nameMax) {
        k.error(`Configuration error: BFD instance ${name} name too long (maximum length is ${LIMITS.nameMax} characters) - ignoring`)
        d.skip = true
      } else if (sec.instances.some((i) => i.name === name)) {
        k.error(`Configuration error: BFD instance ${name} already configured - ignoring`)
        d.skip = true
      }
      return d
    },
    children: bfdInstanceChildren,
    close: (k, d) => closeInstance(k, d),
  })
  kw.schema(SECTION, BFD_SCHEMA)

  const tryExtend = (path: string, fn: (b: BlockBuilder<any>) => void) => {
    try {
      kw.extend(path, fn)
    } catch {
      missing.push(path)
    }
  }
  tryExtend('vrrp_instance', (b) => b.block('track_bfd', trackBfdBlock('vrrpInstances')))
  tryExtend('vrrp_sync_group', (b) => b.block('track_bfd', trackBfdBlock('syncGroups')))
  tryExtend('virtual_server/real_server', (b: BlockBuilder<RealServerLike>) =>
    b.block<{ type: string; common: Record<string, unknown>; options: { name?: string }; loc: string }>('BFD_CHECK', {
      open: (k, rs) => {
        const block = { type: 'BFD_CHECK', common: {}, options: {} as { name?: string }, loc: locOf(k) }
        rs?.checkers?.push(block)
        return block
      },
      children: (c) =>
        c.keyword('name', (k, block) => {
          const n = k.string(0, 'name')
          if (n === undefined) return
          if (n.length > LIMITS.nameMax) {
            k.error(`BFD_CHECK name ${n} too long (maximum length is ${LIMITS.nameMax} characters) - ignoring`)
            return
          }
          block.options.name = n
        }),
      close: (k, block, rs) => {
        if (!block.options.name) {
          k.error('BFD_CHECK has no name - ignoring')
          if (rs?.checkers) rs.checkers.splice(rs.checkers.indexOf(block), 1)
          return
        }
        const key = rsKey(rs ?? {})
        ;(section(k).checks[key] ??= []).push(block.options.name)
      },
    }),
  )
  return { missing }
}

/** Cross-section validation: every track_bfd and BFD_CHECK names a bfd_instance. */
export function validateReferences(model: ConfigModel, sink: DiagnosticSink): void {
  const sec = model.sections[SECTION] as BfdSection | undefined
  if (!sec) return
  const names = new Map(sec.instances.map((i) => [i.name, i]))
  const check = (owner: string, list: TrackBfdModel[], who: 'vrrp' | 'checker') => {
    for (const t of list) {
      const inst = names.get(t.name)
      if (!inst) {
        sink.report({ code: 'KAD_CFG_BFD_UNKNOWN', severity: 'error', message: `(${owner}) track_bfd ${t.name} not found, ignoring...`, loc: parseLoc(t.loc) })
      } else if (who === 'vrrp' && !inst.toVrrp) {
        sink.report({ code: 'KAD_CFG_BFD_NOT_SENT', severity: 'warning', message: `(${owner}) track_bfd ${t.name} only sends events to the checker process`, loc: parseLoc(t.loc) })
      }
    }
  }
  for (const [owner, list] of Object.entries(sec.vrrpInstances)) check(owner, list, 'vrrp')
  for (const [owner, list] of Object.entries(sec.syncGroups)) check(owner, list, 'vrrp')
  for (const [rs, list] of Object.entries(sec.checks))
    for (const n of list) {
      const inst = names.get(n)
      if (!inst) sink.report({ code: 'KAD_CFG_BFD_UNKNOWN', severity: 'error', message: `BFD_CHECK for real server ${rs}: BFD instance ${n} not found` })
      else if (!inst.toChecker) sink.report({ code: 'KAD_CFG_BFD_NOT_SENT', severity: 'warning', message: `BFD_CHECK for real server ${rs}: BFD instance ${n} only sends events to the vrrp process` })
    }
}

