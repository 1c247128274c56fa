/**
 * A minimal virtual_server / real_server / TCP_CHECK keyword set for the config-load bench and the config tests,
 * used when @kad/plugin-checkers / @kad/plugin-ipvs do not register theirs (yet). Same shapes as keepalived:
 * `virtual_server IP PORT { lb_algo|lvs_sched, lb_kind|lvs_method, protocol, delay_loop, real_server IP PORT { weight, TCP_CHECK { connect_timeout, connect_port } } }`.
 */
import type { KeywordRegistrar } from '../../core/src/config/types.js'

export interface MiniRealServer {
  address: string
  port: number
  weight: number
  checks: Array<{ type: 'TCP_CHECK'; connectTimeout?: number; connectPort?: number }>
}
export interface MiniVirtualServer {
  address: string
  port: number
  sched?: string
  method?: string
  protocol?: string
  delayLoop?: number
  realServers: MiniRealServer[]
}
export interface MiniLvsSection {
  virtualServers: MiniVirtualServer[]
}

export const MINI_LVS_SCHEMA = {
  type: 'object',
  required: ['virtualServers'],
  properties: {
    virtualServers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['address', 'port', 'realServers'],
        properties: {
          address: { type: 'string' },
          port: { type: 'integer', minimum: 0, maximum: 65535 },
          sched: { enum: ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos'] },
          method: { enum: ['NAT', 'DR', 'TUN'] },
          protocol: { enum: ['TCP', 'UDP', 'SCTP'] },
          delayLoop: { type: 'number', exclusiveMinimum: 0 },
          realServers: {
            type: 'array',
            items: {
              type: 'object',
              required: ['address', 'port', 'weight', 'checks'],
              properties: {
                address: { type: 'string' },
                port: { type: 'integer', minimum: 0, maximum: 65535 },
                weight: { type: 'integer', minimum: 0 },
                checks: { type: 'array' },
              },
            },
          },
        },
      },
    },
  },
} as const

export function registerMiniLvs(reg: KeywordRegistrar): void {
  reg.schema('minilvs', MINI_LVS_SCHEMA)
  reg.root.block<MiniVirtualServer>('virtual_server', {
    open: (k) => {
      const a = k.address(0)
      const port = k.args.length > 1 ? k.unsigned(1, { max: 65535 }) : 0
      const vs: MiniVirtualServer = { address: a?.address ?? k.args[0] ?? '', port: port ?? 0, realServers: [] }
      k.section<MiniLvsSection>('minilvs', () => ({ virtualServers: [] })).virtualServers.push(vs)
      return vs
    },
    children: (b) => {
      b.keyword('lvs_sched', (k, vs) => {
        const v = k.oneOf(0, ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos'])
        if (v) vs.sched = v
      }, { aliases: ['lb_algo'] })
      b.keyword('lvs_method', (k, vs) => {
        const v = k.oneOf(0, ['NAT', 'DR', 'TUN'])
        if (v) vs.method = v
      }, { aliases: ['lb_kind'] })
      b.keyword('protocol', (k, vs) => {
        const v = k.oneOf(0, ['TCP', 'UDP', 'SCTP'])
        if (v) vs.protocol = v
      })
      b.keyword('delay_loop', (k, vs) => {
        const v = k.timer(0, { min: 0.000001 })
        if (v !== undefined) vs.delayLoop = v
      })
      b.block<MiniRealServer>('real_server', {
        open: (k, vs) => {
          const a = k.address(0)
          const port = k.args.length > 1 ? k.unsigned(1, { max: 65535 }) : 0
          const rs: MiniRealServer = { address: a?.address ?? k.args[0] ?? '', port: port ?? 0, weight: 1, checks: [] }
          vs.realServers.push(rs)
          return rs
        },
        children: (r) => {
          r.keyword('weight', (k, rs) => {
            const v = k.integer(0, { min: 0, max: 2147483647 })
            if (v !== undefined) rs.weight = v
          })
          r.block<MiniRealServer['checks'][number]>('TCP_CHECK', {
            open: (_k, rs) => {
              const c: MiniRealServer['checks'][number] = { type: 'TCP_CHECK' }
              rs.checks.push(c)
              return c
            },
            children: (c) => {
              c.keyword('connect_timeout', (k, chk) => {
                const v = k.timer(0)
                if (v !== undefined) chk.connectTimeout = v
              })
              c.keyword('connect_port', (k, chk) => {
                const v = k.unsigned(0, { max: 65535 })
                if (v !== undefined) chk.connectPort = v
              })
            },
          })
        },
      })
    },
  })
}
