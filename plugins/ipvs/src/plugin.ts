/** The ipvs plugin: its keywords in every process; the IPVS backend (backend.ts, kernel.ts) only in the checker process. */
import { definePlugin, getCoreSection, HOST_API_VERSION, STAGES } from '@kad/core/plugin'
import type { ConfigModel } from '@kad/core'
import type { IpvsDaemon, IpvsTimeouts } from './codec/ipvs.js'
import type { IpvsKernel } from './kernel.js'
import { ipvsSection, registerKeywords, type IpvsSection } from './keywords.js'

export const PLUGIN_NAME = 'ipvs'

function globalsOf(cfg: IpvsSection): { timeouts?: IpvsTimeouts; syncDaemon?: Omit<IpvsDaemon, 'state'> } {
  const d = cfg.syncDaemon
  const opt = <K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> => (v === undefined ? {} : ({ [k]: v } as Record<K, V>))
  return {
    ...(cfg.timeouts ? { timeouts: cfg.timeouts } : {}),
    ...(d ? { syncDaemon: { ifname: d.ifname, syncId: d.syncId ?? 255, ...opt('maxLen', d.maxLen), ...opt('port', d.port), ...opt('ttl', d.ttl), ...opt('group', d.group) } } : {}),
  }
}

/**
 * net_namespace_ipvs NAME: the IPVS socket opens in /run/netns/NAME (`ip netns` names); without a NAME, in the
 * default namespace (init's), for a daemon that runs in a net_namespace but balances in the host's.
 */
export function ipvsNamespace(name: string | undefined): string | undefined {
  if (name === undefined) return undefined
  return name ? `/run/netns/${name}` : '/proc/1/ns/net'
}

export interface IpvsPluginOptions {
  /** open the kernel interface (tests inject a fake); default: generic netlink */
  openKernel?: () => Promise<IpvsKernel | undefined>
  /** network namespace path for the IPVS socket; overrides net_namespace_ipvs */
  netns?: string
}

export default definePlugin<IpvsPluginOptions>({
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^' + HOST_API_VERSION,
    roles: ['check'],
    description: 'programs the kernel IPVS table over generic netlink from the checkers\' desired topology',
  },
  parseOptions: (raw) => (raw && typeof raw === 'object' ? (raw as IpvsPluginOptions) : {}),
  async register(ctx) {
    registerKeywords(ctx.keywords)
    if (!ctx.active) return
    // the backend runs in the checker process only: imported there, never by a parse (the parent, `kad -t`)
    const [{ IpvsBackend }, { NetlinkIpvs }, { DAEMON_STATE }] = await Promise.all([import('./backend.js'), import('./kernel.js'), import('./codec/ipvs.js')])
    const log = ctx.log
    let backend: InstanceType<typeof IpvsBackend> | undefined
    let kernel: IpvsKernel | undefined
    let model: ConfigModel | undefined

    ctx.hooks.start.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async (m) => {
      model = m
      const cfg = ipvsSection(m)
      if (cfg.backend === 'nftables') {
        log.info('IPVS backend not used (lb_backend nftables)')
        return
      }
      try {
        const netns = ctx.options.netns ?? ipvsNamespace(getCoreSection(m).netNamespaceIpvs)
        if (netns) log.info(`IPVS: programming the table of network namespace ${netns} (net_namespace_ipvs)`)
        kernel = await (ctx.options.openKernel ?? (() => NetlinkIpvs.open(netns ? { netns } : {})))()
      } catch (e) {
        log.error(`IPVS: cannot open the generic netlink socket: ${(e as Error).message}; the IPVS backend stays idle`)
        return
      }
      if (!kernel) {
        const msg = `IPVS is not available in this kernel (no generic netlink family IPVS); the IPVS backend stays idle${cfg.backend === 'auto' ? ' and lb-nftables takes over' : ' (lb_backend ipvs: virtual servers are not programmed)'}`
        if (cfg.backend === 'ipvs') log.error(msg)
        else log.warn(msg)
        return
      }
      backend = new IpvsBackend({ kernel, log, flushAtStart: cfg.flush, ...globalsOf(cfg) })
      await backend.start()
    })

    ctx.hooks.reload.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async (next) => {
      model = next
      if (backend) await backend.reconfigure(globalsOf(ipvsSection(next)))
    })

    ctx.hooks.topologyChanged.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async (t) => {
      if (!backend) return
      try {
        await backend.apply(t)
      } catch (e) {
        log.limited('ipvs-apply', 'error', `IPVS: applying the topology failed: ${(e as Error).message}`)
      }
    })

    // lvs_sync_daemon following a VRRP instance: the vrrp process publishes instance states
    ctx.hooks.remoteEvent.for('vrrp.state').tap(PLUGIN_NAME, (payload) => {
      const inst = ipvsSection(model).syncDaemon?.instance
      const p = payload as { instance?: string; name?: string; state?: string } | undefined
      if (!backend || !inst || !p || (p.instance ?? p.name) !== inst) return
      void backend.setSyncState(p.state === 'MASTER')
    })

    ctx.hooks.shutdown.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async () => {
      if (!backend) return
      const cfg = ipvsSection(model)
      let release = true
      try {
        release = !(ctx.container.cradle as unknown as { options?: { dontReleaseIpvs?: boolean } }).options?.dontReleaseIpvs
      } catch {
        /* no options service (bare host): release */
      }
      await backend.stop({ release, flush: cfg.flushOnStop })
      backend = undefined
      kernel?.close()
      kernel = undefined
    })

    ctx.hooks.dumpData.tap(PLUGIN_NAME, (w) => {
      if (!backend) return
      const lines: string[] = []
      for (const [key, ks] of backend.view()) {
        lines.push(`${key} ${ks.service.scheduler} flags 0x${ks.service.flags.toString(16)} timeout ${ks.service.timeout}`)
        for (const [dk, d] of ks.dests) lines.push(`  -> ${dk} fwd ${d.fwdMethod} weight ${d.weight}`)
      }
      w.section('IPVS (kad)', lines)
    })
    ctx.hooks.dumpStats.tap(PLUGIN_NAME, (w) => {
      if (backend) w.json('ipvs', { ...backend.stats, daemonStates: DAEMON_STATE })
    })
  },
})
