/** The lb-nftables plugin: no keywords of its own; the backend (backend.ts) only in the checker process. */
import { definePlugin, HOST_API_VERSION, STAGES } from '@kad/core/plugin'

export const PLUGIN_NAME = 'lb-nftables'

export interface NftPluginOptions {
  /** run nft inside this named network namespace (tests) */
  netns?: string
  /** table name in the inet family (default kad) */
  table?: string
  /** decides whether IPVS is there for lb_backend auto (tests inject) */
  probeIpvs?: () => Promise<boolean>
}

export default definePlugin<NftPluginOptions>({
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^' + HOST_API_VERSION,
    roles: ['check'],
    dependencies: ['ipvs'],
    description: 'nftables load-balancer backend: weighted DNAT maps in table inet kad, for kernels without IPVS',
  },
  parseOptions: (raw) => (raw && typeof raw === 'object' ? (raw as NftPluginOptions) : {}),
  async register(ctx) {
    // lb_backend is registered by the ipvs plugin (one keyword, two readers)
    if (!ctx.active) return
    // the backend runs in the checker process only: imported there, never by a parse (the parent, `kad -t`)
    const [{ lbBackendOf, probeIpvs }, { NftLbBackend, nftRunner }] = await Promise.all([import('@kad/plugin-ipvs'), import('./backend.js')])
    const log = ctx.log
    let backend: InstanceType<typeof NftLbBackend> | undefined

    ctx.hooks.start.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async (m) => {
      const choice = lbBackendOf(m)
      if (choice === 'ipvs') return
      if (choice === 'auto' && (await (ctx.options.probeIpvs ?? probeIpvs)())) return
      log.info(`lb-nftables: programming virtual servers as nftables table inet ${ctx.options.table ?? 'kad'} (${choice === 'auto' ? 'IPVS is not available' : 'lb_backend nftables'})`)
      backend = new NftLbBackend({ run: nftRunner(ctx.options.netns ? { netns: ctx.options.netns } : {}).run, log, ...(ctx.options.table ? { table: ctx.options.table } : {}) })
    })

    ctx.hooks.topologyChanged.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async (t) => {
      if (!backend) return
      try {
        await backend.apply(t)
      } catch (e) {
        log.limited('nft-apply', 'error', `lb-nftables: ${(e as Error).message}`)
      }
    })

    ctx.hooks.shutdown.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async () => {
      if (!backend) return
      let release = true
      try {
        release = !(ctx.container.cradle as unknown as { options?: { dontReleaseIpvs?: boolean } }).options?.dontReleaseIpvs
      } catch {
        /* bare host */
      }
      await backend.stop(release)
      backend = undefined
    })

    ctx.hooks.dumpData.tap(PLUGIN_NAME, (w) => {
      if (backend) w.section(`nftables load balancer (table inet ${backend.table})`, backend.lastBatch.trim().split('\n'))
    })
    ctx.hooks.dumpStats.tap(PLUGIN_NAME, (w) => {
      if (backend) w.json('lbNftables', backend.stats)
    })
  },
})
