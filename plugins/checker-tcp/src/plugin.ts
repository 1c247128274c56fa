/** TCP_CHECK: the keyword in every process; the checker (index.ts) is imported only where checks run. */
import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import { registerCheckerType } from '@kad/plugin-checkers/keywords'
import { parseSocketPluginOptions, type SocketPluginOptions } from '@kad/plugin-checkers/socket-options'

export const PLUGIN_NAME = 'checker-tcp'
export const TYPE = 'TCP_CHECK'

export default definePlugin<SocketPluginOptions>({
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'TCP_CHECK' },
  parseOptions: parseSocketPluginOptions,
  register: (ctx) =>
    registerCheckerType(ctx, TYPE, async () => {
      const { TcpChecker } = await import('./index.js')
      return (spec, place) => new TcpChecker(spec, place)
    }),
})
