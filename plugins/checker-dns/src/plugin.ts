/** DNS_CHECK: the keywords in every process; the checker (index.ts) is imported only where checks run. */
import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import { checkerBlock, registerCheckerType } from '@kad/plugin-checkers/keywords'
import { parseSocketPluginOptions, type SocketPluginOptions } from '@kad/plugin-checkers/socket-options'

export const PLUGIN_NAME = 'checker-dns'
export const TYPE = 'DNS_CHECK'
export const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA', 'RRSIG', 'DNSKEY'] as const
export type DnsType = (typeof DNS_TYPES)[number]

export interface DnsOptions {
  type?: DnsType
  name?: string
}

export default definePlugin<SocketPluginOptions>({
  parseOptions: parseSocketPluginOptions,
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'DNS_CHECK' },
  register: (ctx) =>
    registerCheckerType(
      ctx,
      TYPE,
      async () => {
        const { DnsChecker } = await import('./index.js')
        return (spec, place) => new DnsChecker(spec, place)
      },
      checkerBlock(TYPE, {
        children: (cb) =>
          cb
            .keyword('type', (k, c) => {
              const v = k.string(0, 'type')
              if (v === undefined) return
              const u = v.toUpperCase()
              if (!(DNS_TYPES as readonly string[]).includes(u)) {
                k.error(`DNS_CHECK: unknown type ${v} - ignoring`)
                return
              }
              ;(c.options as DnsOptions).type = u as DnsType
            })
            .keyword('name', (k, c) => {
              const v = k.string(0, 'name')
              if (v !== undefined) (c.options as DnsOptions).name = v
            }),
      }),
    ),
})
