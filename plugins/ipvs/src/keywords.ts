/**
 * global_defs keywords of the IPVS backend: lvs_sync_daemon, lvs_timeouts, lvs_flush, lvs_flush_on_stop, and
 * lb_backend (which load-balancer backend programs the virtual servers: ipvs, nftables, or auto).
 */
import type { ConfigModel, KeywordContext, KeywordRegistrar } from '@kad/core'

export const SECTION = 'ipvs'

export type LbBackendChoice = 'ipvs' | 'nftables' | 'auto'

export interface SyncDaemonConfig {
  ifname: string
  /** the VRRP instance it follows (master when the instance is MASTER) */
  instance?: string
  syncId?: number
  maxLen?: number
  port?: number
  ttl?: number
  group?: string
}

export interface IpvsSection {
  backend: LbBackendChoice
  flush: boolean
  flushOnStop: 'off' | 'full' | 'vs'
  timeouts?: { tcp?: number; tcpFin?: number; udp?: number }
  syncDaemon?: SyncDaemonConfig
}

export const defaultSection = (): IpvsSection => ({ backend: 'auto', flush: false, flushOnStop: 'off' })

export function ipvsSection(model: ConfigModel | undefined): IpvsSection {
  return { ...defaultSection(), ...((model?.sections[SECTION] as Partial<IpvsSection> | undefined) ?? {}) }
}

/** `lb_backend` as configured (default auto). */
export function lbBackendOf(model: ConfigModel | undefined): LbBackendChoice {
  return ipvsSection(model).backend
}

const sec = (k: KeywordContext): IpvsSection => k.section(SECTION, defaultSection)

function parseSyncDaemon(k: KeywordContext): SyncDaemonConfig | undefined {
  const ifname = k.string(0, 'interface')
  if (ifname === undefined) return undefined
  const d: SyncDaemonConfig = { ifname }
  for (let i = 1; i < k.args.length; i++) {
    const w = k.args[i]
    switch (w) {
      case 'id': { const v = k.unsigned(++i, { min: 0, max: 255 }); if (v !== undefined) d.syncId = v; break }
      case 'maxlen': { const v = k.unsigned(++i, { min: 1, max: 65507 }); if (v !== undefined) d.maxLen = v; break }
      case 'port': { const v = k.unsigned(++i, { min: 1, max: 65535 }); if (v !== undefined) d.port = v; break }
      case 'ttl': { const v = k.unsigned(++i, { min: 1, max: 255 }); if (v !== undefined) d.ttl = v; break }
      case 'group': { const a = k.address(++i); if (a) d.group = a.address; break }
      case 'inst': { const v = k.string(++i, 'VRRP instance'); if (v !== undefined) d.instance = v; break }
      default:
        if (d.instance === undefined) d.instance = w
        else k.error(`lvs_sync_daemon: unknown option '${w}'`)
    }
  }
  return d
}

export function registerKeywords(keywords: KeywordRegistrar): void {
  keywords.extend('global_defs', (b) => b
    .keyword('lvs_sync_daemon', (k) => { const d = parseSyncDaemon(k); if (d) sec(k).syncDaemon = d })
    .keyword('lvs_timeouts', (k) => {
      const t: NonNullable<IpvsSection['timeouts']> = {}
      for (let i = 0; i < k.args.length; i += 2) {
        const w = k.args[i]
        const v = k.unsigned(i + 1, { min: 0, max: 86400 * 31 })
        if (v === undefined) continue
        if (w === 'tcp') t.tcp = v
        else if (w === 'tcpfin') t.tcpFin = v
        else if (w === 'udp') t.udp = v
        else k.error(`lvs_timeouts: unknown protocol '${w}' (tcp, tcpfin or udp)`)
      }
      sec(k).timeouts = t
    })
    .keyword('lvs_flush', (k) => { sec(k).flush = true })
    .keyword('lvs_flush_on_stop', (k) => {
      if (k.args.length === 0) { sec(k).flushOnStop = 'full'; return }
      const v = k.oneOf(0, ['VS', 'vs'] as const)
      if (v) sec(k).flushOnStop = 'vs'
    })
    .keyword('lb_backend', (k) => { const v = k.oneOf(0, ['ipvs', 'nftables', 'auto'] as const); if (v) sec(k).backend = v }))

  keywords.schema(SECTION, {
    type: 'object',
    properties: {
      backend: { enum: ['ipvs', 'nftables', 'auto'] },
      flush: { type: 'boolean' },
      flushOnStop: { enum: ['off', 'full', 'vs'] },
      timeouts: { type: 'object' },
      syncDaemon: { type: 'object', required: ['ifname'] },
    },
  })
}
