/** PING_CHECK: the keyword in every process; the checker (index.ts) is imported only where checks run. */
import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import { checkerBlock } from '@kad/plugin-checkers/keywords'
import { parseSocketPluginOptions, socketPlace, type SocketPluginOptions } from '@kad/plugin-checkers/socket-options'

export const PLUGIN_NAME = 'checker-ping'
export const TYPE = 'PING_CHECK'

export type PingPluginOptions = SocketPluginOptions

export default definePlugin<SocketPluginOptions>({
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'PING_CHECK' },
  parseOptions: parseSocketPluginOptions,
  async register(ctx) {
    ctx.keywords.extend('virtual_server/real_server', (b) => b.block(TYPE, checkerBlock(TYPE)))
    if (!ctx.active) return
    const { PingChecker, closePingers } = await import('./index.js')
    ctx.hooks.createChecker.for(TYPE).tap(PLUGIN_NAME, (spec) => new PingChecker(spec, socketPlace(ctx.options.netns, ctx.container)))
    ctx.hooks.shutdown.tapPromise(PLUGIN_NAME, async () => closePingers())
  },
})
