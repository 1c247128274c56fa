import { definePlugin, HOST_API_VERSION, STAGES } from '@kad/core/plugin'
import type { HostHooks, Notification } from '@kad/core'
import type { NotificationSink } from './framework.js'
import { installFrameworkKeywords, validateSection } from './keywords.js'
import { checkersSection } from './model.js'
import type { Networking } from '@kad/native'

export const PLUGIN_NAME = 'checkers'

/**
 * virtual_server / virtual_server_group / real_server / SSL, and the check framework that runs every checker
 * block in the checker process and publishes the desired topology.
 */
export default definePlugin({
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^' + HOST_API_VERSION,
    roles: ['check'],
    description: 'virtual_server, real_server and the health-check framework',
  },
  async register(ctx) {
    installFrameworkKeywords(ctx.keywords)
    ctx.hooks.validateConfig.tap(PLUGIN_NAME, (model, sink) => {
      validateSection(checkersSection(model), (message) => sink.report({ code: 'KAD_CFG_CHECKERS', severity: 'error', message }))
    })
    // kad config cluster: the nodes' virtual servers compared (loaded only when that command runs)
    ctx.hooks.clusterCheck.tapPromise(PLUGIN_NAME, async (nodes, sink) => {
      const { clusterCheckCheckers } = await import('./cluster.js')
      for (const d of clusterCheckCheckers(nodes)) sink.report(d)
    })
    if (!ctx.active) return
    // the framework runs in the checker process only: imported there, never by a parse (the parent, `kad -t`)
    const [{ CheckFramework }, { rtnlLocalAddresses }] = await Promise.all([import('./framework.js'), import('./ha-suspend.js')])
    // the framework owns createChecker, checkerResult and topologyChanged: it is the one plugin that calls them
    let fw: InstanceType<typeof CheckFramework> | undefined
    const cradle = ctx.container.cradle as unknown as Record<string, unknown>
    const make = () => {
      // the callable hooks are a container service; the tap-only view is the same object at run time
      const hooks = (cradle.hooks as HostHooks | undefined) ?? (ctx.hooks as unknown as HostHooks)
      const notifications = cradle.notifications as { publish(n: Notification): void } | undefined
      // ha_suspend watches the local addresses through the networking service's rtnetlink events
      const net = typeof ctx.container.hasRegistration === 'function' && ctx.container.hasRegistration('net') ? (cradle.net as Networking) : undefined
      return new CheckFramework({
        hooks,
        log: ctx.log,
        scheduler: cradle.scheduler as never,
        clock: cradle.clock as never,
        scriptRunner: cradle.scriptRunner as never,
        ...(notifications ? { notifications: notifications as NotificationSink } : {}),
        role: ctx.role,
        ...(net ? { addresses: rtnlLocalAddresses(net.rtnl, ctx.log) } : {}),
      })
    }
    ctx.hooks.start.tapPromise({ name: PLUGIN_NAME, stage: STAGES.CONSUMER }, async (model) => {
      fw = make()
      fw.start(checkersSection(model))
    })
    ctx.hooks.reload.tapPromise({ name: PLUGIN_NAME, stage: STAGES.CONSUMER }, async (next) => {
      if (!fw) fw = make()
      fw.reload(checkersSection(next))
    })
    ctx.hooks.shutdown.tapPromise({ name: PLUGIN_NAME, stage: STAGES.CONSUMER }, async () => {
      fw?.stop()
      fw = undefined
    })
    ctx.hooks.dumpData.tap(PLUGIN_NAME, (w) => fw?.dumpData(w))
    ctx.hooks.dumpJson.tap(PLUGIN_NAME, (w) => fw?.dumpJson(w))
  },
})
