/**
 * One running VRRP instance: the pure state machine (fsm.ts) driven by received adverts, timers on the core
 * Scheduler (precision 'fine') and tracker changes; its actions executed against the kernel (addresses.ts), the
 * sockets (io.ts), GARP/NA, notify scripts and the notifications service.
 */
import { execFile } from 'node:child_process'
import type { Clock, Logger, Notification, Scheduler, ScriptRunner, TaskHandle } from '@kad/core'
import type { MessageInfo, Networking } from '@kad/native'
import {
  AUTH, MCAST_GROUP4, encodeIpv4Packet, encodeVrrp, validateAdvert, type Advert, type RejectReason, type RxExpectation,
} from './codec/index.js'
import { type FsmAction, type FsmConfig, type FsmEvent, type FsmState, type VrrpState, initialState, masterDownMs, step } from './fsm.js'
import { KernelState } from './addresses.js'
import type { SocketKey, SocketPool, VrrpSocket } from './io.js'
import type { NotifyScripts, ScriptRef, VipModel, VrrpGlobals, VrrpInstanceModel } from './model.js'
import type { AcceptFirewall, VmacLink, VmacMulticastFilter } from './firewall.js'
import { extraGarpVips, GarpPacer } from './garp.js'

const FINE = { precision: 'fine' } as const

/**
 * What a reload hands from a running instance to the one that replaces it (keepalived's restore_vrrp_state): its
 * state, counters and AH sequence number, the interfaces and sysctls it set up, and the kernel entries it holds.
 */
export interface InstanceCarry {
  name: string
  /** the old instance's notify scripts still queued: the new one's run after them */
  scripts: Promise<void>
  st: FsmState
  stats: Record<string, number>
  ahSeq: number
  lastTransition: number
  /** the interface it ran on (its VMAC or ipvlan, when it had one) and whether kad created that */
  ifname: string
  vmacCreated: boolean
  addrVmacsCreated: string[]
  sysctlRestore: Array<[string, string]>
  /** KernelState keys of the addresses, routes and rules it had in place (a MASTER's; none otherwise) */
  kernelKeys: string[]
}

export interface InstanceDeps {
  log: Logger
  scheduler: Scheduler
  clock: Clock
  net: Networking
  pool: SocketPool
  kernel: KernelState
  scriptRunner?: ScriptRunner
  publish: (n: Notification) => void
  globals: VrrpGlobals
  /** no_accept: the nftables table dropping traffic to a non-owner MASTER's VIPs */
  firewall?: AcceptFirewall
  /** keepalived's IGMP/MLD filter on VMACs (with a firewall configured) */
  vmacFilter?: VmacMulticastFilter
  /** garp_interval / gna_interval per interface or garp_group, shared by every instance */
  garpPacer?: GarpPacer
  /** a transition of this instance that was not itself caused by its sync group */
  onTransition?: (inst: VrrpInstance, from: VrrpState, to: VrrpState | 'STOP' | 'DELETED', reason: string) => void
}

export interface TrackEffect {
  fault: boolean
  delta: number
}

/** keepalived's arithmetic for a tracked object: weight 0 = FAULT while down; >0 added while up; <0 subtracted while down; reverse swaps */
export function trackEffect(up: boolean, weight0: number, reverse: boolean): TrackEffect {
  const effectiveUp = reverse ? !up : up
  const weight = reverse ? -weight0 : weight0
  if (weight === 0) return { fault: !effectiveUp, delta: 0 }
  if (weight > 0) return { fault: false, delta: effectiveUp ? weight : 0 }
  return { fault: false, delta: effectiveUp ? 0 : weight }
}

/** the macvlan name and MAC keepalived uses for use_vmac */
export function vmacName(m: VrrpInstanceModel, prefix = 'vrrp'): string {
  return m.useVmac?.name ?? `${prefix}.${m.vrid}`
}
export function vmacMac(m: VrrpInstanceModel): string {
  return m.useVmac?.mac ?? rfcVmac(m.family, m.vrid)
}
/** RFC 5798 §7.3's virtual router MAC: 00-00-5E-00-01-{VRID} (IPv4), 00-00-5E-00-02-{VRID} (IPv6) */
function rfcVmac(family: 4 | 6, vrid: number): string {
  return `00:00:5e:00:0${family === 6 ? 2 : 1}:${vrid.toString(16).padStart(2, '0')}`
}

/**
 * The VMACs that VIPs/eVIPs on other interfaces ask for (`use_vmac` on the address, or the instance's
 * `use_vmac_addr`): one macvlan per interface and family, named and addressed as keepalived 2.2.7 does
 * (checked against it here): `vrrp.<vrid>` with 00:00:5e:00:01:<vrid> for IPv4, `vrrp6.<vrid>` with
 * 00:00:5e:00:02:<vrid> for IPv6, in private mode on the address's `dev`; the addresses go on the macvlan.
 */
export function addressVmacs(m: VrrpInstanceModel, instanceIf: string, prefix = 'vrrp'): Map<string, { name: string; link: string; family: 4 | 6; mac: string }> {
  const out = new Map<string, { name: string; link: string; family: 4 | 6; mac: string }>()
  for (const v of [...m.vips, ...m.evips]) {
    const link = v.dev ?? instanceIf
    if (!link || !(v.useVmac || m.useVmacAddr) || (link === instanceIf && v.family === m.family)) continue
    const key = addressVmacKey(link, v.family)
    if (!out.has(key)) out.set(key, { name: `${prefix}${v.family === 6 ? '6' : ''}.${m.vrid}`, link, family: v.family, mac: rfcVmac(v.family, m.vrid) })
  }
  return out
}
const addressVmacKey = (link: string, family: 4 | 6) => `${family}/${link}`
/** an interface name in a dotted sysctl key: its dots become '/' (`vrrp.51` -> net.ipv4.conf.vrrp/51.…) */
const sysctlIf = (name: string) => name.replace(/\./g, '/')

export class VrrpInstance {
  /** the instance's block; replaced by updateInPlace() when a reload changed only its addresses or priority */
  m: VrrpInstanceModel
  readonly cfg: FsmConfig
  st: FsmState
  readonly version: 2 | 3
  readonly stats: Record<string, number> = {
    advert_rcvd: 0, advert_sent: 0, become_master: 0, release_master: 0, pri_zero_rcvd: 0, pri_zero_sent: 0, invalid: 0,
  }
  /** tracker name -> effect */
  readonly trackers = new Map<string, TrackEffect>()
  /** what the sync group forces (FAULT while a member is faulty) */
  groupFault = false
  syncGroup?: string
  lastTransition = 0
  private advertTask?: TaskHandle
  private downTask?: TaskHandle
  private refreshTask?: TaskHandle
  private extraTask?: TaskHandle
  private garpTasks: TaskHandle[] = []
  private advertDeadline?: number
  private firing?: number
  private sock?: VrrpSocket
  private sockKey?: SocketKey
  private src = ''
  /** the interface VIPs go on and adverts leave from */
  ifname = ''
  ifindex = 0
  private ipId = 0
  /** the last advert packet built per destination, sent again while its priority holds (see advertPacket) */
  private readonly adverts = new Map<string, { priority: number; pkt: Buffer }>()
  private ahSeq = 0
  private chain: Promise<void> = Promise.resolve()
  private scriptChain: Promise<void> = Promise.resolve()
  private vmacCreated = false
  /** per-address VMACs in use (key: family/parent) and those this instance created */
  private addrVmacs = new Map<string, VmacLink>()
  private addrVmacsCreated: string[] = []
  private unsubSrc?: () => void
  private readonly sysctlRestore: Array<[string, string]> = []
  /** while a resumed MASTER restores its addresses: the kernel keys it already had */
  private resumedKeys?: Set<string>
  private readonly log: Logger

  constructor(model: VrrpInstanceModel, private readonly d: InstanceDeps) {
    this.m = model
    const g = d.globals
    this.version = model.version ?? (model.family === 6 ? 3 : g.version)
    this.cfg = {
      version: this.version,
      priority: model.priority,
      advertIntCs: Math.max(1, Math.round(model.advertInt * 100)),
      initialState: model.state,
      preempt: model.preempt,
      preemptDelayMs: model.preemptDelay * 1000,
      downTimerAdverts: model.downTimerAdverts ?? g.downTimerAdverts,
      lowerPrioNoAdvert: model.lowerPrioNoAdvert ?? g.lowerPrioNoAdvert ?? false,
      higherPrioSendAdvert: model.higherPrioSendAdvert ?? g.higherPrioSendAdvert ?? false,
      ownerIgnoreAdverts: model.ownerIgnoreAdverts ?? g.ownerIgnoreAdverts,
      primaryIp: '',
    }
    this.st = initialState(this.cfg)
    this.log = d.log.child({ instance: model.name })
  }

  get name(): string {
    return this.m.name
  }
  get state(): VrrpState {
    return this.st.state
  }
  get source(): string {
    return this.src
  }
  get unicast(): boolean {
    return this.m.unicastPeers.length > 0
  }
  /** keepalived: accept mode defaults to on, off in strict mode; the address owner always accepts */
  get noAccept(): boolean {
    const accept = this.m.accept ?? !(this.m.strict ?? this.d.globals.strict)
    return !accept && this.m.priority !== 255
  }
  private get dstGroup(): string {
    return this.m.mcastDstIp ?? (this.m.family === 4 ? this.d.globals.mcastGroup4 : this.d.globals.mcastGroup6)
  }

  // ---------------------------------------------------------------- start / stop

  /**
   * Start from INIT, or (a reload) carry on from the state of the instance this one replaces: no transition, no
   * notify, no stale-address sweep; what the old instance set up and this one no longer uses goes.
   */
  async start(carry?: InstanceCarry): Promise<void> {
    if (!carry) return this.startFrom(undefined)
    try {
      await this.startFrom(carry)
    } catch (err) {
      // nothing advertises what the old instance handed over: release it rather than leave VIPs unowned on the wire
      await this.releaseCarry(carry)
      throw err
    }
  }

  /** a carried start that failed: the addresses, firewall entries and interfaces it was handed go (sysctls at stop) */
  private async releaseCarry(carry: InstanceCarry): Promise<void> {
    await this.chain
    for (const k of carry.kernelKeys) await this.d.kernel.removeKey(k)
    await this.d.firewall?.clear(this.name).catch(() => undefined)
    await this.d.vmacFilter?.clear(this.name).catch(() => undefined)
    const rtnl = this.d.net.rtnl
    if (carry.vmacCreated && !(this.vmacCreated && this.ifname === carry.ifname)) await rtnl.delLink(carry.ifname).catch(() => undefined)
    for (const name of carry.addrVmacsCreated) if (!this.addrVmacsCreated.includes(name)) await rtnl.delLink(name).catch(() => undefined)
    this.log.warn(`(${this.name}) reload: could not carry on in ${carry.st.state} state; its addresses were released`)
  }

  private async startFrom(carry: InstanceCarry | undefined): Promise<void> {
    const net = this.d.net
    const base = this.m.interface ?? ''
    if (carry) {
      this.afterScripts(carry.scripts)
      Object.assign(this.stats, carry.stats)
      this.ahSeq = carry.ahSeq
      this.lastTransition = carry.lastTransition
      this.sysctlRestore.push(...carry.sysctlRestore)
    }
    this.ifname = base
    if (this.m.useVmac && base) await this.setupVmac(base)
    else if (this.m.useIpvlan && base) await this.setupIpvlan(base)
    if (carry?.vmacCreated) {
      if (carry.ifname === this.ifname) this.vmacCreated = true
      else await net.rtnl.delLink(carry.ifname).catch(() => undefined)
    }
    this.ifindex = this.ifname ? net.ifNameToIndex(this.ifname) : 0
    await this.setupAddressVmacs(base)
    if (carry) {
      const inUse = new Set([...this.addrVmacs.values()].map((v) => v.name))
      for (const name of carry.addrVmacsCreated) {
        if (!inUse.has(name)) await net.rtnl.delLink(name).catch(() => undefined)
        else if (!this.addrVmacsCreated.includes(name)) this.addrVmacsCreated.push(name)
      }
    }
    if (this.d.vmacFilter) {
      const vmacs = [...this.addrVmacs.values()]
      if (this.m.useVmac && base && this.ifname !== base) vmacs.push({ name: this.ifname, parent: base, family: this.m.family })
      // a carried instance that no longer has VMACs drops the entry its predecessor left under this name
      if (vmacs.length || carry) await this.d.vmacFilter.set(this.name, vmacs)
    }
    if (this.m.promoteSecondaries && this.m.family === 4 && this.ifname) {
      try {
        net.sysctl.write(`net.ipv4.conf.${sysctlIf(this.ifname)}.promote_secondaries`, '1')
      } catch {
        /* no such sysctl */
      }
    }
    this.src = await this.pickSource(base)
    if (!carry) await this.removeStale()
    else {
      const wanted = new Set(this.kernelKeys())
      for (const k of carry.kernelKeys) if (!wanted.has(k)) await this.d.kernel.removeKey(k)
    }
    this.cfg.primaryIp = this.src
    // unicast_fault_no_peer: no peers means FAULT instead of falling back to multicast
    const faultNoPeer = this.m.unicastFaultNoPeer && !this.unicast
    if (faultNoPeer) {
      this.log.warn(`(${this.name}) no unicast peers and unicast_fault_no_peer set - entering FAULT`)
      this.trackers.set('unicast-no-peer', { fault: true, delta: 0 })
    }
    // no socket for an instance that cannot leave FAULT (no peer, or its ipvlan could not be created)
    const noSocket = faultNoPeer || this.trackers.get('ipvlan')?.fault === true
    if (this.m.trackSrcIp) await this.trackSourceIp()
    if (this.trackersFault()) this.st = { ...this.st, fault: true }
    const xmitIf = this.m.useVmac && this.m.vmacXmitBase ? base : this.ifname
    this.sockKey = { family: this.m.family, ifname: this.m.useVmac ? xmitIf : base, unicast: this.unicast, group: this.unicast ? undefined : this.dstGroup, ah: this.m.auth?.type === 'AH' }
    if (!noSocket) {
      this.sock = this.d.pool.acquire(this.sockKey)
      await this.sizeRxBuf()
      this.sock.register(this.m.vrid, (p) => this.onPacket(p.buf, p.info))
    }
    if (this.st.fault || this.groupFault) this.st = { ...this.st, fault: true }
    const now = this.d.clock.now()
    if (!carry) this.dispatch({ type: 'startup', now })
    else if (this.st.state !== 'INIT') {
      // its sync group moved it already (a member resumed into FAULT first): what it had as MASTER goes now, with
      // the priority-0 advert a MASTER leaving sends (its socket is open), so that a peer takes over at once
      if (carry.st.state === 'MASTER') this.sendAdvert(0)
      const keys = carry.kernelKeys
      this.enqueue(async () => {
        await this.d.firewall?.clear(this.name)
        for (const k of keys) await this.d.kernel.removeKey(k)
      })
      this.log.info(`(${this.name}) reload: was ${carry.st.state}, now ${this.st.state} with its sync group`)
    } else {
      const c = carry.st
      this.resumedKeys = new Set(carry.kernelKeys)
      this.dispatch({ type: 'resume', now, state: c.state, masterIp: c.masterIp, masterPriority: c.masterPriority, masterAdvertIntCs: c.masterAdvertIntCs })
      this.log.info(`(${this.name}) reload: ${c.state} state kept${carry.name !== this.name ? ` (was ${carry.name})` : ''}`)
    }
    this.warmAdverts()
  }

  /**
   * A reload replaces this instance by one that carries on (start(carry)): stop its timers and socket, leave its
   * addresses, VMACs and sysctls in place, send nothing, notify nothing, and say what it hands over.
   */
  async suspend(): Promise<InstanceCarry> {
    this.cancelTimers()
    this.unsubSrc?.()
    this.unsubSrc = undefined
    await this.chain
    if (this.sock && this.sockKey) this.d.pool.release(this.sockKey, this.m.vrid)
    this.sock = undefined
    const carry: InstanceCarry = {
      name: this.name, scripts: this.scriptChain, st: { ...this.st }, stats: { ...this.stats }, ahSeq: this.ahSeq, lastTransition: this.lastTransition,
      ifname: this.ifname, vmacCreated: this.vmacCreated, addrVmacsCreated: [...this.addrVmacsCreated], sysctlRestore: [...this.sysctlRestore],
      kernelKeys: this.state === 'MASTER' ? this.kernelKeys() : [],
    }
    this.st = { ...this.st, state: 'INIT' }
    return carry
  }

  /** the notify scripts still queued by the instance this one replaces at a reload: ours run after them, in order */
  afterScripts(pending: Promise<void>): void {
    const before = this.scriptChain
    this.scriptChain = Promise.all([before, pending]).then(() => undefined, () => undefined)
  }

  /** notify scripts queued and not finished yet (a reload hands them to the instance that replaces this one) */
  get pendingScripts(): Promise<void> {
    return this.scriptChain
  }

  /** the KernelState keys of this instance's addresses, virtual routes and rules */
  private kernelKeys(): string[] {
    return [
      ...[...this.m.vips, ...this.m.evips].map((v) => KernelState.vipKey(v, this.vipDev(v))),
      ...this.m.routes.map((r) => KernelState.routeKey(r)),
      ...this.m.rules.map((r) => KernelState.ruleKey(r)),
    ]
  }

  /**
   * stop: priority-0 advert from a MASTER, VIPs removed (unless keep), notify STOP. An instance removed by a reload
   * notifies DELETED with notify_deleted, FAULT otherwise (keepalived's clear_diff_vrrp).
   */
  async stop(keep: boolean, removed = false, waitScripts = true): Promise<void> {
    const notifyAs = removed ? (this.m.notify.deleted ? 'DELETED' : 'FAULT') : 'STOP'
    this.dispatch({ type: 'shutdown', now: this.d.clock.now(), notifyAs }, keep)
    this.cancelTimers()
    this.unsubSrc?.()
    this.unsubSrc = undefined
    await this.chain
    // a reload does not wait for them (each may take up to 60 s): the instances it carries on must not go silent
    // meanwhile; a new instance of the same name queues its own after them (afterScripts)
    if (waitScripts) await this.scriptChain
    if (this.sock && this.sockKey) this.d.pool.release(this.sockKey, this.m.vrid)
    this.sock = undefined
    if (!keep) await this.teardownVmac()
  }

  private cancelTimers(): void {
    this.advertTask?.cancel()
    this.downTask?.cancel()
    this.refreshTask?.cancel()
    this.extraTask?.cancel()
    for (const t of this.garpTasks) t.cancel()
    this.garpTasks = []
  }

  /** keepalived removes its VIPs at start (left over by a killed predecessor) */
  private async removeStale(): Promise<void> {
    const rt = this.d.net.rtnl
    for (const v of [...this.m.vips, ...this.m.evips]) {
      const dev = this.vipDev(v)
      if (!dev) continue
      try {
        await rt.delAddress({ dev, address: v.address, prefixLength: v.prefixLength })
      } catch {
        /* not there */
      }
    }
  }

  private trackersFault(): boolean {
    return [...this.trackers.values()].some((t) => t.fault)
  }

  /** track_src_ip: FAULT while the configured unicast_src_ip / mcast_src_ip is not on any interface */
  private async trackSourceIp(): Promise<void> {
    const want = this.m.unicastSrcIp ?? this.m.mcastSrcIp
    if (!want) return
    const rt = this.d.net.rtnl
    const present = (await rt.listAddresses({ family: this.m.family })).some((a) => a.address === want)
    if (!present) this.log.warn(`(${this.name}) track_src_ip: source address ${want} is not configured - entering FAULT`)
    this.trackers.set('src-ip', { fault: !present, delta: 0 })
    const set = (up: boolean) => {
      if (this.trackers.get('src-ip')?.fault === !up) return
      this.log.info(`(${this.name}) track_src_ip: source address ${want} ${up ? 'restored' : 'removed'}`)
      this.setTracker('src-ip', { fault: !up, delta: 0 })
    }
    this.unsubSrc = rt.subscribe((e) => {
      if (e.kind === 'address' && e.address.address === want) set(e.action === 'new')
      else if (e.kind === 'resync') set(e.addresses.some((a) => a.address === want))
    })
  }

  private async pickSource(base: string): Promise<string> {
    if (this.m.unicastSrcIp) return this.m.unicastSrcIp
    if (this.m.mcastSrcIp) return this.m.mcastSrcIp
    if (!base) return this.m.family === 4 ? '0.0.0.0' : '::'
    const addrs = await this.d.net.rtnl.listAddresses({ family: this.m.family, dev: base })
    const vipSet = new Set(this.m.vips.map((v) => v.address))
    const cands = addrs.filter((a) => !vipSet.has(a.address))
    const pick = this.m.family === 6 ? cands.find((a) => a.address.startsWith('fe80')) ?? cands[0] : cands.find((a) => !a.flags.includes('secondary')) ?? cands[0]
    return pick?.address ?? (this.m.family === 4 ? '0.0.0.0' : '::')
  }

  private async setupVmac(base: string): Promise<void> {
    const net = this.d.net
    const name = vmacName(this.m, this.d.globals.vmacPrefix)
    const existing = await net.rtnl.getLink(name)
    if (!existing) {
      await net.rtnl.addMacvlan({ name, link: base, mode: 'private', mac: vmacMac(this.m), up: true })
      this.vmacCreated = true
    } else await net.rtnl.setLinkUp(name)
    this.ifname = name
    this.tuneVmac(name, base, this.m.family)
  }

  /** keepalived's settings: the VMAC answers ARP only for its own addresses, the base stops answering for them */
  private tuneVmac(vmac: string, parent: string, family: 4 | 6): void {
    const net = this.d.net
    const name = sysctlIf(vmac)
    const base = sysctlIf(parent)
    const set = (key: string, value: string) => {
      try {
        const old = net.sysctl.read(key)
        if (old !== value) {
          net.sysctl.write(key, value)
          this.sysctlRestore.push([key, old])
        }
      } catch {
        /* sysctl not present (IPv6 disabled, …) */
      }
    }
    if (family === 4) {
      set(`net.ipv4.conf.${name}.arp_ignore`, '1')
      set(`net.ipv4.conf.${name}.arp_filter`, '0')
      set(`net.ipv4.conf.${name}.accept_local`, '1')
      set(`net.ipv4.conf.${name}.rp_filter`, '0')
      set(`net.ipv4.conf.${base}.arp_ignore`, '1')
      set(`net.ipv4.conf.${base}.arp_filter`, '1')
    } else {
      set(`net.ipv6.conf.${name}.accept_dad`, '0')
    }
  }

  /**
   * `use_vmac` on a VIP/eVIP (or the instance's `use_vmac_addr`): the macvlans of addressVmacs(), created (or
   * reused when one of that name already sits on the same interface) for the instance's life. A name taken by
   * another interface leaves those addresses on their own device, with an error.
   */
  private async setupAddressVmacs(base: string): Promise<void> {
    const rtnl = this.d.net.rtnl
    for (const [key, w] of addressVmacs(this.m, base, this.d.globals.vmacPrefix)) {
      if (w.name === this.ifname) continue
      try {
        const existing = await rtnl.getLink(w.name)
        if (existing) {
          if (existing.link !== this.d.net.ifNameToIndex(w.link)) {
            this.log.error(`(${this.name}) use_vmac for addresses on ${w.link}: ${w.name} already exists on another interface - those addresses stay on ${w.link}`)
            continue
          }
          await rtnl.setLinkUp(w.name)
        } else {
          await rtnl.addMacvlan({ name: w.name, link: w.link, mode: 'private', mac: w.mac, up: true })
          this.addrVmacsCreated.push(w.name)
          this.log.info(`(${this.name}) Success creating VMAC interface ${w.name} on ${w.link}`)
        }
        this.tuneVmac(w.name, w.link, w.family)
        this.addrVmacs.set(key, { name: w.name, parent: w.link, family: w.family })
      } catch (err) {
        this.log.error(`(${this.name}) use_vmac: cannot create VMAC interface ${w.name} on ${w.link}: ${(err as Error).message} - those addresses stay on ${w.link}`)
      }
    }
  }

  /**
   * use_ipvlan: an ipvlan (L2) interface on the base interface instead of a macvlan, named as a VMAC
   * (`vrrp.<vrid>`), with the optional address and bridge|private|vepa flag. @kad/native has no ipvlan
   * request, so kad runs iproute2; when the kernel cannot create one (no ipvlan module) the instance stays
   * in FAULT with the reason in the log instead of silently running on the base interface.
   */
  private async setupIpvlan(base: string): Promise<void> {
    const u = this.m.useIpvlan!
    const name = u.name ?? `${this.d.globals.vmacPrefix}.${this.m.vrid}`
    const run = (args: string[]) => new Promise<void>((resolve, reject) => {
      execFile('ip', args, (err, _out, stderr) => (err ? reject(new Error(String(stderr).trim() || err.message)) : resolve()))
    })
    try {
      if (!(await this.d.net.rtnl.getLink(name))) {
        await run(['link', 'add', name, 'link', base, 'type', 'ipvlan', 'mode', 'l2', ...(u.mode ? [u.mode] : [])])
        this.vmacCreated = true
      }
      if (u.address) await run(['addr', 'replace', u.address.includes('/') ? u.address : `${u.address}/${this.m.family === 4 ? 32 : 128}`, 'dev', name])
      await this.d.net.rtnl.setLinkUp(name)
      this.ifname = name
    } catch (err) {
      const msg = (err as Error).message
      const why = /Unknown device type|not supported/i.test(msg) ? 'this kernel has no ipvlan support' : msg
      this.log.error(`(${this.name}) use_ipvlan: cannot create ipvlan interface ${name} on ${base}: ${why} - entering FAULT`)
      this.trackers.set('ipvlan', { fault: true, delta: 0 })
    }
  }

  private async teardownVmac(): Promise<void> {
    await this.d.vmacFilter?.clear(this.name)
    for (const [k, v] of this.sysctlRestore.reverse()) {
      try {
        this.d.net.sysctl.write(k, v)
      } catch {
        /* interface gone */
      }
    }
    this.sysctlRestore.length = 0
    for (const name of this.addrVmacsCreated) {
      try {
        await this.d.net.rtnl.delLink(name)
      } catch {
        /* already gone */
      }
    }
    this.addrVmacsCreated = []
    this.addrVmacs.clear()
    if (this.vmacCreated) {
      try {
        await this.d.net.rtnl.delLink(this.ifname)
      } catch {
        /* already gone */
      }
      this.vmacCreated = false
    }
  }

  // ---------------------------------------------------------------- receive

  expectation(): RxExpectation {
    const g = this.d.globals
    return {
      family: this.m.family,
      version: this.version,
      auth: this.version === 2 && this.m.auth ? { type: this.m.auth.type, key: this.m.auth.pass } : undefined,
      advertIntSec: this.version === 2 ? Math.round(this.m.advertInt) : undefined,
      addresses: this.m.vips.map((v) => v.address),
      skipAddressCheck: this.m.skipCheckAdvAddr ?? g.skipCheckAdvAddr,
      unicastPeers: this.m.unicastPeers,
      checkUnicastSrc: this.m.checkUnicastSrc ?? g.checkUnicastSrc,
      mcastGroup4: g.mcastGroup4,
      v3AsV2: this.m.v3ChecksumAsV2 ?? g.v3ChecksumAsV2,
      // keepalived keeps one AH sequence counter for what it sends and what it accepts
      lastAhSeq: this.m.auth?.type === 'AH' ? this.ahSeq : undefined,
    }
  }

  onPacket(buf: Buffer, info: MessageInfo): void {
    const meta = this.m.family === 4 ? { dst: info.dst } : { src: info.from, dst: info.dst, ttl: info.hopLimit }
    const v = validateAdvert(buf, meta, this.expectation())
    if (!v.ok) {
      this.reject(v.reason, v.detail, info.from)
      return
    }
    if (v.src === this.src && !this.unicast) return // our own (multicast loop)
    if (v.ah) this.ahSeq = Math.max(this.ahSeq, v.ah.seq)
    this.stats.advert_rcvd++
    if (v.advert.priority === 0) this.stats.pri_zero_rcvd++
    // another router advertising as master while we are one: two masters until the election settles (split brain)
    else if (this.st.state === 'MASTER') this.stats.rcvd_as_master = (this.stats.rcvd_as_master ?? 0) + 1
    const advertIntCs = this.version === 3 ? v.advert.advertInt : v.advert.advertInt * 100
    this.dispatch({ type: 'advert', now: this.d.clock.now(), priority: v.advert.priority, advertIntCs, src: v.src })
  }

  reject(reason: RejectReason, detail: string | undefined, from: string): void {
    this.stats[reason] = (this.stats[reason] ?? 0) + 1
    this.stats.invalid++
    this.log.limited(`rx:${this.name}:${reason}`, 'info', `(${this.name}) rejected advert from ${from}: ${reason}${detail ? ` (${detail})` : ''}`, { reason, from })
  }

  // ---------------------------------------------------------------- events and actions

  /** feed one event to the machine and run its actions */
  dispatch(e: FsmEvent, keep = false): FsmAction[] {
    const before = this.st.state
    const r = step(this.cfg, this.st, e)
    this.st = r.state
    for (const a of r.actions) this.run(a, e, keep)
    if (before !== this.st.state) this.lastTransition = this.d.clock.wallNow()
    return r.actions
  }

  private run(a: FsmAction, e: FsmEvent, keep: boolean): void {
    const sch = this.d.scheduler
    switch (a.type) {
      case 'sendAdvert':
        this.sendAdvert(a.priority)
        break
      // both timers are one task each for the instance's life, re-armed: nothing allocated per advert
      case 'armAdvertTimer': {
        const now = this.d.clock.now()
        const base = e.type === 'advertTimer' && this.firing !== undefined ? this.firing : now
        this.advertDeadline = base + a.ms
        if (this.advertTask) this.advertTask.rearm(this.advertDeadline - now)
        else this.advertTask = sch.addTimer(`vrrp.${this.name}.advert`, this.advertDeadline - now, this.onAdvertTimer, FINE)
        break
      }
      case 'cancelAdvertTimer':
        this.advertTask?.cancel()
        this.advertDeadline = undefined
        break
      case 'armMasterDown':
        if (this.downTask) this.downTask.rearm(a.ms)
        else this.downTask = sch.addTimer(`vrrp.${this.name}.master-down`, a.ms, this.onMasterDown, FINE)
        break
      case 'cancelMasterDown':
        this.downTask?.cancel()
        break
      case 'addVips':
        this.stats.become_master++
        this.enqueue(() => this.setAddresses(true))
        break
      case 'restoreVips': {
        // keepalived: "setting VIPs." again; GARP/NA only when addresses were added (for all of them, as keepalived)
        const had = this.resumedKeys ?? new Set<string>()
        this.resumedKeys = undefined
        const added = this.kernelKeys().some((k) => !had.has(k))
        this.enqueue(() => this.setAddresses(true))
        this.scheduleGarps(false, added)
        break
      }
      case 'removeVips':
        if (e.type !== 'startup') this.stats.release_master++
        if (!keep) this.enqueue(() => this.setAddresses(false))
        for (const t of this.garpTasks) t.cancel()
        this.garpTasks = []
        this.refreshTask?.cancel()
        this.extraTask?.cancel()
        break
      case 'sendGarp':
        this.scheduleGarps(a.lowerPrio === true)
        break
      case 'notify':
        this.notify(a.from, a.to, a.reason)
        break
      case 'masterRxLowerPri':
        if (this.m.notify.masterRxLowerPri) this.runScript(this.m.notify.masterRxLowerPri)
        break
    }
  }

  private readonly onAdvertTimer = (): void => {
    this.firing = this.advertDeadline
    this.dispatch({ type: 'advertTimer', now: this.d.clock.now() })
    this.firing = undefined
  }

  private readonly onMasterDown = (): void => {
    // act first (the advert leaves inside dispatch), log after
    this.dispatch({ type: 'masterDown', now: this.d.clock.now() })
    this.log.info(`(${this.name}) Receive advertisement timeout`)
  }

  private enqueue(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err) => this.log.warn(`(${this.name}) ${(err as Error).message}`))
  }

  // ---------------------------------------------------------------- adverts

  buildAdvert(priority: number, dst: string): Buffer {
    const adv: Advert = {
      version: this.version, type: 1, vrid: this.m.vrid, priority,
      advertInt: this.version === 3 ? this.cfg.advertIntCs : Math.round(this.m.advertInt),
      addresses: this.m.vips.map((v) => v.address),
    }
    if (this.m.family === 6) return encodeVrrp(adv, { family: 6 })
    this.ipId = (this.ipId + 1) & 0xffff || 1
    const auth = this.version === 2 && this.m.auth
      ? this.m.auth.type === 'PASS' ? { type: 'PASS' as const, key: this.m.auth.pass } : { type: 'AH' as const, key: this.m.auth.pass, seq: this.ahSeq }
      : undefined
    if (this.version === 2 && !auth) adv.authType = AUTH.NONE
    const oldCs = this.unicast && this.m.oldUnicastChecksum === 'always'
    return encodeIpv4Packet(adv, {
      src: this.src, dst, id: this.ipId, ttl: this.unicast ? (this.m.unicastTtl ?? 255) : 255, auth, ahZeroTtl: this.unicast,
      v3AsV2: this.m.v3ChecksumAsV2 ?? this.d.globals.v3ChecksumAsV2, pseudoDst: oldCs ? (this.d.globals.mcastGroup4 ?? MCAST_GROUP4) : undefined,
    })
  }

  /**
   * The packet for an advert. Nothing in it changes between adverts but the priority and, for IPv4, the IP id
   * (patched in place; the kernel fills in the header checksum), so it is built once per priority and
   * destination: encoding parsed every address text again, a few KB of garbage per advert and a young-generation
   * GC every ~2 s at 10 ms adverts, each delaying an advert by 1-2 ms. AH packets are built each time (their
   * sequence number and ICV change). A reload that changes the instance clears the cache (updateInPlace).
   */
  private advertPacket(priority: number, dst: string): Buffer {
    if (this.m.auth?.type === 'AH') return this.buildAdvert(priority, dst)
    const last = this.adverts.get(dst)
    if (last?.priority !== priority) {
      const pkt = this.buildAdvert(priority, dst)
      this.adverts.set(dst, { priority, pkt })
      return pkt
    }
    if (this.m.family === 4) {
      this.ipId = (this.ipId + 1) & 0xffff || 1
      last.pkt.writeUInt16BE(this.ipId, 4)
    }
    return last.pkt
  }

  /**
   * keepalived's receive-buffer sizing: `kernel_rx_buf_size` on the instance, else global_defs
   * `vrrp_rx_bufs_policy MTU|ADVERT|NUMBER` times `vrrp_rx_bufs_multiplier` (default 3; a NUMBER is taken as
   * it is), else the system default. The socket's SO_RCVBUF is the sum over the instances sharing it.
   */
  private async sizeRxBuf(): Promise<void> {
    const g = this.d.globals.tuning
    const policy = g.vrrp_rx_bufs_policy?.[0]?.toUpperCase()
    const mult = Number(g.vrrp_rx_bufs_multiplier?.[0] ?? 3) || 3
    let bytes = this.m.kernelRxBufSize
    if (bytes === undefined && policy === 'MTU') bytes = ((this.ifname ? (await this.d.net.rtnl.getLink(this.ifname))?.mtu : undefined) ?? 1500) * mult
    else if (bytes === undefined && policy === 'ADVERT') bytes = this.advertPacket(this.st.effectivePriority, this.unicast ? (this.m.unicastPeers[0]?.address ?? this.dstGroup) : this.dstGroup).length * mult
    else if (bytes === undefined && policy !== undefined && /^\d+$/.test(policy)) bytes = Number(policy)
    if (bytes === undefined) return
    try {
      const kernel = this.sock?.setRxBuf(this.m.vrid, bytes)
      this.log.info(`(${this.name}) receive buffer share ${bytes} bytes; the socket's SO_RCVBUF is now ${kernel}`)
    } catch (err) {
      this.log.warn(`(${this.name}) cannot set the receive buffer to ${bytes} bytes: ${(err as Error).message}`)
    }
  }

  /**
   * Build (not send) the adverts this instance would send now, so that a backup whose master goes down sends its
   * first advert from the cache: encoding it then, in code the process had never run, cost a few hundred
   * microseconds of the failover.
   */
  private warmAdverts(): void {
    if (!this.sock || this.m.auth?.type === 'AH') return
    const prio = this.st.effectivePriority
    if (this.unicast) for (const p of this.m.unicastPeers) this.advertPacket(prio, p.address)
    else this.advertPacket(prio, this.dstGroup)
  }

  private sendAdvert(priority: number): void {
    if (!this.sock) return
    if (this.m.auth?.type === 'AH') this.ahSeq++
    if (this.unicast) for (const p of this.m.unicastPeers) this.sendAdvertTo(priority, p.address)
    else this.sendAdvertTo(priority, this.dstGroup)
    if (priority === 0) this.log.info(`(${this.name}) sent 0 priority`)
  }

  private sendAdvertTo(priority: number, dst: string): void {
    try {
      const pkt = this.advertPacket(priority, dst)
      this.sock!.send(pkt, dst, this.m.family === 6 ? { src: this.src === '::' ? undefined : this.src, ifindex: this.ifindex || undefined, hopLimit: this.unicast ? (this.m.unicastTtl ?? 255) : 255 } : undefined)
      this.stats.advert_sent++
      if (priority === 0) this.stats.pri_zero_sent++
    } catch (err) {
      this.stats.send_error = (this.stats.send_error ?? 0) + 1
      this.log.limited(`tx:${this.name}`, 'warn', `(${this.name}) cannot send advert to ${dst}: ${(err as Error).message}`)
    }
  }

  // ---------------------------------------------------------------- addresses

  private vipDev(v: VipModel): string {
    if (this.addrVmacs.size > 0 && (v.useVmac || this.m.useVmacAddr)) {
      const vmac = this.addrVmacs.get(addressVmacKey(v.dev ?? (this.m.interface ?? ''), v.family))
      if (vmac) return vmac.name
    }
    return v.dev ?? this.ifname
  }

  private async setAddresses(up: boolean): Promise<void> {
    const k = this.d.kernel
    const all = [...this.m.vips, ...this.m.evips]
    if (up) {
      this.log.info(`(${this.name}) setting VIPs.`)
      if (this.noAccept) await this.d.firewall?.set(this.name, all.map((v) => ({ family: v.family, address: v.address })))
      else if (this.d.firewall?.has(this.name)) await this.d.firewall.clear(this.name)
      for (const v of all) await k.addVip(v, this.vipDev(v), true)
      for (const r of this.m.routes) await k.addRoute(r, this.ifname)
      for (const r of this.m.rules) await k.addRule(r)
    } else {
      this.log.info(`(${this.name}) removing VIPs.`)
      await this.d.firewall?.clear(this.name)
      for (const r of this.m.rules) await k.delRule(r)
      for (const r of this.m.routes) await k.delRoute(r)
      for (const v of all) await k.delVip(v, this.vipDev(v))
    }
  }

  /**
   * A reload changed only the VIPs/eVIPs/virtual routes/rules or the (non-owner) priority of this instance: keep
   * its state (as keepalived does for an instance it matches). A new priority takes effect like a tracker change
   * (the next advert carries it; a peer that now wins preempts); a MASTER removes the addresses that went, adds
   * those that came and announces the new VIPs.
   */
  updateInPlace(next: VrrpInstanceModel): void {
    const old = this.m
    this.m = next
    this.adverts.clear()
    this.warmAdverts()
    if (next.priority !== old.priority) {
      this.log.info(`(${this.name}) reload: priority ${old.priority} -> ${next.priority}, state kept`)
      this.cfg.priority = next.priority
      this.reevaluate()
    }
    if (this.state !== 'MASTER' || sameAddresses(old, next)) return
    const k = this.d.kernel
    const vkey = (v: VipModel) => KernelState.vipKey(v, this.vipDev(v))
    const minus = <T>(a: T[], b: T[], key: (x: T) => string) => a.filter((x) => !b.some((y) => key(y) === key(x)))
    const oldV = [...old.vips, ...old.evips]
    const newV = [...next.vips, ...next.evips]
    const addedV = minus(newV, oldV, vkey)
    this.log.info(`(${this.name}) reload: ${addedV.length} address(es) added, ${minus(oldV, newV, vkey).length} removed, state kept`)
    this.enqueue(async () => {
      for (const r of minus(old.rules, next.rules, KernelState.ruleKey)) await k.delRule(r)
      for (const r of minus(old.routes, next.routes, KernelState.routeKey)) await k.delRoute(r)
      for (const v of minus(oldV, newV, vkey)) await k.delVip(v, this.vipDev(v))
      if (this.noAccept) await this.d.firewall?.set(this.name, newV.map((v) => ({ family: v.family, address: v.address })))
      else await this.d.firewall?.clear(this.name)
      for (const v of addedV) await k.addVip(v, this.vipDev(v), true)
      for (const r of minus(next.routes, old.routes, KernelState.routeKey)) await k.addRoute(r, this.ifname)
      for (const r of minus(next.rules, old.rules, KernelState.ruleKey)) await k.addRule(r)
    })
    const g = this.d.globals
    if (addedV.length) this.enqueue(() => this.garpBurst(this.m.garpMasterRepeat ?? g.garpMasterRepeat, addedV))
  }

  // ---------------------------------------------------------------- GARP / NA

  private async garpBurst(repeat: number, only?: VipModel[]): Promise<void> {
    const g = this.d.globals
    const pacer = this.d.garpPacer ?? new GarpPacer(g)
    const all = only ?? [...this.m.vips, ...this.m.evips]
    for (let i = 0; i < repeat; i++) {
      for (const v of all) {
        const dev = this.vipDev(v)
        const wait = pacer.reserve(dev, v.family, this.d.clock.now())
        if (wait > 0) await new Promise((res) => this.d.clock.setTimeout(() => res(undefined), wait))
        try {
          if (v.family === 4) await this.d.net.arp.sendGratuitous({ dev, ip: v.address })
          else await this.d.net.nd.sendUnsolicitedNa({ dev, ip: v.address })
          pacer.sent(dev, v.family, this.d.clock.now())
          this.stats.garp_sent = (this.stats.garp_sent ?? 0) + 1
        } catch (err) {
          this.log.limited(`garp:${this.name}`, 'warn', `(${this.name}) cannot send gratuitous ARP/NA for ${v.address}: ${(err as Error).message}`)
        }
      }
    }
  }

  /** the GARP/NA bursts of a new MASTER (or of a lower-priority advert), and a MASTER's periodic ones; burst=false: only the periodic ones (a MASTER kept by a reload) */
  private scheduleGarps(lowerPrio: boolean, burst = true): void {
    const g = this.d.globals
    const repeat = lowerPrio ? (this.m.garpLowerPrioRepeat ?? g.garpLowerPrioRepeat ?? this.m.garpMasterRepeat ?? g.garpMasterRepeat) : (this.m.garpMasterRepeat ?? g.garpMasterRepeat)
    const delay = lowerPrio ? (this.m.garpLowerPrioDelay ?? g.garpLowerPrioDelay ?? this.m.garpMasterDelay ?? g.garpMasterDelay) : (this.m.garpMasterDelay ?? g.garpMasterDelay)
    if (repeat <= 0) return
    if (burst && !lowerPrio) this.log.info(`(${this.name}) Sending/queueing gratuitous ARPs on ${this.ifname}`)
    // after the VIPs are in place
    if (burst) this.enqueue(() => this.garpBurst(repeat))
    if (burst && delay > 0 && !g.minGarp) {
      this.garpTasks.push(this.d.scheduler.addTimer(`vrrp.${this.name}.garp`, delay * 1000, () => {
        if (this.state === 'MASTER') this.enqueue(() => this.garpBurst(repeat))
      }))
    }
    // garp_extra_if: periodic GARP/NA on the other interfaces of the VIPs while MASTER
    const extra = this.m.garpExtraIf ?? g.garpExtraIf
    const extraVips = extra && extra.seconds > 0 ? extraGarpVips([...this.m.vips, ...this.m.evips].map((v) => ({ ...v, dev: this.vipDev(v) })), this.ifname, extra.all) : []
    if (!lowerPrio && extra && extraVips.length) {
      this.extraTask?.cancel()
      this.extraTask = this.d.scheduler.every(`vrrp.${this.name}.garp-extra-if`, extra.seconds * 1000, () => {
        if (this.state === 'MASTER') this.enqueue(() => this.garpBurst(1, extraVips))
      })
    }
    const refresh = this.m.garpMasterRefresh ?? g.garpMasterRefresh
    if (!lowerPrio && refresh > 0) {
      this.refreshTask?.cancel()
      const rr = this.m.garpMasterRefreshRepeat ?? g.garpMasterRefreshRepeat
      this.refreshTask = this.d.scheduler.every(`vrrp.${this.name}.garp-refresh`, refresh * 1000, () => {
        if (this.state === 'MASTER') this.enqueue(() => this.garpBurst(rr))
      })
    }
  }

  // ---------------------------------------------------------------- notifications

  private notify(from: VrrpState, to: VrrpState | 'STOP' | 'DELETED', reason: string): void {
    const word = to === 'INIT' ? 'STOP' : to
    if (reason === 'deleted') this.log.info(`(${this.name}) removed by reload, notifying ${word}`)
    else this.log.info(`(${this.name}) Entering ${word} STATE${reason === 'init' ? ' (init)' : ''}`)
    const prio = this.st.effectivePriority
    const n: Notification = {
      source: 'vrrp', kind: 'vrrp-instance', name: this.name, from, to: word, reason, time: this.d.clock.wallNow(), priority: prio,
      ...(this.m.smtpAlert !== undefined ? { smtpAlert: this.m.smtpAlert } : {}),
      detail: { vrid: this.m.vrid, interface: this.m.interface, syncGroup: this.syncGroup },
    }
    try {
      this.d.publish(n)
    } catch (err) {
      this.log.limited(`pub:${this.name}`, 'warn', `(${this.name}) cannot publish notification: ${(err as Error).message}`)
    }
    runNotifyScripts(this.m.notify, word, ['INSTANCE', this.name, word, String(prio)], (s, extra) => this.runScript(s, extra))
    this.d.onTransition?.(this, from, to, reason)
  }

  runScript(s: ScriptRef, extraArgs?: string[]): void {
    const runner = this.d.scriptRunner
    if (!runner) return
    this.scriptChain = this.scriptChain.then(async () => {
      try {
        await runner.run({ command: s.command, user: s.user, group: s.group, extraArgs, timeoutMs: 60_000 })
      } catch (err) {
        this.log.limited(`script:${this.name}`, 'warn', `(${this.name}) notify script ${s.command} failed: ${(err as Error).message}`)
      }
    })
  }

  // ---------------------------------------------------------------- tracking

  /** a tracker changed: recompute the priority and the fault state */
  setTracker(key: string, eff: TrackEffect): void {
    this.trackers.set(key, eff)
    this.reevaluate()
  }

  /** notify_priority_changes: MASTER_PRIORITY / BACKUP_PRIORITY on the notify FIFOs (no scripts, no e-mail) */
  private notifyPriority(): void {
    if (!(this.m.notifyPriorityChanges ?? this.d.globals.notifyPriorityChanges)) return
    if (this.state !== 'MASTER' && this.state !== 'BACKUP') return
    this.publishFifoOnly(`${this.state}_PRIORITY`, 'priority')
  }

  private publishFifoOnly(to: string, reason: string): void {
    try {
      this.d.publish({
        source: 'vrrp', kind: 'vrrp-instance', name: this.name, from: this.state, to, reason,
        time: this.d.clock.wallNow(), priority: this.st.effectivePriority, smtpAlert: false,
        detail: { vrid: this.m.vrid, interface: this.m.interface, syncGroup: this.syncGroup },
      })
    } catch (err) {
      this.log.limited(`pub:${this.name}`, 'warn', `(${this.name}) cannot publish notification: ${(err as Error).message}`)
    }
  }

  /** fifo_write_vrrp_states_on_reload: the current state again on the notify FIFOs (no scripts, no e-mail) */
  republishState(): void {
    if (this.state === 'INIT') return
    this.publishFifoOnly(this.state, 'reload')
  }

  reevaluate(): void {
    let fault = this.groupFault
    let delta = 0
    for (const e of this.trackers.values()) {
      if (e.fault) fault = true
      delta += e.delta
    }
    const now = this.d.clock.now()
    if (this.cfg.priority !== 255) {
      const p = Math.max(1, Math.min(254, this.cfg.priority + delta))
      if (p !== this.st.effectivePriority) {
        this.dispatch({ type: 'priority', now, priority: p })
        this.notifyPriority()
      }
    }
    if (fault && !this.st.fault) this.dispatch({ type: 'fault', now, reason: 'tracking' })
    else if (!fault && this.st.fault) this.dispatch({ type: 'faultCleared', now })
  }

  /** the master-down interval as currently armed (dumps) */
  masterDownMs(): number {
    return masterDownMs(this.cfg, this.st)
  }
}

function sameAddresses(a: VrrpInstanceModel, b: VrrpInstanceModel): boolean {
  const strip = (m: VrrpInstanceModel) => JSON.stringify([m.vips, m.evips, m.routes, m.rules], (k, v) => (k === 'loc' ? undefined : v))
  return strip(a) === strip(b)
}

export function runNotifyScripts(n: NotifyScripts, word: string, extra: string[], run: (s: ScriptRef, extra?: string[]) => void): void {
  const specific = word === 'MASTER' ? n.master : word === 'BACKUP' ? n.backup : word === 'FAULT' ? n.fault : word === 'DELETED' ? n.deleted : n.stop
  // notify_deleted without a script only changes the word
  if (specific?.command) run(specific)
  if (n.notify) run(n.notify, extra)
}
