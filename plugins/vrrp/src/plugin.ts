/**
 * The vrrp plugin: the VRRP keywords in every process; the stack (runtime.ts) only in the vrrp process, imported
 * there, so that parsing a configuration (the parent, `kad -t`) never loads it.
 */
import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import type { ConfigModel, Notification } from '@kad/core'
import type { Networking } from '@kad/native'
import { installKeywords, validateVrrp } from './keywords.js'
import { vrrpSection } from './model.js'

export const PLUGIN_NAME = 'vrrp'

/** the core services this plugin resolves (core's Cradle augmentation is not exported from @kad/core's index) */
interface CoreCradle {
  scheduler: import('@kad/core').Scheduler
  clock: import('@kad/core').Clock
  scriptRunner: import('@kad/core').ScriptRunner
  notifications: { publish(n: Notification): void }
  ipc: import('@kad/core').Ipc
  options?: { dontReleaseVrrp?: boolean }
}

export default definePlugin({
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^' + HOST_API_VERSION,
    roles: ['vrrp'],
    description: 'VRRP v2/v3 (RFC 3768, RFC 5798), IPv4 and IPv6, interoperable with keepalived',
  },
  async register(ctx) {
    installKeywords(ctx.keywords)
    ctx.hooks.validateConfig.tap(PLUGIN_NAME, (model, sink) => validateVrrp(model, sink))
    // kad config cluster: the nodes' VRRP instances compared (loaded only when that command runs)
    ctx.hooks.clusterCheck.tapPromise(PLUGIN_NAME, async (nodes, sink) => {
      const { clusterCheckVrrp } = await import('./cluster.js')
      for (const d of clusterCheckVrrp(nodes)) sink.report(d)
    })
    if (!ctx.active) return
    const [{ VrrpRuntime, planReload }, { createNetworking }] = await Promise.all([import('./runtime.js'), import('@kad/native')])
    let rt: InstanceType<typeof VrrpRuntime> | undefined
    let net: Networking | undefined
    /** start the stack for MODEL; at a reload, PREV (the running one) makes way for it and hands over its instances' states */
    const startRuntime = async (model: ConfigModel, prev?: InstanceType<typeof VrrpRuntime>): Promise<void> => {
      const c = ctx.container.cradle as unknown as CoreCradle
      const section = vrrpSection(model)
      if (section.instances.length === 0 && section.staticAddresses.length === 0) {
        await prev?.stop(false)
        return
      }
      const has = (k: string) => ctx.container.hasRegistration(k)
      net ??= has('net') ? ((c as unknown as { net: Networking }).net) : createNetworking()
      const notifications = has('notifications') ? c.notifications : undefined
      rt = new VrrpRuntime(section, {
        log: ctx.log, scheduler: c.scheduler, clock: c.clock, net, scriptRunner: has('scriptRunner') ? c.scriptRunner : undefined,
        publish: (n) => {
          notifications?.publish(n)
          // the checker process follows instance states (lvs_sync_daemon master/backup)
          if (n.kind === 'vrrp-instance' && !n.to.endsWith('_PRIORITY') && has('ipc')) c.ipc.publish('vrrp.state', { instance: n.name, state: n.to }, ['check'])
        },
        model,
      }, prev)
      await rt.start(prev ? await prev.suspendForReload(rt) : undefined)
    }
    ctx.hooks.start.tapPromise(PLUGIN_NAME, async (model) => {
      const delay = vrrpSection(model).globals.startupDelay
      if (delay > 0) await new Promise((r) => setTimeout(r, delay * 1000))
      await startRuntime(model)
    })
    // reload: unchanged instances keep running untouched (state, timers, addresses), removed ones stop, new ones
    // start, changed ones carry their state on (keepalived's restore_vrrp_state); a change outside the instance list
    // (globals, scripts, sync groups, statics) builds a new stack that carries the instances' states on
    ctx.hooks.reload.tapPromise(PLUGIN_NAME, async (next, prev) => {
      const plan = planReload(vrrpSection(prev), vrrpSection(next), prev.sections.bfd, next.sections.bfd)
      if (!plan.full && plan.remove.length + plan.add.length + plan.update.length === 0) {
        if (vrrpSection(next).globals.fifoWriteStatesOnReload) rt?.republishStates()
        return
      }
      if (rt && !plan.full) {
        ctx.log.info(`VRRP reload: keeping ${plan.keep.length} instance(s) (${plan.update.length} updated in place), removing ${plan.remove.length}, adding ${plan.add.length}`)
        await rt.reloadInstances(vrrpSection(next), next, plan)
        return
      }
      const running = rt
      rt = undefined
      if (running) ctx.log.info('VRRP reload: a new stack; instances carry on their states')
      await startRuntime(next, running)
      // (rt is set by startRuntime: TypeScript cannot see that through the closure)
      if (vrrpSection(next).globals.fifoWriteStatesOnReload) (rt as InstanceType<typeof VrrpRuntime> | undefined)?.republishStates()
    })
    ctx.hooks.shutdown.tapPromise(PLUGIN_NAME, async () => {
      if (!rt) return
      const keep = ctx.container.hasRegistration('options') ? (ctx.container.cradle as unknown as CoreCradle).options?.dontReleaseVrrp === true : false
      await rt.stop(keep)
      rt = undefined
      if (!ctx.container.hasRegistration('net')) net?.close()
    })
    ctx.hooks.remoteEvent.for('bfd.session').tap(PLUGIN_NAME, (payload) => rt?.onBfd(payload))
    ctx.hooks.dumpData.tap(PLUGIN_NAME, (w) => rt?.dumpData(w))
    ctx.hooks.dumpStats.tap(PLUGIN_NAME, (w, clear) => rt?.dumpStats(w, clear))
    ctx.hooks.dumpJson.tap(PLUGIN_NAME, (w) => rt?.dumpJson(w))
  },
})
