/**
 * The check framework (checker process): builds one Probe per distinct check, keeps every real server's and
 * virtual server's state, and publishes the desired topology, results, notifications and scripts.
 */
import type {
  CheckerDeps,
  CheckerResult,
  CheckerSpec,
  CheckOutcome,
  CheckTiming,
  Clock,
  DesiredRealServer,
  DesiredTopology,
  DesiredVirtualServer,
  DumpWriter,
  HostHooks,
  Logger,
  Notification,
  ProcessRole,
  Scheduler,
  ScriptRunner,
} from '@kad/core'
import { Probe } from './probe.js'
import { canonicalIP, type LocalAddresses } from './ha-suspend.js'
import { rangeAddresses } from './keywords.js'
import {
  fmtServer,
  fmtVirtualServer,
  type CheckerBlockModel,
  type CheckersSection,
  type RealServerModel,
  type ScriptModel,
  type VirtualServerModel,
} from './model.js'

export interface NotificationSink {
  publish(n: Notification): void
}

export interface FrameworkDeps {
  /** the host hooks, callable (the framework owns createChecker, checkerResult and topologyChanged) */
  hooks: Pick<HostHooks, 'createChecker' | 'checkerResult' | 'topologyChanged'>
  log: Logger
  scheduler: Scheduler
  clock: Clock
  scriptRunner: ScriptRunner
  notifications?: NotificationSink
  /** [0,1) source for the warmup spread; tests inject a fixed one */
  random?: () => number
  role?: ProcessRole
  /** local addresses for ha_suspend (the checker process: rtnetlink through the `net` service) */
  addresses?: LocalAddresses
}

/** per-type defaults when neither the checker, the real server nor the virtual server says */
export interface TypeDefaults {
  retry?: number
  /** seconds, or follow delay_loop */
  delayBeforeRetry?: number | 'delayLoop'
  connectTimeout?: number | 'delayLoop'
}

const typeDefaults = new Map<string, TypeDefaults>([
  ['HTTP_GET', { delayBeforeRetry: 3 }],
  ['SSL_GET', { delayBeforeRetry: 3 }],
  ['DNS_CHECK', { retry: 3, delayBeforeRetry: 'delayLoop' }],
  ['MISC_CHECK', { retry: 0, connectTimeout: 'delayLoop' }],
  ['FILE_CHECK', { retry: 0 }],
])

/** a checker plugin may declare its type's defaults (keepalived's per-checker defaults) */
export function setCheckerTypeDefaults(type: string, d: TypeDefaults): void {
  typeDefaults.set(type, { ...(typeDefaults.get(type) ?? {}), ...d })
}

export const DEFAULT_DELAY_LOOP = 60
export const DEFAULT_CONNECT_TIMEOUT = 5

export function resolveTiming(type: string, c: CheckerBlockModel['common'], rs: RealServerModel, vs: VirtualServerModel): CheckTiming {
  const d = typeDefaults.get(type) ?? {}
  const delayLoop = c.delayLoop ?? rs.delayLoop ?? vs.delayLoop ?? DEFAULT_DELAY_LOOP
  const pick = <T>(...xs: (T | undefined)[]) => xs.find((x) => x !== undefined)
  const dflt = (v: number | 'delayLoop' | undefined, fallback: number) => (v === 'delayLoop' ? delayLoop : (v ?? fallback))
  return {
    delayLoop,
    connectTimeout: pick(c.connectTimeout, rs.connectTimeout, vs.connectTimeout) ?? dflt(d.connectTimeout, DEFAULT_CONNECT_TIMEOUT),
    retry: pick(c.retry, rs.retry, vs.retry) ?? d.retry ?? 1,
    delayBeforeRetry: pick(c.delayBeforeRetry, rs.delayBeforeRetry, vs.delayBeforeRetry) ?? dflt(d.delayBeforeRetry, 1),
    warmup: pick(c.warmup, rs.warmup, vs.warmup) ?? delayLoop,
  }
}

/** the CheckerSpec of one checker block of one real server */
export function buildSpec(block: CheckerBlockModel, rs: RealServerModel, vs: VirtualServerModel, section: CheckersSection): CheckerSpec {
  const c = block.common
  const address = c.connectIp ?? rs.address
  const family: 4 | 6 = address.includes(':') ? 6 : 4
  const options: Record<string, unknown> = { ...block.options }
  if (block.type === 'HTTP_GET' || block.type === 'SSL_GET') {
    const vh = rs.virtualhost ?? vs.virtualhost
    if (vh !== undefined && options.virtualhost === undefined) options.virtualhost = vh
    if (block.type === 'SSL_GET' && section.ssl && options.ssl === undefined) options.ssl = section.ssl
  }
  return {
    type: block.type,
    options,
    target: {
      family,
      address,
      port: c.connectPort ?? rs.port,
      ...(c.bindTo !== undefined ? { bindTo: c.bindTo } : {}),
      ...(c.bindPort !== undefined ? { bindPort: c.bindPort } : {}),
      ...(c.bindIf !== undefined ? { bindIf: c.bindIf } : {}),
      ...(c.fwmark !== undefined ? { fwmark: c.fwmark } : {}),
    },
    timing: resolveTiming(block.type, c, rs, vs),
    realServer: fmtServer(rs),
  }
}

interface Slot {
  probe: Probe
  ok: boolean
  weight?: number
  reason?: string
  listener: (o: CheckOutcome) => void
}

class RsState {
  readonly slots: Slot[] = []
  up = true
  weight: number
  reason: string | undefined
  constructor(
    readonly vs: VsState,
    readonly model: RealServerModel,
  ) {
    this.weight = model.weight
  }
  get id(): string {
    return fmtServer(this.model)
  }
  /** keepalived's RS name in notifications: '[ip]:tcp:port' */
  get name(): string {
    const p = this.vs.model.protocol?.toLowerCase() ?? 'none'
    return `[${this.model.address}]:${p}:${this.model.port}`
  }
  get inhibit(): boolean {
    return this.model.inhibitOnFailure ?? this.vs.model.inhibitOnFailure
  }
  compute(): { up: boolean; weight: number; reason?: string } {
    let weight = this.model.weight
    for (const s of this.slots) if (s.ok && s.weight !== undefined) weight = s.weight
    const bad = this.slots.find((s) => !s.ok)
    return { up: !bad, weight, ...(bad?.reason ? { reason: bad.reason } : {}) }
  }
}

class VsState {
  readonly rs: RsState[] = []
  quorumUp = true
  /** ha_suspend: the address is not local, its checks do not run */
  suspended = false
  constructor(readonly model: VirtualServerModel) {}
  get name(): string {
    return fmtVirtualServer(this.model)
  }
  liveWeight(): number {
    return this.rs.reduce((a, r) => a + (r.up ? r.weight : 0), 0)
  }
}

export class CheckFramework {
  private probes = new Map<string, Probe>()
  private vss: VsState[] = []
  private section: CheckersSection = { virtualServers: [], groups: [] }
  private generation = 0
  private publishPending: unknown
  private started = false
  private readonly random: () => number
  private readonly log: Logger
  /** local addresses (ha_suspend); undefined until the first list arrives */
  private present: ReadonlySet<string> | undefined
  private unwatch: (() => void) | undefined

  constructor(private readonly deps: FrameworkDeps) {
    this.random = deps.random ?? Math.random
    this.log = deps.log
  }

  private checkerDeps(): CheckerDeps {
    return { log: this.log, scheduler: this.deps.scheduler, clock: this.deps.clock, scriptRunner: this.deps.scriptRunner }
  }

  /** build everything and start checking */
  start(section: CheckersSection): void {
    this.started = true
    this.build(section, new Map())
    this.schedulePublish()
  }

  /** new config: probes whose checker compares equal keep their state and schedule */
  reload(section: CheckersSection): void {
    const old = this.probes
    const oldVs = new Map(this.vss.map((v) => [v.name, v]))
    for (const v of this.vss) for (const r of v.rs) for (const s of r.slots) s.probe.listeners.delete(s.listener)
    this.build(section, old, oldVs)
    for (const [k, p] of old) if (this.probes.get(k) !== p) p.stop()
    this.schedulePublish()
  }

  stop(): void {
    this.started = false
    this.unwatch?.()
    this.unwatch = undefined
    this.present = undefined
    for (const p of this.probes.values()) {
      p.stop()
      p.checker.stop?.()
    }
    // omega: run the down notifies on shutdown
    for (const vs of this.vss) {
      if (!vs.model.omega) continue
      for (const r of vs.rs) if (r.up && r.model.notifyDown) this.runScript(r.model.notifyDown)
      if (vs.quorumUp && vs.model.quorumDown) this.runScript(vs.model.quorumDown)
    }
    this.probes.clear()
    this.vss = []
    if (this.publishPending !== undefined) this.deps.clock.clearImmediate(this.publishPending)
    this.publishPending = undefined
  }

  private build(section: CheckersSection, oldProbes: Map<string, Probe>, oldVs = new Map<string, VsState>()): void {
    this.section = section
    const probes = new Map<string, Probe>()
    const vss: VsState[] = []
    for (const vsm of section.virtualServers) {
      const vs = new VsState(vsm)
      for (const rsm of vsm.realServers) {
        const rs = new RsState(vs, rsm)
        for (const block of rsm.checkers) {
          const spec = buildSpec(block, rsm, vsm, section)
          const probe = this.probeFor(spec, block, probes, oldProbes)
          if (!probe) continue
          const alpha = block.common.alpha ?? rsm.alpha ?? vsm.alpha
          const slot: Slot = {
            probe,
            ok: probe.last ? probe.last.ok : !alpha,
            listener: () => undefined,
          }
          if (probe.last && !probe.last.ok) slot.reason = probe.last.reason
          if (probe.last?.ok && probe.last.weight !== undefined) slot.weight = probe.last.weight
          slot.listener = (o) => this.onVerdict(rs, slot, o)
          probe.listeners.add(slot.listener)
          rs.slots.push(slot)
        }
        const c = rs.compute()
        rs.up = c.up
        rs.weight = c.weight
        rs.reason = c.reason
        vs.rs.push(rs)
      }
      const prev = oldVs.get(vs.name)
      vs.quorumUp = prev ? prev.quorumUp : vs.liveWeight() >= vsm.quorum
      vss.push(vs)
    }
    this.probes = probes
    this.vss = vss
    if (!this.started) return
    for (const vs of vss) vs.suspended = oldVs.get(vs.name)?.suspended ?? false
    this.watchAddresses()
    this.applySuspension()
  }

  /** ha_suspend needs the local addresses: watch them while any virtual server asks for it */
  private watchAddresses(): void {
    const wanted = this.vss.some((v) => v.model.haSuspend)
    if (!wanted) {
      this.unwatch?.()
      this.unwatch = this.present = undefined
      return
    }
    if (this.unwatch) return
    if (!this.deps.addresses) {
      this.log.warn('ha_suspend: no source of local addresses in this process - checks are never suspended')
      return
    }
    this.unwatch = this.deps.addresses.watch((present) => {
      this.present = present
      if (this.started) this.applySuspension()
    })
  }

  /**
   * keepalived's ha_suspend: a virtual server whose address is not on a local interface has its checkers
   * suspended (its real servers keep their last state) until the address appears. A probe shared by several
   * virtual servers (dedup) runs while any of them is active. Only address virtual servers can be suspended
   * (a fwmark or group has no single address, as in keepalived).
   */
  private isSuspended(vs: VsState): boolean {
    const m = vs.model
    if (!m.haSuspend || m.kind !== 'ip' || m.address === undefined || !this.deps.addresses) return false
    // until the first list arrives the address is not known to be here
    return !this.present?.has(canonicalIP(m.address))
  }

  private applySuspension(): void {
    const needed = new Set<Probe>()
    for (const vs of this.vss) {
      const s = this.isSuspended(vs)
      if (s !== vs.suspended) {
        vs.suspended = s
        for (const r of vs.rs) this.log.info(`${s ? 'Suspending' : 'Activating'} healthchecker for service ${r.name} for VS ${vs.name}`)
      }
      if (!s) for (const r of vs.rs) for (const slot of r.slots) needed.add(slot.probe)
    }
    for (const p of this.probes.values()) {
      if (!needed.has(p)) {
        if (p.running) p.stop()
        continue
      }
      if (p.running) continue
      const spread = p.timing.warmup > 0 ? this.random() * p.timing.warmup * 1000 : 0
      p.start(spread)
    }
  }

  private probeFor(spec: CheckerSpec, block: CheckerBlockModel, probes: Map<string, Probe>, oldProbes: Map<string, Probe>): Probe | undefined {
    let checker
    try {
      checker = this.deps.hooks.createChecker.for(spec.type).call(spec, this.checkerDeps())
    } catch (e) {
      this.log.error(`${spec.realServer}: cannot create ${spec.type}: ${(e as Error).message}`)
      return undefined
    }
    if (!checker) {
      this.log.error(`${spec.realServer}: no checker plugin provides ${spec.type} - ignoring (${block.loc})`)
      return undefined
    }
    const key = `${checker.key()}|${spec.timing.delayLoop}|${spec.timing.connectTimeout}|${spec.timing.retry}|${spec.timing.delayBeforeRetry}`
    // an identical check already built (dedup), or the previous config's one that compares equal (reload)
    const old = oldProbes.get(key)
    const existing = probes.get(key) ?? (old && old.checker.compare(spec) ? old : undefined)
    if (existing) {
      checker.stop?.()
      probes.set(key, existing)
      return existing
    }
    const p = new Probe(key, checker, spec.timing, this.deps.scheduler, this.log, block.common.logAllFailures ?? false, `${spec.type} ${spec.realServer}`)
    probes.set(key, p)
    return p
  }

  private onVerdict(rs: RsState, slot: Slot, o: CheckOutcome): void {
    slot.ok = o.ok
    if (o.ok) {
      delete slot.reason
      if (o.weight !== undefined) slot.weight = o.weight
    } else slot.reason = o.reason
    const c = rs.compute()
    rs.reason = c.reason
    if (c.up === rs.up && c.weight === rs.weight) return
    const wasUp = rs.up
    rs.up = c.up
    rs.weight = c.weight
    rs.reason = c.reason
    const vs = rs.vs
    const result: CheckerResult = {
      realServer: rs.id,
      virtualServer: vs.name,
      type: slot.probe.checker.type,
      up: rs.up,
      weight: rs.weight,
      ...(rs.reason ? { reason: rs.reason } : {}),
    }
    this.deps.hooks.checkerResult.call(result)
    if (wasUp !== rs.up) {
      this.log.info(
        `${rs.up ? 'Adding' : rs.inhibit ? 'Disabling' : 'Removing'} service ${rs.id} ${rs.up ? 'to' : 'from'} VS ${vs.name}${rs.reason ? ` (${rs.reason})` : ''}`,
      )
      const script = rs.up ? rs.model.notifyUp : rs.model.notifyDown
      if (script) this.runScript(script)
      this.notify({
        kind: 'real-server',
        name: rs.name,
        from: wasUp ? 'UP' : 'DOWN',
        to: rs.up ? 'UP' : 'DOWN',
        ...(rs.reason ? { reason: rs.reason } : {}),
        ...smtp(rs.model.smtpAlert ?? vs.model.smtpAlert),
        detail: { virtualServer: vs.name, weight: rs.weight },
      })
    }
    this.updateQuorum(vs)
    this.schedulePublish()
  }

  private updateQuorum(vs: VsState): void {
    const live = vs.liveWeight()
    const { quorum, hysteresis } = vs.model
    let next = vs.quorumUp
    if (vs.quorumUp && live < quorum - hysteresis) next = false
    else if (!vs.quorumUp && live >= quorum + hysteresis) next = true
    if (next === vs.quorumUp) return
    vs.quorumUp = next
    this.log.info(`${next ? 'Gained' : 'Lost'} quorum ${live}${next ? '+' : '-'}${hysteresis}${next ? '>=' : '<'}${quorum} for VS ${vs.name}`)
    const script = next ? vs.model.quorumUp : vs.model.quorumDown
    if (script) this.runScript(script)
    this.notify({
      kind: 'virtual-server',
      name: vs.name,
      from: next ? 'DOWN' : 'UP',
      to: next ? 'UP' : 'DOWN',
      reason: `live weight ${live}, quorum ${quorum}, hysteresis ${hysteresis}`,
      ...smtp(vs.model.smtpAlert),
      detail: { liveWeight: live, quorum },
    })
  }

  private notify(n: Omit<Notification, 'source' | 'time'>): void {
    const sink = this.deps.notifications
    if (!sink) return
    try {
      sink.publish({ source: this.deps.role ?? 'check', time: this.deps.clock.wallNow(), ...n })
    } catch (e) {
      this.log.limited('notify', 'error', `cannot publish notification: ${(e as Error).message}`)
    }
  }

  private runScript(s: ScriptModel): void {
    this.deps.scriptRunner
      .run({ command: s.command, ...(s.user ? { user: s.user } : {}), ...(s.group ? { group: s.group } : {}) })
      .catch((e: Error) => this.log.limited(`script:${s.command}`, 'error', e.message))
  }

  private schedulePublish(): void {
    if (this.publishPending !== undefined || !this.started) return
    this.publishPending = this.deps.clock.setImmediate(() => {
      this.publishPending = undefined
      const topo = this.topology()
      this.deps.hooks.topologyChanged.promise(topo).catch((e: Error) => this.log.error(`topologyChanged: ${e.message}`))
    })
  }

  /** the current desired topology (bumps the generation) */
  topology(): DesiredTopology {
    this.generation++
    const out: DesiredVirtualServer[] = []
    for (const vs of this.vss) {
      const m = vs.model
      const rss: DesiredRealServer[] = []
      const sorryActive = !!m.sorryServer && !vs.quorumUp
      for (const r of vs.rs) {
        const present = r.up || r.inhibit
        if (!present) continue
        if (sorryActive && r.up) continue
        rss.push({
          id: r.id,
          family: r.model.family,
          address: r.model.address,
          port: r.model.port,
          weight: r.up ? r.weight : 0,
          method: r.model.method ?? m.method,
          ...(r.model.tunnel ?? m.tunnel ? { tunnel: r.model.tunnel ?? m.tunnel } : {}),
          ...(r.model.uthreshold !== undefined ? { uthreshold: r.model.uthreshold } : {}),
          ...(r.model.lthreshold !== undefined ? { lthreshold: r.model.lthreshold } : {}),
        })
      }
      if (m.sorryServer && (sorryActive || m.sorryServer.inhibit)) {
        const s = m.sorryServer
        rss.push({
          id: fmtServer(s),
          family: s.family,
          address: s.address,
          port: s.port,
          weight: sorryActive ? 1 : 0,
          method: s.method ?? m.method,
          ...(s.tunnel ? { tunnel: s.tunnel } : {}),
          sorry: true,
        })
      }
      for (const svc of this.services(m)) {
        out.push({
          ...svc,
          protocol: m.protocol,
          scheduler: m.scheduler,
          schedulerFlags: m.schedulerFlags,
          ...(m.persistence ? { persistence: m.persistence } : {}),
          realServers: svc.fwmark !== undefined || svc.port === undefined ? rss : rss.map((r) => r),
          quorumUp: vs.quorumUp,
        })
      }
    }
    return { generation: this.generation, virtualServers: out }
  }

  /** the kernel services of a virtual server: one, or one per address/port/fwmark of its group */
  private services(m: VirtualServerModel): { id: string; family: 4 | 6; address?: string; port?: number; fwmark?: number }[] {
    const proto = m.protocol ?? 'FWM'
    if (m.kind === 'ip') return [{ id: `${proto}:[${m.address}]:${m.port ?? 0}`, family: m.family ?? 4, address: m.address!, port: m.port ?? 0 }]
    if (m.kind === 'fwmark') return [{ id: `FWM:${m.fwmark}:${m.family ?? 4}`, family: m.family ?? 4, fwmark: m.fwmark! }]
    const g = this.section.groups.find((x) => x.name === m.group)
    const out: { id: string; family: 4 | 6; address?: string; port?: number; fwmark?: number }[] = []
    for (const e of g?.entries ?? []) {
      if (e.kind === 'fwmark') {
        const fam = e.family ?? m.family ?? 4
        out.push({ id: `FWM:${e.fwmark}:${fam}`, family: fam, fwmark: e.fwmark! })
        continue
      }
      for (const a of rangeAddresses(e)) {
        out.push({ id: `${proto}:[${a}]:${e.port ?? m.port ?? 0}`, family: e.family ?? 4, address: a, port: e.port ?? m.port ?? 0 })
      }
    }
    return out
  }

  /** probe statistics (bench, dumps) */
  stats(): { probes: number; attempts: number; failures: number; timeouts: number } {
    let attempts = 0
    let failures = 0
    let timeouts = 0
    for (const p of this.probes.values()) {
      attempts += p.stats.attempts
      failures += p.stats.failures
      timeouts += p.stats.timeouts
    }
    return { probes: this.probes.size, attempts, failures, timeouts }
  }

  /** run every check now (fast_recovery style; tests) */
  runAllNow(): void {
    for (const p of this.probes.values()) p.runNow()
  }

  dumpData(w: DumpWriter): void {
    const lines: string[] = []
    for (const vs of this.vss) {
      const m = vs.model
      lines.push(` VS = ${vs.name}${vs.suspended ? ' (suspended)' : ''}`)
      lines.push(`   delay_loop = ${m.delayLoop ?? DEFAULT_DELAY_LOOP}, lvs_sched = ${m.scheduler}, lvs_method = ${m.method}`)
      lines.push(`   protocol = ${m.protocol ?? 'none'}, quorum = ${m.quorum}, hysteresis = ${m.hysteresis}, quorum state = ${vs.quorumUp ? 'UP' : 'DOWN'}, live weight = ${vs.liveWeight()}`)
      if (m.haSuspend) lines.push(`   ha_suspend = on, checkers ${vs.suspended ? 'suspended' : 'active'}`)
      if (m.sorryServer) lines.push(`   sorry server = ${fmtServer(m.sorryServer)}${m.sorryServer.inhibit ? ' inhibit' : ''}`)
      for (const r of vs.rs) {
        lines.push(`   RS = ${r.id}, weight = ${r.weight}, ${r.up ? 'alive' : 'down'}${r.reason ? ` (${r.reason})` : ''}`)
        for (const s of r.slots) {
          const d = s.probe.checker.dump()
          lines.push(`     Checker = ${s.probe.checker.type} ${s.ok ? 'up' : 'down'}${s.probe.running ? '' : ' suspended'} attempts=${s.probe.stats.attempts} failures=${s.probe.stats.failures} ${JSON.stringify(d)}`)
        }
      }
    }
    w.section('------< Health checkers >------', lines)
  }

  dumpJson(w: DumpWriter): void {
    w.json('checkers', {
      generation: this.generation,
      virtualServers: this.vss.map((vs) => ({
        name: vs.name,
        quorumUp: vs.quorumUp,
        liveWeight: vs.liveWeight(),
        ...(vs.model.haSuspend ? { suspended: vs.suspended } : {}),
        realServers: vs.rs.map((r) => ({
          id: r.id,
          up: r.up,
          weight: r.weight,
          ...(r.reason ? { reason: r.reason } : {}),
          checkers: r.slots.map((s) => ({ type: s.probe.checker.type, ok: s.ok, ...(s.probe.running ? {} : { suspended: true }), ...s.probe.stats, ...s.probe.checker.dump() })),
        })),
      })),
    })
  }
}

function smtp(v: boolean | undefined): { smtpAlert?: boolean } {
  return v === undefined ? {} : { smtpAlert: v }
}
