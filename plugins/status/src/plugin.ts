/**
 * The status plugin: `kad_status_listen ADDRESS [PORT]` (global_defs). In the parent, while the daemon runs, an HTTP
 * endpoint with Prometheus metrics, a JSON status and a health check, fed by the core's supervision service. The
 * keyword is read in every process; the server is imported only where it runs.
 */
import { definePlugin, HOST_API_VERSION, KAD_VERSION } from '@kad/core/plugin'
import type { ConfigModel, Logger, Supervision } from '@kad/core'
import { registerStatusKeywords, SECTION, STATUS_SCHEMA, statusSection } from './config.js'

export const PLUGIN_NAME = 'status'

export default definePlugin({
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^' + HOST_API_VERSION,
    roles: ['parent'],
    description: 'kad_status_listen: Prometheus metrics, JSON status and a health check over HTTP, from the parent',
  },
  async register(ctx) {
    ctx.keywords.extend('global_defs', registerStatusKeywords)
    ctx.keywords.schema(SECTION, STATUS_SCHEMA)
    if (!ctx.active) return
    let server: import('./server.js').StatusServer | undefined
    let bound = ''
    const apply = async (model: ConfigModel): Promise<void> => {
      const want = statusSection(model).listen
      const key = want ? `${want.address} ${want.port}` : ''
      if (key === bound) return
      await server?.close()
      server = undefined
      bound = ''
      if (!want) return
      const cradle = ctx.container.cradle as unknown as { supervision?: Supervision; log: Logger }
      if (!ctx.container.hasRegistration('supervision') || !cradle.supervision) return // a test host: no children to report
      const { StatusServer } = await import('./server.js')
      const s = new StatusServer({ supervision: cradle.supervision, log: ctx.log, version: KAD_VERSION })
      try {
        await s.listen(want.address, want.port)
        server = s
        bound = key
        ctx.log.info(`status: listening on http://${want.address.includes(':') ? `[${want.address}]` : want.address}:${want.port}/ (metrics, status, healthz)`)
      } catch (e) {
        // a port in use or an address not here: the daemon goes on without the endpoint, and says why
        ctx.log.error(`status: cannot listen on ${want.address} port ${want.port}: ${(e as Error).message}`)
      }
    }
    ctx.hooks.start.tapPromise(PLUGIN_NAME, apply)
    ctx.hooks.reload.tapPromise(PLUGIN_NAME, apply)
    ctx.hooks.shutdown.tapPromise(PLUGIN_NAME, async () => {
      await server?.close()
      server = undefined
      bound = ''
    })
    ctx.hooks.dumpData.tap(PLUGIN_NAME, (w) => {
      if (server) w.section('Status endpoint', [` listening on ${bound}`, ...Object.entries(server.served).map(([p, n]) => ` ${p}: ${n} requests`)])
    })
  },
})
