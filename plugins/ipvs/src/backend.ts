/**
 * IpvsBackend: keeps the kernel's IPVS table converged to the latest DesiredTopology.
 *
 * - The first convergence (and every one after a failure) reads the kernel table back; later ones diff against
 *   kad's view of what it installed, so a single weight change costs one SET_DEST.
 * - Topologies that arrive while a convergence runs are coalesced: only the newest is applied next.
 * - Kernel errors are logged with the service, the destination and the errno, and retried with exponential
 *   backoff (1 s doubling to 30 s) from a fresh read of the kernel. Nothing here throws into the host.
 */
import type { DesiredTopology, Logger } from '@kad/core'
import {
  DAEMON_STATE, destKey, encodeDaemon, encodeDest, encodeFlush, encodeService, encodeSetTimeouts, IPVS_CMD, protoName,
  type IpvsDaemon, type IpvsTimeouts,
} from './codec/ipvs.js'
import { readKernelTable, type IpvsKernel } from './kernel.js'
import { IncrementalPlanner } from './model.js'
import { applyOp, reconcile, type KernelService, type Op } from './reconcile.js'
import { Converger } from './converger.js'

export interface BackendOptions {
  readonly kernel: IpvsKernel
  readonly log: Logger
  readonly timeouts?: IpvsTimeouts
  readonly syncDaemon?: Omit<IpvsDaemon, 'state'> & { readonly state?: number }
  /** lvs_flush: empty the whole table at start */
  readonly flushAtStart?: boolean
  readonly minBackoffMs?: number
  readonly maxBackoffMs?: number
}

export interface BackendStats {
  applies: number
  ops: number
  failures: number
  resyncs: number
  lastApplyMs: number
}

const CMD_NAMES: Record<number, string> = {
  [IPVS_CMD.NEW_SERVICE]: 'add service', [IPVS_CMD.SET_SERVICE]: 'edit service', [IPVS_CMD.DEL_SERVICE]: 'delete service',
  [IPVS_CMD.NEW_DEST]: 'add real server', [IPVS_CMD.SET_DEST]: 'edit real server', [IPVS_CMD.DEL_DEST]: 'delete real server',
}

export function encodeOp(op: Op): Buffer {
  switch (op.cmd) {
    case IPVS_CMD.NEW_SERVICE:
    case IPVS_CMD.SET_SERVICE:
    case IPVS_CMD.DEL_SERVICE:
      return encodeService(op.cmd, op.service)
    default:
      return encodeDest(op.cmd, op.service, op.dest)
  }
}

export function describeOp(op: Op): string {
  const s = op.service.fwmark ? `FWM ${op.service.fwmark}${op.service.af === 6 ? ' IPv6' : ''}` : `${protoName(op.service.protocol)} ${op.service.af === 6 ? `[${op.service.address}]` : op.service.address}:${op.service.port}`
  return 'dest' in op ? `${CMD_NAMES[op.cmd]} ${destKey(op.dest)} of ${s}` : `${CMD_NAMES[op.cmd]} ${s}`
}

export class IpvsBackend {
  private readonly k: IpvsKernel
  private readonly log: Logger
  /** kad's view of the kernel for the services it owns */
  private installed = new Map<string, KernelService>()
  /** services kad programmed (deleted when they leave the plan, and on stop) */
  private owned = new Set<string>()
  private readonly planner = new IncrementalPlanner()
  private readonly converger: Converger<DesiredTopology>
  private needRead = true
  private stopped = false
  private daemonStarted = false
  private daemon: BackendOptions['syncDaemon']
  private timeouts: IpvsTimeouts | undefined
  readonly stats: BackendStats = { applies: 0, ops: 0, failures: 0, resyncs: 0, lastApplyMs: 0 }

  constructor(private readonly opts: BackendOptions) {
    this.k = opts.kernel
    this.log = opts.log
    this.converger = new Converger((t) => this.converge(t), opts)
    this.daemon = opts.syncDaemon
    this.timeouts = opts.timeouts
  }

  /** lvs_flush, lvs_timeouts, lvs_sync_daemon. */
  async start(): Promise<void> {
    const pre: Array<[string, Buffer]> = []
    if (this.opts.flushAtStart) pre.push(['flush the IPVS table (lvs_flush)', encodeFlush()])
    if (this.timeouts) pre.push(['set IPVS timeouts (lvs_timeouts)', encodeSetTimeouts(this.timeouts)])
    if (this.daemon) pre.push(['start the IPVS sync daemon (lvs_sync_daemon)', encodeDaemon(IPVS_CMD.NEW_DAEMON, { ...this.daemon, state: this.daemon.state ?? DAEMON_STATE.BACKUP })])
    if (pre.length === 0) return
    try {
      const res = await this.k.exec(pre.map((p) => p[1]))
      res.forEach((r, i) => {
        if (r.ok) {
          if (pre[i][0].startsWith('start')) this.daemonStarted = true
        } else if (!(pre[i][0].startsWith('start') && r.code === 'EEXIST')) {
          this.log.error(`IPVS: cannot ${pre[i][0]}: ${r.code} (${r.errno})`, { errno: r.errno })
        } else this.daemonStarted = true
      })
    } catch (e) {
      this.log.error(`IPVS: start commands failed: ${(e as Error).message}`)
    }
  }

  /** Reload: new lvs_timeouts are set; a changed lvs_sync_daemon is stopped and started again (as backup). */
  async reconfigure(next: { timeouts?: IpvsTimeouts; syncDaemon?: BackendOptions['syncDaemon'] }): Promise<void> {
    if (this.stopped) return
    const cmds: Array<[string, Buffer]> = []
    if (next.timeouts && JSON.stringify(next.timeouts) !== JSON.stringify(this.timeouts ?? null)) cmds.push(['set IPVS timeouts (lvs_timeouts)', encodeSetTimeouts(next.timeouts)])
    this.timeouts = next.timeouts
    if (JSON.stringify(next.syncDaemon ?? null) !== JSON.stringify(this.daemon ?? null)) {
      if (this.daemon && this.daemonStarted) {
        for (const state of [DAEMON_STATE.MASTER, DAEMON_STATE.BACKUP]) cmds.push(['stop the sync daemon', encodeDaemon(IPVS_CMD.DEL_DAEMON, { ...this.daemon, state })])
      }
      this.daemonStarted = false
      this.daemon = next.syncDaemon
      if (this.daemon) cmds.push(['start the IPVS sync daemon (lvs_sync_daemon)', encodeDaemon(IPVS_CMD.NEW_DAEMON, { ...this.daemon, state: DAEMON_STATE.BACKUP })])
    }
    if (cmds.length === 0) return
    try {
      const res = await this.k.exec(cmds.map((c) => c[1]))
      res.forEach((r, i) => {
        const what = cmds[i][0]
        if (r.ok || (what.startsWith('start') && r.code === 'EEXIST')) {
          if (what.startsWith('start')) this.daemonStarted = true
        } else if (!what.startsWith('stop')) this.log.error(`IPVS: cannot ${what}: ${r.code} (${r.errno})`, { errno: r.errno })
      })
    } catch (e) {
      this.log.error(`IPVS: reload commands failed: ${(e as Error).message}`)
    }
  }

  /** Switches the sync daemon between master and backup (VRRP state of the instance it follows). */
  async setSyncState(master: boolean): Promise<void> {
    const d = this.daemon
    if (!d || this.stopped) return
    const want = master ? DAEMON_STATE.MASTER : DAEMON_STATE.BACKUP
    const other = master ? DAEMON_STATE.BACKUP : DAEMON_STATE.MASTER
    try {
      const res = await this.k.exec([encodeDaemon(IPVS_CMD.DEL_DAEMON, { ...d, state: other }), encodeDaemon(IPVS_CMD.NEW_DAEMON, { ...d, state: want })])
      if (!res[1].ok && res[1].code !== 'EEXIST') this.log.error(`IPVS: cannot start the sync daemon as ${master ? 'master' : 'backup'}: ${res[1].code}`)
    } catch (e) {
      this.log.error(`IPVS: sync daemon switch failed: ${(e as Error).message}`)
    }
  }

  /** Converge to `t` (coalescing). Resolves when the kernel reflects `t` or the failures are scheduled for retry. */
  apply(t: DesiredTopology): Promise<void> {
    return this.converger.apply(t)
  }

  private async converge(t: DesiredTopology): Promise<boolean> {
    const started = performance.now()
    const { plan, changed } = this.planner.update(t, (id, reason) => this.log.limited(`ipvs-bad-${id}`, 'error', `IPVS: cannot program ${id}: ${reason}`))
    let failed = false
    let full = false
    try {
      if (this.needRead) {
        full = true
        this.stats.resyncs++
        const interesting = (key: string): boolean => plan.has(key) || this.owned.has(key)
        const table = await readKernelTable(this.k, interesting)
        this.installed = new Map([...table].filter(([key]) => interesting(key)))
        this.needRead = false
      }
      const ops = reconcile(plan, this.installed, this.owned, full ? undefined : changed)
      for (const key of full ? plan.keys() : changed) if (plan.has(key)) this.owned.add(key)
      if (ops.length) {
        const results = await this.k.exec(ops.map(encodeOp))
        this.stats.ops += ops.length
        ops.forEach((op, i) => {
          const r = results[i]
          if (r.ok) {
            applyOp(this.installed, op)
            return
          }
          failed = true
          this.stats.failures++
          this.log.limited(`ipvs-op-${op.key}`, 'error', `IPVS: ${describeOp(op)} failed: ${r.code} (errno ${r.errno}); will retry`, { service: op.key, errno: r.errno, code: r.code })
        })
      }
      // a service that left the plan and is gone from the kernel is no longer ours
      for (const key of full ? [...this.owned] : changed) if (!plan.has(key) && !this.installed.has(key)) this.owned.delete(key)
    } catch (e) {
      failed = true
      this.stats.failures++
      this.log.limited('ipvs-io', 'error', `IPVS: talking to the kernel failed: ${(e as Error).message}; will retry`)
    }
    this.stats.applies++
    this.stats.lastApplyMs = performance.now() - started
    // after a failure the next attempt starts from a fresh read of the kernel
    if (failed) this.needRead = true
    return !failed
  }

  /** Services kad owns and their destinations, as kad believes the kernel has them. */
  view(): ReadonlyMap<string, KernelService> {
    return this.installed
  }

  /**
   * Stop: `release` removes the services kad owns (not with -I); `flush` ('full') empties the whole table
   * (lvs_flush_on_stop). Hand-added unrelated services survive unless flushing.
   */
  async stop(opts: { release: boolean; flush?: 'off' | 'full' | 'vs' }): Promise<void> {
    this.stopped = true
    await this.converger.stop()
    const cmds: Array<[string, Buffer]> = []
    if (opts.flush === 'full') cmds.push(['flush the IPVS table', encodeFlush()])
    else if (opts.release || opts.flush === 'vs') {
      for (const [key, ks] of this.installed) if (this.owned.has(key)) cmds.push([`delete service ${key}`, encodeService(IPVS_CMD.DEL_SERVICE, ks.service)])
    }
    if (this.daemonStarted && this.daemon && (opts.release || opts.flush === 'full')) {
      for (const state of [DAEMON_STATE.MASTER, DAEMON_STATE.BACKUP]) cmds.push(['stop the sync daemon', encodeDaemon(IPVS_CMD.DEL_DAEMON, { ...this.daemon, state })])
    }
    if (cmds.length === 0) return
    try {
      const res = await this.k.exec(cmds.map((c) => c[1]))
      res.forEach((r, i) => {
        if (!r.ok && r.code !== 'ESRCH' && r.code !== 'ENOENT' && r.code !== 'EINVAL') this.log.error(`IPVS: cannot ${cmds[i][0]}: ${r.code} (${r.errno})`)
      })
    } catch (e) {
      this.log.error(`IPVS: stop commands failed: ${(e as Error).message}`)
    }
    this.installed.clear()
    this.owned.clear()
  }
}
