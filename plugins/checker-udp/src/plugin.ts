/** UDP_CHECK: the keywords in every process; the checker (index.ts) is imported only where checks run. */
import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import { checkerBlock, registerCheckerType } from '@kad/plugin-checkers/keywords'
import { parseSocketPluginOptions, type SocketPluginOptions } from '@kad/plugin-checkers/socket-options'

export const PLUGIN_NAME = 'checker-udp'
export const TYPE = 'UDP_CHECK'

export interface UdpOptions {
  /** hex */
  payload?: string
  /** hex with `x` nibble wildcards; undefined = no reply needed */
  requireReply?: string
  /** set when `require_reply` is given without a pattern: any reply */
  replyNeeded?: boolean
  minReplyLength?: number
  maxReplyLength?: number
}

function hexArg(s: string | undefined, wild: boolean): string | undefined {
  if (s === undefined) return undefined
  const re = wild ? /^([0-9a-fA-Fx]{2})+$/ : /^([0-9a-fA-F]{2})+$/
  return re.test(s) ? s.toLowerCase() : undefined
}

export default definePlugin<SocketPluginOptions>({
  parseOptions: parseSocketPluginOptions,
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'UDP_CHECK' },
  register: (ctx) =>
    registerCheckerType(
      ctx,
      TYPE,
      async () => {
        const { UdpChecker } = await import('./index.js')
        return (spec, place) => new UdpChecker(spec, place)
      },
      checkerBlock(TYPE, {
        children: (cb) =>
          cb
            .keyword('payload', (k, c) => {
              const v = hexArg(k.args.join(''), false)
              if (v === undefined) k.error(`UDP_CHECK payload '${k.rest(0)}' is not valid hex - ignoring`)
              else (c.options as UdpOptions).payload = v
            })
            .keyword('require_reply', (k, c) => {
              const o = c.options as UdpOptions
              o.replyNeeded = true
              if (k.args.length === 0) return
              const v = hexArg(k.args.join(''), true)
              if (v === undefined) k.error(`UDP_CHECK require_reply '${k.rest(0)}' is not valid hex - ignoring`)
              else o.requireReply = v
            })
            .keyword('min_reply_length', (k, c) => {
              const v = k.unsigned(0, { min: 0, max: 65535 })
              if (v !== undefined) (c.options as UdpOptions).minReplyLength = v
            })
            .keyword('max_reply_length', (k, c) => {
              const v = k.unsigned(0, { min: 0, max: 65535 })
              if (v !== undefined) (c.options as UdpOptions).maxReplyLength = v
            }),
        close: (k, c) => {
          const o = c.options as UdpOptions
          if ((o.minReplyLength ?? 0) > (o.maxReplyLength ?? 255)) k.error('UDP_CHECK min_reply_length is greater than max_reply_length')
        },
      }),
    ),
})
