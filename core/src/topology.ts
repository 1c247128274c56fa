/**
 * The desired load-balancer topology: what the checkers decided, in the shape the load-balancer backends
 * (plugins/ipvs, plugins/lb-nftables) consume. Plain data, JSON-serialisable.
 */
export type L4Protocol = 'TCP' | 'UDP' | 'SCTP'
export type ForwardingMethod = 'NAT' | 'DR' | 'TUN'

export interface TunnelSpec {
  readonly type: 'ipip' | 'gue' | 'gre'
  readonly port?: number
  readonly checksum?: 'nocsum' | 'csum' | 'remcsum'
}

export interface DesiredRealServer {
  /** stable id within its virtual server: '[ip]:port' */
  readonly id: string
  readonly family: 4 | 6
  readonly address: string
  readonly port: number
  /** weight to program (0 when inhibited) */
  readonly weight: number
  readonly method: ForwardingMethod
  readonly tunnel?: TunnelSpec
  readonly uthreshold?: number
  readonly lthreshold?: number
  /** true for the sorry server installed on quorum loss */
  readonly sorry?: boolean
}

export interface DesiredVirtualServer {
  /** stable id: 'TCP:[10.0.0.1]:80', 'FWM:1:4', … */
  readonly id: string
  readonly family: 4 | 6
  readonly protocol: L4Protocol | null
  readonly address?: string
  readonly port?: number
  readonly fwmark?: number
  readonly scheduler: string
  readonly schedulerFlags: readonly string[]
  readonly persistence?: { readonly timeout: number; readonly granularity?: string; readonly engine?: string }
  readonly realServers: readonly DesiredRealServer[]
  readonly quorumUp: boolean
}

export interface DesiredTopology {
  /** increments on every change */
  readonly generation: number
  readonly virtualServers: readonly DesiredVirtualServer[]
}
