/**
 * The `checkers` config section: virtual servers, their real servers and checker blocks, virtual server
 * groups and the top-level SSL block. Plain JSON (the parent parses once and ships the model to the checker
 * process over IPC).
 */
import type { ConfigModel, ForwardingMethod, L4Protocol, TunnelSpec } from '@kad/core'

export const SECTION = 'checkers'

/** a notify_up / quorum_up style script: command plus optional run-as identity */
export interface ScriptModel {
  command: string
  user?: string
  group?: string
}

/** The keywords every checker block shares (keepalived's checker_common). */
export interface CommonCheckerOptions {
  connectIp?: string
  connectPort?: number
  bindTo?: string
  bindIf?: string
  bindPort?: number
  fwmark?: number
  connectTimeout?: number
  retry?: number
  delayBeforeRetry?: number
  warmup?: number
  delayLoop?: number
  alpha?: boolean
  logAllFailures?: boolean
}

/** One `TCP_CHECK { }`, `HTTP_GET { }`, … block. `options` belongs to the checker plugin. */
export interface CheckerBlockModel {
  type: string
  common: CommonCheckerOptions
  options: Record<string, unknown>
  /** 'file:line' of the block, for diagnostics */
  loc: string
}

/** Timing overrides a virtual server or real server may carry (seconds). */
export interface TimingOverrides {
  delayLoop?: number
  connectTimeout?: number
  retry?: number
  delayBeforeRetry?: number
  warmup?: number
}

export interface ServerAddress {
  family: 4 | 6
  address: string
  port: number
}

export interface RealServerModel extends ServerAddress, TimingOverrides {
  weight: number
  method?: ForwardingMethod
  tunnel?: TunnelSpec
  notifyUp?: ScriptModel
  notifyDown?: ScriptModel
  inhibitOnFailure?: boolean
  alpha?: boolean
  uthreshold?: number
  lthreshold?: number
  smtpAlert?: boolean
  virtualhost?: string
  snmpName?: string
  checkers: CheckerBlockModel[]
  loc: string
}

export interface SorryServerModel extends ServerAddress {
  inhibit: boolean
  method?: ForwardingMethod
  tunnel?: TunnelSpec
}

export interface VirtualServerModel extends TimingOverrides {
  kind: 'ip' | 'fwmark' | 'group'
  family?: 4 | 6
  address?: string
  port?: number
  fwmark?: number
  group?: string
  protocol: L4Protocol | null
  scheduler: string
  schedulerFlags: string[]
  method: ForwardingMethod
  tunnel?: TunnelSpec
  persistence?: { timeout: number; granularity?: string; engine?: string }
  quorum: number
  hysteresis: number
  quorumUp?: ScriptModel
  quorumDown?: ScriptModel
  sorryServer?: SorryServerModel
  inhibitOnFailure: boolean
  alpha: boolean
  omega: boolean
  haSuspend: boolean
  smtpAlert?: boolean
  virtualhost?: string
  snmpName?: string
  /** default weight for real servers (undocumented `weight`) */
  weight: number
  realServers: RealServerModel[]
  loc: string
}

/** `virtual_server_group NAME { IP[-END] [PORT]; CIDR [PORT]; fwmark N [inet|inet6] }` */
export interface VsGroupEntry {
  kind: 'range' | 'fwmark'
  family?: 4 | 6
  /** first address of the range */
  address?: string
  /** last address of the range (same as address for a single one) */
  last?: string
  port?: number
  fwmark?: number
}

export interface VsGroupModel {
  name: string
  entries: VsGroupEntry[]
}

export interface SslModel {
  password?: string
  ca?: string
  certificate?: string
  key?: string
}

export interface CheckersSection {
  virtualServers: VirtualServerModel[]
  groups: VsGroupModel[]
  ssl?: SslModel
}

export function emptySection(): CheckersSection {
  return { virtualServers: [], groups: [] }
}

/** typed accessor for the section in a parsed model */
export function checkersSection(model: ConfigModel): CheckersSection {
  return (model.sections[SECTION] as CheckersSection | undefined) ?? emptySection()
}

/** '[192.0.2.10]:80' */
export function fmtServer(s: { address: string; port: number }): string {
  return `[${s.address}]:${s.port}`
}

/** keepalived's FMT_VS: '[10.0.0.1]:tcp:80', 'FWM 1', or the group name */
export function fmtVirtualServer(vs: VirtualServerModel): string {
  if (vs.kind === 'group') return vs.group ?? ''
  if (vs.kind === 'fwmark') return `FWM ${vs.fwmark}`
  const proto = vs.protocol ? vs.protocol.toLowerCase() : 'none'
  return `[${vs.address}]:${proto}:${vs.port ?? 0}`
}
