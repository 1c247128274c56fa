/** SMTP_CHECK: the keywords in every process; the checker (index.ts) is imported only where checks run. */
import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import type { CheckerBlockModel } from '@kad/plugin-checkers'
import { checkerBlock, installCommonCheckerKeywords, realServerOf, registerCheckerType } from '@kad/plugin-checkers/keywords'
import { parseSocketPluginOptions, type SocketPluginOptions } from '@kad/plugin-checkers/socket-options'

export const PLUGIN_NAME = 'checker-smtp'
export const TYPE = 'SMTP_CHECK'
const hostUsed = new WeakSet<CheckerBlockModel>()
export const DEFAULT_HELO = 'smtpchecker.keepalived.org'

export interface SmtpOptions {
  heloName?: string
}

export default definePlugin<SocketPluginOptions>({
  parseOptions: parseSocketPluginOptions,
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'SMTP_CHECK' },
  register: (ctx) =>
    registerCheckerType(
      ctx,
      TYPE,
      async () => {
        const { SmtpChecker } = await import('./index.js')
        return (spec, place) => new SmtpChecker(spec, place)
      },
      checkerBlock(TYPE, {
        children: (cb) => {
          cb.keyword('helo_name', (k, c) => {
            const v = k.string(0, 'name')
            if (v !== undefined) (c.options as SmtpOptions).heloName = v
          })
          // deprecated `host { connect_ip … }`: the first applies to the check itself, each further one is
          // another SMTP_CHECK with the same settings (keepalived 2.x converts them the same way)
          cb.block<CheckerBlockModel>(
            'host',
            {
              open: (k, c) => {
                k.deprecated('SMTP_CHECK host block is deprecated', 'use one SMTP_CHECK per host')
                if (!hostUsed.has(c)) {
                  hostUsed.add(c)
                  return c
                }
                const rs = realServerOf(c)
                const { connectIp: _i, connectPort: _p, bindTo: _b, bindPort: _bp, bindIf: _bi, ...timing } = c.common
                const extra: CheckerBlockModel = { type: TYPE, common: { ...timing }, options: { ...c.options }, loc: c.loc }
                rs?.checkers.push(extra)
                return extra
              },
              children: (hb) => installCommonCheckerKeywords(hb),
            },
          )
        },
      }),
    ),
})
