/**
 * The VRRP stack of the vrrp process: the instances, sync groups, trackers and kernel state (VrrpRuntime), and
 * what a reload keeps of it (planReload). Imported by the plugin only where it runs (plugin.ts).
 */
import type { ConfigModel, DumpWriter, Notification, PluginContext } from '@kad/core'
import type { Networking } from '@kad/native'
import { SocketPool } from './io.js'
import { KernelState } from './addresses.js'
import { VrrpInstance, type InstanceCarry } from './instance.js'
import { SyncGroup } from './sync.js'
import { Trackers } from './tracking.js'
import { AcceptFirewall, VmacMulticastFilter, nftOptions, runNft } from './firewall.js'
import { GarpPacer } from './garp.js'
import { StaticGuard } from './statics.js'
import { netlinkBuffers, type VipModel, type VrrpInstanceModel, type VrrpSection } from './model.js'

const noLoc = (k: string, v: unknown): unknown => (k === 'loc' ? undefined : v)
/** equal apart from source locations (a comment added above an instance must not restart it) */
export const sameConfig = (a: unknown, b: unknown): boolean => JSON.stringify(a, noLoc) === JSON.stringify(b, noLoc)

export interface ReloadPlan {
  /** more than the instance list changed (globals, scripts, sync groups, statics, …): a new stack, which carries on the instances' states */
  full: boolean
  keep: string[]
  /** kept, but their VIPs / eVIPs / virtual routes / rules or (non-owner) priority changed: updated in place */
  update: string[]
  remove: string[]
  add: string[]
}

/**
 * What a reload (SIGHUP) does with the VRRP section, as keepalived's clear_diff_vrrp: unchanged instances keep
 * running, removed ones go, new ones start; an instance whose addresses or (non-owner) priority alone changed is
 * updated in place, one with any other change is replaced (by one that carries its state on when carryPairs
 * matches them). Anything outside the instance list that changed, or a sync-group member that changed, builds a
 * new stack (`full`), whose instances carry on the states of the old ones they match. Pure.
 */
export function planReload(prev: VrrpSection, next: VrrpSection, prevBfd?: unknown, nextBfd?: unknown): ReloadPlan {
  const rest = (s: VrrpSection) => ({ ...s, instances: undefined })
  const byName = (s: VrrpSection) => new Map(s.instances.filter((i) => i.vrid).map((i) => [i.name, i] as [string, VrrpInstanceModel]))
  const p = byName(prev)
  const n = byName(next)
  const keep: string[] = []
  const update: string[] = []
  const remove: string[] = []
  const add: string[] = []
  // what an instance can change in place: its addresses (as long as they need the same per-address VMACs), and its
  // priority unless it becomes or stops being the owner
  const addrVmacLinks = (m: VrrpInstanceModel) => [...new Set([...m.vips, ...m.evips].filter((v) => v.useVmac || m.useVmacAddr).map((v) => `${v.family}/${v.dev ?? ''}`))].sort()
  const sansMutable = (m: VrrpInstanceModel) => ({ ...m, vips: [], evips: [], routes: [], rules: [], priority: m.priority === 255 ? 255 : 0, addrVmacs: addrVmacLinks(m) })
  for (const [name, m] of p) {
    const nm = n.get(name)
    if (nm && sameConfig(m, nm)) keep.push(name)
    else if (nm && sameConfig(sansMutable(m), sansMutable(nm))) {
      keep.push(name)
      update.push(name)
    } else remove.push(name)
  }
  for (const name of n.keys()) if (!keep.includes(name)) add.push(name)
  const grouped = new Set([...prev.syncGroups, ...next.syncGroups].flatMap((g) => g.group))
  const full = !sameConfig(rest(prev), rest(next)) || !sameConfig(prevBfd, nextBfd) || [...remove, ...add, ...update].some((x) => grouped.has(x)) ||
    add.some((x) => n.get(x)?.linkbeatUsePolling) // the poll list is built once per stack
  return { full, keep, update, remove, add }
}

/**
 * keepalived's vrrp_exist(): the instance of the new configuration that carries on an old one is the one with the
 * same VRID, family and configured interface, both multicast or both unicast (then from the same source address),
 * and the same use_vmac / use_vmac_addr; the name may change. Pure.
 */
export function instanceIdentity(m: VrrpInstanceModel): string {
  const unicast = m.unicastPeers.length > 0 ? `unicast ${m.unicastSrcIp ?? ''}` : 'multicast'
  return [m.family, m.vrid, m.interface ?? '', unicast, m.useVmac ? 'vmac' : '', m.useVmacAddr ? 'vmac_addr' : ''].join('|')
}

/** old instance name -> the name of the new instance that carries it on (instanceIdentity), among those given. Pure. */
export function carryPairs(prev: readonly VrrpInstanceModel[], next: readonly VrrpInstanceModel[]): Map<string, string> {
  const byId = new Map<string, string>()
  for (const m of next) if (m.vrid && !byId.has(instanceIdentity(m))) byId.set(instanceIdentity(m), m.name)
  const out = new Map<string, string>()
  for (const m of prev) {
    const to = m.vrid ? byId.get(instanceIdentity(m)) : undefined
    if (to === undefined) continue
    out.set(m.name, to)
    byId.delete(instanceIdentity(m))
  }
  return out
}

/** the KernelState keys of a section's static addresses, routes and rules */
function staticKeys(s: VrrpSection): string[] {
  return [
    ...s.staticAddresses.map((v) => KernelState.vipKey(v, v.dev ?? s.globals.defaultInterface ?? 'eth0')),
    ...s.staticRoutes.map((r) => KernelState.routeKey(r)),
    ...s.staticRules.map((r) => KernelState.ruleKey(r)),
  ]
}

/** The running stack of one vrrp process (exposed for tests, dumps and the demo). */
export class VrrpRuntime {
  readonly instances = new Map<string, VrrpInstance>()
  readonly groups = new Map<string, SyncGroup>()
  readonly pool: SocketPool
  readonly kernel: KernelState
  readonly trackers: Trackers
  readonly firewall: AcceptFirewall
  /** keepalived's IGMP/MLD filter for VMACs, with a firewall configured (`nftables` or `vrrp_iptables`) */
  readonly vmacFilter: VmacMulticastFilter | undefined
  readonly garpPacer: GarpPacer
  readonly staticGuard: StaticGuard
  private readonly statics: Promise<void>[] = []

  constructor(
    public section: VrrpSection,
    private readonly ctx: {
      log: PluginContext['log']
      scheduler: import('@kad/core').Scheduler
      clock: import('@kad/core').Clock
      net: Networking
      scriptRunner?: import('@kad/core').ScriptRunner
      publish: (n: Notification) => void
      model: ConfigModel
    },
    /** the stack this one replaces at a reload: its kernel entries, and its firewall tables when their options are the same */
    prev?: VrrpRuntime,
  ) {
    this.pool = new SocketPool(ctx.net)
    this.kernel = prev?.kernel ?? new KernelState(ctx.net, ctx.log)
    this.trackers = new Trackers({ net: ctx.net, scheduler: ctx.scheduler, scriptRunner: ctx.scriptRunner, log: ctx.log, model: ctx.model }, section.scripts, section.trackProcesses)
    if (prev) this.trackers.seedFrom(prev.trackers)
    this.trackers.delays = new Map(section.interfaceUpDownDelays.map((d) => [d.name, { down: d.down, up: d.up }]))
    const polled = [...section.linkbeatInterfaces.map((l) => l.name), ...section.instances.filter((m) => m.linkbeatUsePolling && m.interface).map((m) => m.interface!)]
    this.trackers.linkbeat = { all: section.linkbeatUsePolling === true, names: new Set(polled) }
    const tuning = section.globals.tuning
    const sameNft = prev !== undefined && sameConfig(nftOptions(tuning), nftOptions(prev.section.globals.tuning))
    this.firewall = sameNft ? prev.firewall : new AcceptFirewall(ctx.log, runNft, nftOptions(tuning))
    const filter = tuning.nftables !== undefined || tuning.vrrp_iptables !== undefined
    this.vmacFilter = filter ? (sameNft && prev.vmacFilter ? prev.vmacFilter : new VmacMulticastFilter(ctx.log, runNft, nftOptions(tuning))) : undefined
    this.garpPacer = new GarpPacer(section.globals, section.garpGroups)
    const statics = section.staticAddresses.map((v) => ({ v, dev: v.dev ?? section.globals.defaultInterface ?? 'eth0', group: v.trackGroup }))
    const others = [
      ...section.staticRoutes.filter((r) => r.trackGroup).map((r) => ({ key: KernelState.routeKey(r), group: r.trackGroup!, ensure: () => this.kernel.addRoute(r) })),
      ...section.staticRules.filter((r) => r.trackGroup).map((r) => ({ key: KernelState.ruleKey(r), group: r.trackGroup!, ensure: () => this.kernel.addRule(r) })),
    ]
    this.staticGuard = new StaticGuard(ctx.net, this.kernel, ctx.log, statics, (g, k, f) => this.onStaticFault(g, k, f), others, ctx.scheduler)
    for (const m of section.instances) if (m.vrid) this.instances.set(m.name, this.newInstance(m))
    for (const g of section.syncGroups) {
      const members = g.group.map((n) => this.instances.get(n)).filter((x): x is VrrpInstance => x !== undefined)
      if (members.length === 0) continue
      const run = (s: import('./model.js').ScriptRef, extra?: string[]) => members[0].runScript(s, extra)
      this.groups.set(g.name, new SyncGroup(g, members, { clock: ctx.clock, log: ctx.log, publish: ctx.publish, runScript: run }))
    }
    this.wireTrackers()
  }

  private newInstance(m: VrrpInstanceModel): VrrpInstance {
    const ctx = this.ctx
    return new VrrpInstance(m, {
      log: ctx.log, scheduler: ctx.scheduler, clock: ctx.clock, net: ctx.net, pool: this.pool, kernel: this.kernel,
      scriptRunner: ctx.scriptRunner, publish: ctx.publish, globals: this.section.globals, firewall: this.firewall, vmacFilter: this.vmacFilter, garpPacer: this.garpPacer,
      onTransition: (i, _from, to, reason) => (i.syncGroup ? this.groups.get(i.syncGroup)?.onMemberTransition(i, to === 'DELETED' ? 'STOP' : to, reason) : undefined),
    })
  }

  /**
   * A reload that only changed the instance list (planReload(...).full === false): unchanged instances keep
   * their state, timers and addresses; updated ones keep their state with new addresses / priority; removed
   * ones stop (priority 0, VIPs released, notify DELETED/FAULT), changed ones stop (STOP) and start again; new
   * ones start from INIT.
   */
  async reloadInstances(next: VrrpSection, model: ConfigModel, plan: ReloadPlan): Promise<void> {
    // a changed instance that keepalived would match (same VRID, interface, …) carries its state on
    const models = (names: string[], s: VrrpSection) => s.instances.filter((m) => names.includes(m.name))
    const pairs = carryPairs(models(plan.remove, this.section), models(plan.add, next))
    const carries = new Map<string, InstanceCarry>()
    const scripts = new Map<string, Promise<void>>()
    for (const name of plan.remove) {
      const inst = this.instances.get(name)
      if (!inst) continue
      this.trackers.unsubscribe(inst)
      this.instances.delete(name)
      const to = pairs.get(name)
      if (to === undefined) {
        await inst.stop(false, !next.instances.some((m) => m.name === name), false)
        scripts.set(name, inst.pendingScripts)
      } else carries.set(to, await this.suspendOne(inst, to))
    }
    for (const name of plan.update) {
      const m = next.instances.find((x) => x.name === name)
      if (m) this.instances.get(name)?.updateInPlace(m)
    }
    this.section = next
    this.ctx.model = model
    const added: VrrpInstance[] = []
    for (const name of plan.add) {
      const m = next.instances.find((x) => x.name === name)
      if (!m) continue
      const inst = this.newInstance(m)
      this.instances.set(name, inst)
      added.push(inst)
    }
    if (next.globals.fifoWriteStatesOnReload) this.republishStates(plan.keep)
    this.wireTrackers(added)
    try {
      await this.trackers.refresh()
    } catch (err) {
      // the instances still start: carried ones must not be left unadvertised
      this.ctx.log.error(`VRRP: trackers could not refresh: ${(err as Error).message}`)
    }
    for (const i of added) {
      const before = scripts.get(i.name)
      if (before && !carries.has(i.name)) i.afterScripts(before)
      await this.startOne(i, carries.get(i.name))
    }
  }

  private async startOne(i: VrrpInstance, carry?: InstanceCarry): Promise<void> {
    try {
      await i.start(carry)
    } catch (err) {
      this.ctx.log.error(`(${i.name}) cannot start: ${(err as Error).message}`)
    }
  }

  /** suspend an instance that the new one named TO carries on; a renamed one leaves the firewall tables under its old name */
  private async suspendOne(inst: VrrpInstance, to: string): Promise<InstanceCarry> {
    const carry = await inst.suspend()
    if (to !== inst.name) {
      await this.firewall.clear(inst.name)
      await this.vmacFilter?.clear(inst.name)
    }
    return carry
  }

  /**
   * A reload that changed more than the instance list (globals, scripts, sync groups, statics, the bfd section):
   * this stack makes way for NEXT, built with this one as its `prev`. As keepalived's reload: every instance
   * that one of NEXT carries on (carryPairs) stops without a word and hands over its state; the others stop as
   * removed ones do. Static entries NEXT still has stay in place (NEXT adopts them); the others go. Returns the
   * carries by the new instance's name, for NEXT.start().
   */
  async suspendForReload(next: VrrpRuntime): Promise<Map<string, InstanceCarry>> {
    this.staticGuard.stop()
    await this.staticGuard.flush()
    this.trackers.stop()
    const pairs = carryPairs([...this.instances.values()].map((i) => i.m), [...next.instances.values()].map((i) => i.m))
    const carries = new Map<string, InstanceCarry>()
    for (const [name, inst] of this.instances) {
      const to = pairs.get(name)
      if (to === undefined) {
        await inst.stop(false, !next.instances.has(name), false)
        // a new instance of that name queues its notify scripts after the old one's (STOP before its first state)
        const successor = next.instances.get(name)
        if (successor && ![...pairs.values()].includes(name)) successor.afterScripts(inst.pendingScripts)
      } else carries.set(to, await this.suspendOne(inst, to))
    }
    this.instances.clear()
    await Promise.all(this.statics)
    const still = new Set(staticKeys(next.section))
    for (const k of staticKeys(this.section)) {
      if (still.has(k)) this.kernel.forget(k)
      else await this.kernel.removeKey(k)
    }
    if (next.firewall !== this.firewall) await this.firewall.close()
    if (this.vmacFilter && next.vmacFilter !== this.vmacFilter) await this.vmacFilter.close()
    this.pool.closeAll()
    return carries
  }

  /** where an instance's trackers report: the instance, or through its sync group */
  private trackTarget(inst: VrrpInstance): { setTracker(k: string, e: { fault: boolean; delta: number }): void } {
    const group = inst.syncGroup ? this.groups.get(inst.syncGroup) : undefined
    // inside a sync group, member trackers only count for FAULT unless sync_group_tracking_weight
    if (group && !group.m.syncGroupTrackingWeight) return { setTracker: (k, e) => { inst.trackers.set(k, { fault: e.fault, delta: 0 }); group.recompute() } }
    if (group) return { setTracker: (k, e) => { inst.trackers.set(k, e); group.recompute() } }
    return inst
  }

  /** track_group: a static entry that cannot be restored puts the group's instances in FAULT */
  private onStaticFault(group: string, key: string, fault: boolean): void {
    for (const name of this.section.trackGroups.find((g) => g.name === group)?.group ?? []) {
      const inst = this.instances.get(name)
      if (inst) this.trackTarget(inst).setTracker(`track_group:${key}`, { fault, delta: 0 })
    }
  }

  /** fifo_write_vrrp_states_on_reload: the kept instances' states again on the notify FIFOs */
  republishStates(names: Iterable<string> = this.instances.keys()): void {
    for (const name of names) this.instances.get(name)?.republishState()
  }

  private wireTrackers(only?: VrrpInstance[]): void {
    const t = this.trackers
    const bfd = this.ctx.model.sections.bfd as { instances?: { name: string; weight: number; reverse: boolean }[]; vrrpInstances?: Record<string, { name: string; weight?: number; reverse?: boolean }[]>; syncGroups?: Record<string, { name: string; weight?: number; reverse?: boolean }[]> } | undefined
    const bfdDef = (n: string) => bfd?.instances?.find((b) => b.name === n)
    for (const inst of only ?? this.instances.values()) {
      const m = inst.m
      const target = this.trackTarget(inst)
      if (m.interface && !m.dontTrackPrimary) t.trackInterface(m.interface, target, `if:${m.interface}`, 0, false)
      for (const ti of m.trackInterfaces) t.trackInterface(ti.name, target, `if:${ti.name}`, ti.weight, ti.reverse)
      for (const r of m.trackScripts) t.trackScript(r, target, `script:${r.name}`)
      for (const r of m.trackProcesses) t.trackProcess(r, target, `process:${r.name}`)
      for (const r of m.trackFiles) if (!t.trackFile(r, target, `file:${r.name}`)) this.ctx.log.warn(`(${m.name}) track_file ${r.name} not found, ignoring...`)
      for (const r of bfd?.vrrpInstances?.[m.name] ?? []) {
        const d = bfdDef(r.name)
        t.trackBfd(r.name, target, `bfd:${r.name}`, r.weight ?? d?.weight ?? 0, r.reverse ?? d?.reverse ?? false)
      }
    }
    if (only) return
    for (const g of this.groups.values()) {
      for (const ti of g.m.trackInterfaces) t.trackInterface(ti.name, g, `if:${ti.name}`, ti.weight, ti.reverse)
      for (const r of g.m.trackScripts) t.trackScript(r, g, `script:${r.name}`)
      for (const r of g.m.trackProcesses) t.trackProcess(r, g, `process:${r.name}`)
      for (const r of g.m.trackFiles) t.trackFile(r, g, `file:${r.name}`)
      for (const r of bfd?.syncGroups?.[g.name] ?? []) {
        const d = bfdDef(r.name)
        t.trackBfd(r.name, g, `bfd:${r.name}`, r.weight ?? d?.weight ?? 0, r.reverse ?? d?.reverse ?? false)
      }
    }
  }

  /** start everything; CARRIES (a reload, suspendForReload of the stack replaced) lets instances carry on */
  async start(carries?: Map<string, InstanceCarry>): Promise<void> {
    const s = this.section
    // vrrp_netlink_{cmd,monitor}_rcv_bufs[_force]: for the sockets open now and those opened from here on
    const nb = netlinkBuffers(s.globals.tuning)
    // (always: a reload that removed them gives the sockets kad's default back)
    this.ctx.net.rtnl.setReceiveBuffers(nb)
    // at a first start a failure here fails the child (the parent restarts it); at a reload the carried instances
    // must start anyway (they hold VIPs), so it is logged
    const first = !carries?.size
    try {
      await this.staticGuard.start()
      for (const r of s.staticRoutes) if (!r.trackGroup) await this.kernel.addRoute(r)
      for (const r of s.staticRules) if (!r.trackGroup) await this.kernel.addRule(r)
      await this.staticGuard.startRoutesAndRules()
    } catch (err) {
      if (first) throw err
      this.ctx.log.error(`VRRP: static addresses, routes or rules could not start: ${(err as Error).message}`)
    }
    try {
      await this.trackers.start()
    } catch (err) {
      if (first) throw err
      this.ctx.log.error(`VRRP: trackers could not start (tracking is off until the next reload): ${(err as Error).message}`)
    }
    for (const i of this.instances.values()) await this.startOne(i, carries?.get(i.name))
    if (carries?.size) for (const g of this.groups.values()) g.adoptMemberStates()
    if (nb.cmd || nb.events) {
      const got = this.ctx.net.rtnl.receiveBuffers()
      const side = (what: string, want?: { bytes: number; force: boolean }, have?: number) => (want ? ` ${what} ${want.bytes}${want.force ? ' (forced)' : ''}: SO_RCVBUF ${have ?? 'not open'}` : '')
      this.ctx.log.info(`netlink receive buffers:${side('command', nb.cmd, got.cmd)}${side('monitor', nb.events, got.events)}`)
    }
  }

  async stop(keep: boolean): Promise<void> {
    this.staticGuard.stop()
    await this.staticGuard.flush()
    this.trackers.stop()
    await Promise.all([...this.instances.values()].map((i) => i.stop(keep)))
    await Promise.all(this.statics)
    if (keep) this.kernel.forgetAll()
    else await this.kernel.releaseAll()
    await this.firewall.close()
    await this.vmacFilter?.close()
    this.pool.closeAll()
  }

  onBfd(payload: unknown): void {
    this.trackers.onBfd(payload)
  }

  // ------------------------------------------------------------- dumps (keepalived.data / .stats / .json)

  /**
   * SIGUSR1 (keepalived.data): keepalived 2.2.7's `VRRP Topology` lines for what kad has (the ones tools parse:
   * ` VRRP Instance = `, `State`, `Wantstate`, `Interface`, `Virtual Router ID`, `Virtual IP (N):`, `Gratuitous ARP
   * delay`), then kad's trackers; `VRRP Scripts` as keepalived writes it (` VRRP Script = `, `Status`, `State`).
   */
  dumpData(w: DumpWriter): void {
    const lines: string[] = []
    const g = this.section.globals
    for (const i of this.instances.values()) {
      const m = i.m
      const t = i.lastTransition / 1000
      lines.push(` VRRP Instance = ${m.name}`, `   VRRP Version = ${i.version}`, `   State = ${i.state}`, `   Wantstate = ${i.state}`)
      lines.push(`   Last transition = ${t.toFixed(6)} (${i.lastTransition ? new Date(i.lastTransition).toISOString() : 'never'})`)
      lines.push(`   Interface = ${i.ifname || 'none'}`, `   Using src_ip = ${i.source}`)
      lines.push(`   Gratuitous ARP delay = ${m.garpMasterDelay ?? g.garpMasterDelay}`, `   Gratuitous ARP repeat = ${m.garpMasterRepeat ?? g.garpMasterRepeat}`)
      lines.push(`   Virtual Router ID = ${m.vrid}`)
      lines.push(`   Priority = ${m.priority}`, `   Effective priority = ${i.st.effectivePriority}`, `   Advert interval = ${m.advertInt} sec`)
      lines.push(`   Master router = ${i.st.masterIp ?? 'none'}`, `   Master priority = ${i.st.masterPriority ?? 0}`)
      lines.push(`   Accept = ${i.noAccept ? 'disabled' : 'enabled'}`, `   Preempt = ${m.preempt ? 'enabled' : 'disabled'}`, `   Preempt delay = ${m.preemptDelay} secs`)
      lines.push(`   Authentication type = ${m.auth ? (m.auth.type === 'PASS' ? 'SIMPLE_PASSWORD' : 'IPSEC_AH') : 'none'}`)
      if (i.syncGroup) lines.push(`   Sync group = ${i.syncGroup}`)
      if (m.unicastPeers.length) lines.push(`   Unicast Peer = ${m.unicastPeers.map((p) => p.address).join(', ')}`)
      const addr = (v: VipModel) => `     ${addressLine(v, i)}`
      lines.push(`   Virtual IP (${m.vips.length}):`, ...m.vips.map(addr))
      if (m.evips.length) lines.push('   Virtual IP Excluded :', ...m.evips.map(addr))
      if (m.trackInterfaces.length) lines.push('   Tracked interfaces :', ...m.trackInterfaces.map((x) => `     ${x.name} weight ${x.weight ?? 0}`))
      if (m.trackScripts.length) lines.push('   Tracked scripts :', ...m.trackScripts.map((x) => `     ${x.name} weight ${x.weight ?? this.section.scripts.find((d) => d.name === x.name)?.weight ?? 0}`))
      for (const [k, e] of i.trackers) lines.push(`   Tracker ${k}: ${e.fault ? 'FAULT' : 'OK'} weight ${e.delta}`)
    }
    w.section('VRRP Topology', lines)
    const g2: string[] = []
    for (const s of this.groups.values()) g2.push(` VRRP Sync Group = ${s.name}, ${s.state}`, ...s.members.map((m) => `   monitor = ${m.name}`))
    if (g2.length) w.section('VRRP Sync groups', g2)
    const sc: string[] = []
    for (const d of this.section.scripts) {
      const st = this.trackers.scriptStats.get(d.name)
      sc.push(` VRRP Script = ${d.name}`, `   Command = ${quoted(d.script) ?? ''}`, `   Interval = ${d.interval} sec`,
        `   Timeout = ${d.timeout ?? 0} sec`, `   Weight = ${d.weight}`, `   Rise = ${d.rise}`, `   Fall = ${d.fall}`,
        `   Status = ${st?.state ?? (d.initFail ? 'BAD' : 'GOOD')}`, `   Runs = ${st?.runs ?? 0}`, `   Failures = ${st?.failures ?? 0}`, '   State = idle')
    }
    if (sc.length) w.section('VRRP Scripts', sc)
  }

  /**
   * SIGUSR2 (keepalived.stats): each instance's block line for line as keepalived 2.2.7 writes it (exporters parse
   * it), then kad's detail: GARP/NA sent and every rejection reason, indented as keepalived's sections are.
   */
  dumpStats(w: DumpWriter, clear: boolean): void {
    const lines: string[] = []
    for (const i of this.instances.values()) {
      const k = keepalivedStats(i)
      lines.push(`VRRP Instance: ${i.name}`, '  Advertisements:', `    Received: ${k.advert_rcvd}`, `    Sent: ${k.advert_sent}`)
      lines.push(`  Became master: ${k.become_master}`, `  Released master: ${k.release_master}`)
      lines.push('  Packet Errors:', `    Length: ${k.packet_len_err}`, `    TTL: ${k.ip_ttl_err}`, `    Invalid Type: ${k.invalid_type_rcvd}`,
        `    Advertisement Interval: ${k.advert_interval_err}`, `    Address List: ${k.addr_list_err}`)
      lines.push('  Authentication Errors:', `    Invalid Type: ${k.invalid_authtype}`, `    Type Mismatch: ${k.authtype_mismatch}`, `    Failure: ${k.auth_failure}`)
      lines.push('  Priority Zero:', `    Received: ${k.pri_zero_rcvd}`, `    Sent: ${k.pri_zero_sent}`)
      lines.push(`  Gratuitous ARP/NA sent: ${i.stats.garp_sent ?? 0}`, `  Adverts received as MASTER: ${i.stats.rcvd_as_master ?? 0}`, '  Rejected adverts by reason:')
      for (const [r, v] of Object.entries(i.stats)) if (/^[A-Z_]+$/.test(r)) lines.push(`    ${r}: ${v}`)
      if (clear) for (const x of Object.keys(i.stats)) i.stats[x] = 0
    }
    for (const s of this.pool.all()) {
      const d = Object.entries(s.dropped)
      if (d.length) lines.push(`Socket ${s.key.family === 4 ? 'IPv4' : 'IPv6'} ${s.key.ifname || '-'}: ${d.map(([k, v]) => `${k}=${v}`).join(' ')}`)
      if (clear) for (const k of Object.keys(s.dropped)) s.dropped[k] = 0
    }
    const sch = this.ctx.scheduler
    const fmt = (h: import('@kad/core').Histogram) => {
      const x = h.summary()
      return `count ${x.count} p50 ${x.p50.toFixed(0)} us p99 ${x.p99.toFixed(0)} us max ${x.max.toFixed(0)} us`
    }
    lines.push(`Timer lateness: ${fmt(sch.lateness)}`, `Event loop lag: ${fmt(sch.loopLag)}`)
    if (clear) {
      sch.lateness.reset()
      sch.loopLag.reset()
    }
    w.section('VRRP statistics', lines)
  }

  /**
   * The JSON signal: keepalived 2.2.7's records (`[{ data, stats }]`, numeric states, its field names and units;
   * checked against its /tmp/keepalived.json here), so that tools reading keepalived.json (Prometheus exporters)
   * read kad's. kad adds `kad_trackers` (each tracker's state and weight, which keepalived's file lacks) and
   * `kad_sync_group`.
   */
  dumpJson(w: DumpWriter): void {
    w.json('vrrp', [...this.instances.values()].map((i) => keepalivedJson(i, this.section, this.trackers)))
  }

}

const STATE_NUMBER: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3 }
/** keepalived's cmd_str(): every word of the command single-quoted */
const quoted = (r: { command: string } | undefined): string | undefined => (r ? r.command.trim().split(/\s+/).map((x) => `'${x}'`).join(' ') : undefined)

/** an address as keepalived's dumps list it: `192.0.2.100/24 dev eth0 scope global set` (`set` while MASTER) */
function addressLine(v: VipModel, i: VrrpInstance): string {
  return `${v.address}/${v.prefixLength} dev ${v.dev ?? i.ifname} scope ${v.scope ?? 'global'}${v.family === 6 ? ' preferred_lft forever' : ''}${i.state === 'MASTER' ? ' set' : ''}`
}

/** one instance as keepalived 2.2.7's vrrp_json.c writes it (pure but for reading the instance) */
export function keepalivedJson(i: VrrpInstance, section: VrrpSection, trackers: Trackers): { data: Record<string, unknown>; stats: Record<string, number> } {
  const m = i.m
  const g = section.globals
  const st = i.st
  const master = i.state === 'MASTER'
  const garpRep = m.garpMasterRepeat ?? g.garpMasterRepeat
  const garpDelay = m.garpMasterDelay ?? g.garpMasterDelay
  const addr = (v: VipModel) => addressLine(v, i)
  const scripts: Record<string, string | undefined> = {
    script_backup: quoted(m.notify.backup), script_master: quoted(m.notify.master), script_fault: quoted(m.notify.fault),
    script_stop: quoted(m.notify.stop), script: quoted(m.notify.notify), script_master_rx_lower_pri: quoted(m.notify.masterRxLowerPri),
  }
  const data: Record<string, unknown> = {
    iname: m.name,
    dont_track_primary: m.dontTrackPrimary ? 1 : 0,
    skip_check_adv_addr: (m.skipCheckAdvAddr ?? g.skipCheckAdvAddr) ? 1 : 0,
    strict_mode: (m.strict ?? g.strict) ? 1 : 0,
    vmac_ifname: m.useVmac ? i.ifname : '',
    ifp_ifname: i.ifname,
    master_priority: master ? 0 : (st.masterPriority ?? 0),
    last_transition: i.lastTransition / 1000,
    garp_delay: garpDelay,
    garp_refresh: m.garpMasterRefresh ?? g.garpMasterRefresh,
    garp_rep: garpRep,
    garp_refresh_rep: m.garpMasterRefreshRepeat ?? g.garpMasterRefreshRepeat,
    garp_lower_prio_delay: m.garpLowerPrioDelay ?? g.garpLowerPrioDelay ?? garpDelay,
    garp_lower_prio_rep: m.garpLowerPrioRepeat ?? g.garpLowerPrioRepeat ?? garpRep,
    lower_prio_no_advert: i.cfg.lowerPrioNoAdvert ? 1 : 0,
    higher_prio_send_advert: i.cfg.higherPrioSendAdvert ? 1 : 0,
    vrid: m.vrid,
    base_priority: m.priority,
    effective_priority: st.effectivePriority,
    vipset: master,
    promote_secondaries: m.promoteSecondaries,
    adver_int: m.advertInt,
    master_adver_int: st.masterAdvertIntCs / 100,
    accept: i.noAccept ? 0 : 1,
    nopreempt: !m.preempt,
    preempt_delay: m.preemptDelay,
    state: STATE_NUMBER[i.state] ?? 0,
    wantstate: STATE_NUMBER[i.state] ?? 0,
    version: i.version,
    smtp_alert: m.smtpAlert === true,
    notify_deleted: m.notify.deleted !== undefined,
    ...Object.fromEntries(Object.entries(scripts).filter(([, v]) => v !== undefined)),
    ...(m.vips.length ? { vips: m.vips.map(addr) } : {}),
    ...(m.evips.length ? { evips: m.evips.map(addr) } : {}),
    ...(m.trackInterfaces.length ? { track_ifp: m.trackInterfaces.map((t) => t.name) } : {}),
    ...(m.trackScripts.length ? { track_script: m.trackScripts.map((t) => quoted(section.scripts.find((s) => s.name === t.name)?.script) ?? t.name) } : {}),
    auth_type: m.auth ? (m.auth.type === 'PASS' ? 1 : 2) : 0,
    ...(m.auth ? { auth_data: m.auth.pass } : {}),
    kad_adverts_received_as_master: i.stats.rcvd_as_master ?? 0,
    kad_trackers: [...i.trackers].map(([name, e]) => ({ name, fault: e.fault, weight: e.delta, ...scriptState(name, trackers) })),
    ...(i.syncGroup ? { kad_sync_group: i.syncGroup } : {}),
  }
  return { data, stats: keepalivedStats(i) }
}

/** an instance's counters under keepalived's names (vrrp_stats), kad's rejection reasons summed into its categories */
export function keepalivedStats(i: VrrpInstance): Record<string, number> {
  const n = (k: string) => i.stats[k] ?? 0
  return {
    advert_rcvd: n('advert_rcvd'), advert_sent: n('advert_sent'), become_master: n('become_master'), release_master: n('release_master'),
    packet_len_err: n('TRUNCATED') + n('BAD_LENGTH'), advert_interval_err: n('ADVERT_INT_MISMATCH'), ip_ttl_err: n('BAD_TTL'),
    invalid_type_rcvd: n('BAD_TYPE'), addr_list_err: n('BAD_ADDR_COUNT') + n('BAD_ADDR_LIST'), invalid_authtype: n('BAD_AUTH_TYPE'),
    authtype_mismatch: 0, auth_failure: n('BAD_AUTH') + n('BAD_AH_SEQ'), pri_zero_rcvd: n('pri_zero_rcvd'), pri_zero_sent: n('pri_zero_sent'),
  }
}

/** a vrrp_script tracker's runs and failures, from the trackers' counters */
function scriptState(key: string, trackers: Trackers): Record<string, unknown> {
  const s = key.startsWith('script:') ? trackers.scriptStats.get(key.slice(7)) : undefined
  return s ? { state: s.state, runs: s.runs, failures: s.failures } : {}
}
