/**
 * The bfd plugin. In the bfd child it runs the sessions and publishes `bfd.session` events; in the vrrp and check
 * children it keeps the `bfdStatus` board (fed by `hooks.remoteEvent.for('bfd.session')`) and provides the
 * `BFD_CHECK` checker; in every process it declares the keywords. The run-time modules are imported by the
 * processes that use them, so that parsing a configuration (the parent, `kad -t`) never loads them.
 */
import { asValue } from 'awilix/browser'
import { definePlugin, HOST_API_VERSION, STAGES } from '@kad/core/plugin'
import type { Clock, ConfigModel, Ipc, Scheduler } from '@kad/core'
import type { BfdSessionEvent } from './io.js'
import type { BfdStatusBoard } from './consumer.js'
import { installKeywords, validateReferences } from './keywords.js'
import { bfdSection } from './model.js'

export const PLUGIN_NAME = 'bfd'
export const CHANNEL = 'bfd.session'
/** a vrrp / check child that starts asks the bfd child for the current state of every session */
export const RESYNC_CHANNEL = 'bfd.resync'

declare module '@kad/core' {
  interface Cradle {
    /** vrrp and check children: the last known state of every BFD instance */
    bfdStatus: BfdStatusBoard
  }
}

export default definePlugin({
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^' + HOST_API_VERSION,
    roles: ['parent', 'bfd', 'vrrp', 'check'],
    provides: ['bfdStatus'],
    // track_bfd extends vrrp_instance / vrrp_sync_group, BFD_CHECK extends virtual_server/real_server
    dependencies: ['checkers', 'vrrp'],
    description: 'BFD sessions, track_bfd and BFD_CHECK',
  },
  async register(ctx) {
    const { missing } = installKeywords(ctx.keywords)
    if (missing.length > 0) ctx.log.debug(`bfd: not extending ${missing.join(', ')} (owner plugin not loaded)`)
    ctx.hooks.validateConfig.tap(PLUGIN_NAME, (model, sink) => validateReferences(model, sink))

    // the sessions (bfd child) and the status board (vrrp and check children) are imported only there
    if (ctx.role === 'bfd') {
      const { BfdEngine } = await import('./io.js')
      let engine: InstanceType<typeof BfdEngine> | undefined
      ctx.hooks.start.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async (model: ConfigModel) => {
        // the core's Cradle augmentation (di/container.ts) is not exported through '@kad/core' yet
        const { scheduler, ipc, clock } = ctx.container.cradle as unknown as { scheduler: Scheduler; ipc: Ipc; clock: Clock }
        engine = new BfdEngine({
          log: ctx.log,
          scheduler,
          wallNow: () => clock.wallNow(),
          publish: (ev: BfdSessionEvent, to) => {
            try {
              ipc.publish(CHANNEL, ev, to)
            } catch (e) {
              ctx.log.limited('bfd.ipc', 'warn', `bfd: cannot publish ${ev.name} ${ev.state}: ${(e as Error).message}`)
            }
          },
        })
        engine.apply(bfdSection(model).instances)
      })
      ctx.hooks.remoteEvent.for(RESYNC_CHANNEL).tap(PLUGIN_NAME, (_payload, from) => {
        if (engine && (from === 'vrrp' || from === 'check')) engine.resync(from)
      })
      ctx.hooks.reload.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async (next) => {
        engine?.apply(bfdSection(next).instances)
      })
      ctx.hooks.shutdown.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, async () => {
        engine?.stop()
        engine = undefined
      })
      ctx.hooks.dumpData.tap(PLUGIN_NAME, (w) => {
        if (engine) w.section('BFD', engine.dumpLines())
      })
      ctx.hooks.dumpStats.tap(PLUGIN_NAME, (w, clear) => {
        if (!engine) return
        w.section('BFD statistics', engine.dumpLines().slice(0, 3))
        w.json('bfd', engine.dumpJson())
        if (clear) engine.clearStats()
      })
      ctx.hooks.dumpJson.tap(PLUGIN_NAME, (w) => {
        if (engine) w.json('bfd', engine.dumpJson())
      })
    }

    if (ctx.role === 'vrrp' || ctx.role === 'check') {
      const { BfdChecker, BfdStatusBoard } = await import('./consumer.js')
      const board = new BfdStatusBoard()
      ctx.provide('bfdStatus', asValue(board))
      // consumers of the board (track_bfd in vrrp, BFD_CHECK checkers) see the change in the same call
      ctx.hooks.remoteEvent.for(CHANNEL).tap({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, (payload) => {
        if (!board.update(payload)) ctx.log.limited('bfd.bad-event', 'warn', 'bfd: ignored a malformed bfd.session event')
      })
      ctx.hooks.dumpData.tap(PLUGIN_NAME, (w) => {
        w.section('BFD tracking', board.snapshot().map((s) => ` ${s.name}: ${s.up ? 'UP' : 'DOWN'} (${s.state})`))
      })
      if (ctx.role === 'check') {
        ctx.hooks.createChecker.for('BFD_CHECK').tap(PLUGIN_NAME, (spec) => new BfdChecker(spec, board))
      }
      // after a restart of this child the bfd child's sessions may already be up: ask for their state; and after a
      // reload, which may track sessions this child never heard of (the bfd child only reports changes)
      const resync = async (model: ConfigModel): Promise<void> => {
        if (bfdSection(model).instances.length === 0) return
        const { ipc } = ctx.container.cradle as unknown as { ipc: Ipc }
        try {
          ipc.publish(RESYNC_CHANNEL, { role: ctx.role }, ['bfd'])
        } catch (e) {
          ctx.log.warn(`bfd: cannot ask the bfd child for a resync: ${(e as Error).message}`)
        }
      }
      ctx.hooks.start.tapPromise({ name: PLUGIN_NAME, stage: STAGES.PROVIDER }, resync)
      ctx.hooks.reload.tapPromise(PLUGIN_NAME, resync)
    }
  },
})
