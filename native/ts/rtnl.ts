// Rtnl: addresses, links, macvlans, routes, rules and link/address events over rtnetlink.
import { ifNameToIndex } from './socket.js'
import { NETLINK } from './constants.js'
import { NLM_F, type NlMsg } from './codec/netlink.js'
import {
  decodeAddress, decodeLink, decodeRoute, decodeRule, encodeAddress, encodeDumpRequest, encodeLinkChange, encodeMacvlan, encodeRoute, encodeRule,
  encodeIfinfomsg, RTM, RTM_NAMES, RTNLGRP,
  type Address, type AddressSpec, type Link, type MacvlanMode, type Route, type RouteSpec, type Rule, type RuleSpec, type AddressFlag, type ScopeName,
} from './codec/rtnetlink.js'
import { NetlinkSocket } from './netlink-socket.js'
import { systemError } from './errors.js'

/** An interface given by name or index. */
export type Dev = string | number

export interface AddressInput extends Omit<AddressSpec, 'ifindex'> {
  dev: Dev
}

export interface RouteInput extends Omit<RouteSpec, 'oif'> {
  dev?: Dev
}

export interface MacvlanInput {
  name: string
  link: Dev
  mode: MacvlanMode
  mac?: string
  up?: boolean
}

export type RtnlEvent =
  | { kind: 'link'; action: 'new' | 'del'; link: Link }
  | { kind: 'address'; action: 'new' | 'del'; address: Address }
  /** The event socket overran (ENOBUFS): events were lost; here is the current state from a fresh dump. */
  | { kind: 'resync'; links: Link[]; addresses: Address[] }

export interface RtnlOptions {
  netns?: string
  timeoutMs?: number
  /** Kernel receive buffer of the event socket (default 4 MiB); small values make overruns testable. */
  eventReceiveBufferBytes?: number
}

/** NetlinkSocket's default receive buffer */
const DEFAULT_RCVBUF = 4 * 1024 * 1024

/** a receive buffer size, forced (SO_RCVBUFFORCE) or not */
export interface RtnlBuffers {
  cmd?: { bytes: number; force: boolean }
  events?: { bytes: number; force: boolean }
}

export class Rtnl {
  private readonly netns: string | undefined
  private readonly timeoutMs: number | undefined
  private readonly eventBuffer: number | undefined
  private cmd?: NetlinkSocket
  private events?: NetlinkSocket
  /** receive buffers asked for by setReceiveBuffers() (keepalived's `vrrp_netlink_*_rcv_bufs[_force]`) */
  private buffers: RtnlBuffers = {}
  private readonly eventHandlers: Array<(e: RtnlEvent) => void> = []

  constructor(opts: RtnlOptions = {}) {
    this.netns = opts.netns
    this.timeoutMs = opts.timeoutMs
    this.eventBuffer = opts.eventReceiveBufferBytes
  }

  /** The event socket while anyone is subscribed. */
  get eventSocket(): NetlinkSocket | undefined {
    return this.events
  }

  /** The command socket (opened on first use). */
  get socket(): NetlinkSocket {
    if (!this.cmd) {
      const b = this.buffers.cmd
      this.cmd = new NetlinkSocket({ protocol: NETLINK.ROUTE, netns: this.netns, timeoutMs: this.timeoutMs, typeNames: RTM_NAMES, receiveBufferBytes: b?.bytes, forceReceiveBuffer: b?.force }).unref()
    }
    return this.cmd
  }

  /**
   * The receive buffers of the command and the event (monitor) socket, for the sockets open now and those opened
   * later. A side left out has kad's default (4 MiB, forced): one that a previous call set goes back to it (a reload
   * that removed the keyword). Returns the sizes the kernel reports for the open sockets it changed.
   */
  setReceiveBuffers(b: RtnlBuffers): { cmd?: number; events?: number } {
    const prev = this.buffers
    this.buffers = { ...b }
    const out: { cmd?: number; events?: number } = {}
    const cmd = b.cmd ?? (prev.cmd ? { bytes: DEFAULT_RCVBUF, force: true } : undefined)
    const events = b.events ?? (prev.events ? { bytes: this.eventBuffer ?? DEFAULT_RCVBUF, force: true } : undefined)
    if (cmd && this.cmd) out.cmd = this.cmd.setReceiveBuffer(cmd.bytes, cmd.force)
    if (events && this.events) out.events = this.events.setReceiveBuffer(events.bytes, events.force)
    return out
  }

  /** SO_RCVBUF of the open command and event sockets, as the kernel reports it */
  receiveBuffers(): { cmd?: number; events?: number } {
    return { cmd: this.cmd?.receiveBuffer(), events: this.events?.receiveBuffer() }
  }

  /**
   * Resolves an interface name to its index in this namespace (numbers pass through). Names are cached for at
   * most a second (resolving inside another namespace costs two setns calls); ENODEV and link deletion clear it.
   */
  ifindex(dev: Dev): number {
    if (typeof dev === 'number') return dev
    const now = Date.now()
    const hit = this.names.get(dev)
    if (hit && hit.until > now) return hit.index
    const i = ifNameToIndex(dev, this.netns)
    if (i === 0) throw systemError(19, 'if_nametoindex', `no interface named ${dev}`)
    this.names.set(dev, { index: i, until: now + 1000 })
    return i
  }

  private readonly names = new Map<string, { index: number; until: number }>()

  private async send(type: number, flags: number, body: Buffer): Promise<void> {
    try {
      await this.socket.request(type, flags, body)
    } catch (e) {
      if ((e as { code?: string }).code === 'ENODEV') this.names.clear()
      throw e
    }
  }

  // ---------- addresses ----------

  async addAddress(a: AddressInput, opts: { replace?: boolean } = {}): Promise<void> {
    const body = encodeAddress({ ...a, ifindex: this.ifindex(a.dev) })
    await this.send(RTM.NEWADDR, NLM_F.CREATE | (opts.replace ? NLM_F.REPLACE : NLM_F.EXCL), body)
  }

  async delAddress(a: AddressInput): Promise<void> {
    await this.send(RTM.DELADDR, 0, encodeAddress({ ...a, ifindex: this.ifindex(a.dev) }))
  }

  async listAddresses(filter: { family?: 4 | 6; dev?: Dev } = {}): Promise<Address[]> {
    const fam = filter.family === 4 ? 2 : filter.family === 6 ? 10 : 0
    const msgs = await this.socket.dump(RTM.GETADDR, encodeDumpRequest(RTM.GETADDR, fam))
    const idx = filter.dev === undefined ? undefined : this.ifindex(filter.dev)
    return collect(msgs, RTM.NEWADDR, (m) => { const d = decodeAddress(m); return d.ok ? d.address : undefined })
      .filter((a) => (idx === undefined || a.ifindex === idx) && (filter.family === undefined || a.family === filter.family))
  }

  // ---------- links ----------

  async listLinks(): Promise<Link[]> {
    const msgs = await this.socket.dump(RTM.GETLINK, encodeDumpRequest(RTM.GETLINK))
    return collect(msgs, RTM.NEWLINK, (m) => { const d = decodeLink(m); return d.ok ? d.link : undefined })
  }

  /** One link, or undefined when there is no such interface. */
  async getLink(dev: Dev): Promise<Link | undefined> {
    const idx = typeof dev === 'number' ? dev : ifNameToIndex(dev, this.netns)
    if (!idx) return undefined
    try {
      const msgs = await this.socket.request(RTM.GETLINK, 0, encodeIfinfomsg(idx))
      return collect(msgs, RTM.NEWLINK, (m) => { const d = decodeLink(m); return d.ok ? d.link : undefined })[0]
    } catch (e) {
      if ((e as { code?: string }).code === 'ENODEV') return undefined
      throw e
    }
  }

  async setLinkUp(dev: Dev): Promise<void> { await this.setLink(dev, { up: true }) }
  async setLinkDown(dev: Dev): Promise<void> { await this.setLink(dev, { up: false }) }
  async setLinkMac(dev: Dev, mac: string): Promise<void> { await this.setLink(dev, { mac }) }

  async setLink(dev: Dev, change: { up?: boolean; mac?: string; mtu?: number }): Promise<void> {
    await this.send(RTM.NEWLINK, 0, encodeLinkChange({ ...change, ifindex: this.ifindex(dev) }))
  }

  async addMacvlan(m: MacvlanInput): Promise<void> {
    await this.send(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, encodeMacvlan({ ...m, link: this.ifindex(m.link) }))
  }

  async delLink(dev: Dev): Promise<void> {
    await this.send(RTM.DELLINK, 0, encodeIfinfomsg(this.ifindex(dev)))
    this.names.clear()
  }

  // ---------- routes ----------

  private routeSpec(r: RouteInput): RouteSpec {
    const { dev, ...rest } = r
    return dev === undefined ? rest : { ...rest, oif: this.ifindex(dev) }
  }

  async addRoute(r: RouteInput, opts: { replace?: boolean } = {}): Promise<void> {
    await this.send(RTM.NEWROUTE, NLM_F.CREATE | (opts.replace ? NLM_F.REPLACE : NLM_F.EXCL), encodeRoute(this.routeSpec(r)))
  }

  async delRoute(r: RouteInput): Promise<void> {
    await this.send(RTM.DELROUTE, 0, encodeRoute(this.routeSpec(r), true))
  }

  async listRoutes(filter: { family?: 4 | 6; table?: number } = {}): Promise<Route[]> {
    const fam = filter.family === 4 ? 2 : filter.family === 6 ? 10 : 0
    const msgs = await this.socket.dump(RTM.GETROUTE, encodeDumpRequest(RTM.GETROUTE, fam))
    return collect(msgs, RTM.NEWROUTE, (m) => { const d = decodeRoute(m); return d.ok ? d.route : undefined })
      .filter((r) => filter.table === undefined || r.table === filter.table)
  }

  // ---------- rules ----------

  async addRule(r: RuleSpec): Promise<void> {
    await this.send(RTM.NEWRULE, NLM_F.CREATE | NLM_F.EXCL, encodeRule(r))
  }

  async delRule(r: RuleSpec): Promise<void> {
    await this.send(RTM.DELRULE, 0, encodeRule(r, true))
  }

  async listRules(filter: { family?: 4 | 6 } = {}): Promise<Rule[]> {
    const fam = filter.family === 6 ? 10 : 2
    const msgs = await this.socket.dump(RTM.GETRULE, encodeDumpRequest(RTM.GETRULE, fam))
    return collect(msgs, RTM.NEWRULE, (m) => { const d = decodeRule(m); return d.ok ? d.rule : undefined })
  }

  // ---------- events ----------

  /**
   * Link and address change events (RTNLGRP_LINK, IPV4_IFADDR, IPV6_IFADDR) on a separate socket. On an overrun
   * the handler gets { kind: 'resync' } with freshly dumped links and addresses. Returns an unsubscribe function.
   */
  subscribe(handler: (e: RtnlEvent) => void): () => void {
    this.eventHandlers.push(handler)
    if (!this.events) {
      const b = this.buffers.events
      const s = new NetlinkSocket({
        protocol: NETLINK.ROUTE, netns: this.netns, groups: [RTNLGRP.LINK, RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR], typeNames: RTM_NAMES,
        receiveBufferBytes: b?.bytes ?? this.eventBuffer, forceReceiveBuffer: b?.force,
      })
      s.onNotification((m) => this.onEvent(m))
      s.onOverrun(() => void this.resync())
      this.events = s
    }
    return () => {
      const i = this.eventHandlers.indexOf(handler)
      if (i >= 0) this.eventHandlers.splice(i, 1)
      if (this.eventHandlers.length === 0 && this.events) { this.events.close(); this.events = undefined }
    }
  }

  private emit(e: RtnlEvent): void {
    for (const h of [...this.eventHandlers]) h(e)
  }

  private onEvent(m: NlMsg): void {
    if (m.type === RTM.NEWLINK || m.type === RTM.DELLINK) {
      const d = decodeLink(m)
      if (d.ok) this.emit({ kind: 'link', action: m.type === RTM.NEWLINK ? 'new' : 'del', link: d.link })
    } else if (m.type === RTM.NEWADDR || m.type === RTM.DELADDR) {
      const d = decodeAddress(m)
      if (d.ok) this.emit({ kind: 'address', action: m.type === RTM.NEWADDR ? 'new' : 'del', address: d.address })
    }
  }

  /** Failed re-sync dumps (each is retried, up to three attempts). */
  resyncFailures = 0

  private async resync(attempt = 1): Promise<void> {
    try {
      const [links, addresses] = await Promise.all([this.listLinks(), this.listAddresses()])
      this.emit({ kind: 'resync', links, addresses })
    } catch {
      this.resyncFailures++
      if (attempt < 3 && this.events) setTimeout(() => void this.resync(attempt + 1), 200 * attempt).unref()
    }
  }

  close(): void {
    this.cmd?.close()
    this.events?.close()
    this.cmd = undefined
    this.events = undefined
    this.eventHandlers.length = 0
  }
}

function collect<T>(msgs: NlMsg[], type: number, decode: (m: NlMsg) => T | undefined): T[] {
  const out: T[] = []
  for (const m of msgs) {
    if (m.type !== type) continue
    const v = decode(m)
    if (v !== undefined) out.push(v)
  }
  return out
}

export type { Address, Link, Route, Rule, AddressFlag, ScopeName, MacvlanMode }
