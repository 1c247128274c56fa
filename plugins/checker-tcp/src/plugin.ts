/** TCP_CHECK: the keyword in every process; the checker (index.ts) is imported only where checks run. */
import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import { checkerBlock } from '@kad/plugin-checkers/keywords'
import { socketPlace } from '@kad/plugin-checkers/socket-options'

export const PLUGIN_NAME = 'checker-tcp'
export const TYPE = 'TCP_CHECK'

export default definePlugin({
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'TCP_CHECK' },
  async register(ctx) {
    ctx.keywords.extend('virtual_server/real_server', (b) => b.block(TYPE, checkerBlock(TYPE)))
    if (!ctx.active) return
    const { TcpChecker } = await import('./index.js')
    ctx.hooks.createChecker.for(TYPE).tap(PLUGIN_NAME, (spec) => new TcpChecker(spec, socketPlace((ctx.options as { netns?: string }).netns, ctx.container)))
  },
})
