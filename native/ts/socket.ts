// KadSocket: a typed wrapper around the addon's socket (see docs/native.md).
import { addon, type RawMessage, type RawSocket } from './addon.js'
import { AF, DOMAINS, IP, IPV6, SO, SOCK, SOL, TYPES, type Domain, type SocketType } from './constants.js'
import { formatIP, parseIPv4, parseIPv6 } from './codec/ip.js'
import { decodeSockAddr, encodeSockAddr, type SockAddr } from './codec/sockaddr.js'
import { i32, wi32 } from './codec/host-endian.js'
import { withCapability } from './errors.js'

type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never
/** A sockaddr; `family` may be left out (the socket's own domain is used). */
export type SockAddrInput = SockAddr | DistributiveOmit<SockAddr, 'family'>

export interface OpenSocketOptions {
  domain: Domain | number
  type: SocketType | number
  protocol?: number
  /** Path of a network namespace (e.g. /run/netns/NAME): the socket is created inside it. */
  netns?: string
  /** Size of the receive buffer used for each datagram (default 65536). Larger datagrams are reported truncated. */
  receiveBufferSize?: number
  /** Maximum datagrams read per readable event before yielding to the event loop (default 64). */
  batch?: number
}

export interface SendOptions {
  /** IPv4: TTL of this packet (IP_TTL control message). */
  ttl?: number
  /** IPv6: hop limit of this packet (IPV6_HOPLIMIT control message). */
  hopLimit?: number
  /** Outgoing interface index (IP_PKTINFO / IPV6_PKTINFO). */
  ifindex?: number
  /** Source address (IP_PKTINFO ipi_spec_dst / IPV6_PKTINFO ipi6_addr). */
  src?: string
}

export interface MessageInfo {
  /** Sender: IP address (inet/inet6), MAC (packet), port id as text (netlink), path (unix). */
  from: string
  port?: number
  ttl?: number
  hopLimit?: number
  /** Receiving interface (IP_PKTINFO / IPV6_PKTINFO, or sockaddr_ll for packet sockets). */
  ifindex?: number
  /** Destination address of the packet (IP_PKTINFO / IPV6_PKTINFO). */
  dst?: string
  /** The datagram was larger than the receive buffer; `buf` holds only its beginning. */
  truncated?: boolean
  /** packet sockets: ethertype and packet type (PACKET_HOST, PACKET_BROADCAST, …). */
  protocol?: number
  pkttype?: number
  sockaddr?: SockAddr
}

export type MessageHandler = (buf: Buffer, info: MessageInfo) => void
export type ErrorHandler = (err: Error) => void

const FAMILY_OF: Record<number, SockAddr['family']> = {
  [AF.INET]: 'inet', [AF.INET6]: 'inet6', [AF.PACKET]: 'packet', [AF.NETLINK]: 'netlink', [AF.UNIX]: 'unix',
}

export class KadSocket {
  readonly domain: number
  readonly type: number
  readonly protocol: number
  readonly netns: string | undefined
  private readonly raw: RawSocket
  private readonly bufferSize: number
  private readonly batch: number
  private readonly messageHandlers: MessageHandler[] = []
  private readonly errorHandlers: ErrorHandler[] = []
  private closed = false
  private reading = false
  private refed = true
  private lastDest?: string
  private lastSockaddr?: Buffer

  constructor(opts: OpenSocketOptions) {
    this.domain = typeof opts.domain === 'number' ? opts.domain : DOMAINS[opts.domain]
    this.type = typeof opts.type === 'number' ? opts.type : TYPES[opts.type]
    this.protocol = opts.protocol ?? 0
    this.netns = opts.netns
    this.bufferSize = opts.receiveBufferSize ?? 65536
    this.batch = opts.batch ?? 64
    if (this.domain === undefined || this.type === undefined) throw new TypeError(`unknown socket domain/type ${opts.domain}/${opts.type}`)
    try {
      this.raw = new (addon().Socket)(this.domain, this.type, this.protocol, opts.netns ?? null)
    } catch (e) {
      if ((e as { syscall?: string }).syscall === 'setns') throw withCapability(e, 'CAP_SYS_ADMIN', `entering network namespace ${opts.netns}`)
      if (this.domain === AF.PACKET || this.type === SOCK.RAW) throw withCapability(e, 'CAP_NET_RAW', `a ${FAMILY_OF[this.domain] ?? this.domain} ${this.type === SOCK.RAW ? 'raw' : 'dgram'} socket`)
      throw e
    }
  }

  get fd(): number { return this.raw.fd }
  get isClosed(): boolean { return this.closed }

  private sockaddr(a: SockAddrInput | string): Buffer {
    const family = FAMILY_OF[this.domain]
    if (typeof a === 'string') {
      // a sender repeats its destination (a VRRP group, a syslog path): encode each text once
      if (a === this.lastDest) return this.lastSockaddr!
      let b: Buffer
      if (family === 'unix') b = encodeSockAddr({ family, path: a })
      else if (family === 'inet' || family === 'inet6') b = encodeSockAddr({ family, address: a })
      else throw new TypeError(`a ${family} address cannot be given as a string`)
      this.lastDest = a
      this.lastSockaddr = b
      return b
    }
    return encodeSockAddr(('family' in a ? a : { ...a, family }) as SockAddr)
  }

  bind(addr: SockAddrInput | string): this {
    this.raw.bind(this.sockaddr(addr))
    return this
  }

  connect(addr: SockAddrInput | string): this {
    this.raw.connect(this.sockaddr(addr))
    return this
  }

  /** SO_BINDTODEVICE. */
  bindToDevice(ifname: string): this {
    this.setOption(SOL.SOCKET, SO.BINDTODEVICE, Buffer.from(ifname + '\0'))
    return this
  }

  setOption(level: number, name: number, value: number | boolean | Buffer): this {
    try {
      this.raw.setOption(level, name, typeof value === 'boolean' ? (value ? 1 : 0) : value)
    } catch (e) {
      throw withCapability(e, 'CAP_NET_ADMIN', `setsockopt(${level}, ${name})`)
    }
    return this
  }

  /** An integer option. */
  getOption(level: number, name: number): number {
    const b = this.raw.getOption(level, name, 4)
    return b.length >= 4 ? i32(b, 0) : b.length > 0 ? b[0] : 0
  }

  /** A raw option value (at most maxLength bytes). */
  getOptionBytes(level: number, name: number, maxLength = 256): Buffer {
    return this.raw.getOption(level, name, maxLength)
  }

  /** Asks the kernel for the ancillary data MessageInfo reports: TTL/hop limit and packet info. */
  receivePacketInfo(): this {
    if (this.domain === AF.INET) {
      this.setOption(SOL.IP, IP.RECVTTL, 1)
      this.setOption(SOL.IP, IP.PKTINFO, 1)
    } else if (this.domain === AF.INET6) {
      this.setOption(SOL.IPV6, IPV6.RECVHOPLIMIT, 1)
      this.setOption(SOL.IPV6, IPV6.RECVPKTINFO, 1)
    }
    return this
  }

  /** Joins a multicast group on an interface (IP_ADD_MEMBERSHIP with ip_mreqn / IPV6_JOIN_GROUP with ipv6_mreq). */
  addMembership(group: string, ifindex: number): this {
    return this.membership(group, ifindex, true)
  }

  dropMembership(group: string, ifindex: number): this {
    return this.membership(group, ifindex, false)
  }

  private membership(group: string, ifindex: number, join: boolean): this {
    if (this.domain === AF.INET6) {
      const g = parseIPv6(group)
      if (!g) throw new TypeError(`not an IPv6 group: ${group}`)
      const mreq = Buffer.alloc(20)
      g.copy(mreq, 0)
      wi32(mreq, ifindex, 16)
      return this.setOption(SOL.IPV6, join ? IPV6.JOIN_GROUP : IPV6.LEAVE_GROUP, mreq)
    }
    const g = parseIPv4(group)
    if (!g) throw new TypeError(`not an IPv4 group: ${group}`)
    const mreq = Buffer.alloc(12) // struct ip_mreqn { imr_multiaddr, imr_address = 0, imr_ifindex }
    g.copy(mreq, 0)
    wi32(mreq, ifindex, 8)
    return this.setOption(SOL.IP, join ? IP.ADD_MEMBERSHIP : IP.DROP_MEMBERSHIP, mreq)
  }

  /** sendmsg(). `data` may be several buffers (one datagram, gathered). Returns the bytes sent. */
  send(data: Buffer | Buffer[], dest?: SockAddrInput | string | null, opts?: SendOptions): number {
    let src: Buffer | null = null
    if (opts?.src !== undefined) {
      const parsed = this.domain === AF.INET6 ? parseIPv6(opts.src) : parseIPv4(opts.src)
      if (!parsed) throw new TypeError(`not a source address for this socket: ${opts.src}`)
      src = parsed
    }
    return this.raw.send(data, dest == null ? null : this.sockaddr(dest), opts?.ttl ?? -1, opts?.hopLimit ?? -1, opts?.ifindex ?? 0, src)
  }

  /** Registers a handler and starts reading (libuv polling; datagrams are drained in batches). */
  onMessage(handler: MessageHandler): this {
    this.messageHandlers.push(handler)
    this.startReading()
    return this
  }

  /** Receive errors (e.g. ENOBUFS on netlink). Without a handler they are reported as process warnings. */
  onError(handler: ErrorHandler): this {
    this.errorHandlers.push(handler)
    return this
  }

  private startReading(): void {
    if (this.reading || this.closed) return
    this.reading = true
    this.raw.start((err, msgs) => this.dispatch(err, msgs), this.bufferSize, this.batch)
    if (!this.refed) this.raw.unref()
  }

  /** Stops reading (handlers stay registered; onMessage() again resumes). */
  pause(): this {
    if (this.reading) { this.raw.stop(); this.reading = false }
    return this
  }

  resume(): this {
    if (this.messageHandlers.length > 0) this.startReading()
    return this
  }

  /** A reading socket keeps the event loop alive unless unref()'d. */
  unref(): this { this.refed = false; this.raw.unref(); return this }
  ref(): this { this.refed = true; this.raw.ref(); return this }

  private dispatch(err: Error | null, msgs: RawMessage[]): void {
    for (const m of msgs) {
      if (this.closed) return
      const info = messageInfo(m)
      for (const h of this.messageHandlers) h(m.data, info)
    }
    if (err && !this.closed) {
      if (this.errorHandlers.length === 0) process.emitWarning(err)
      for (const h of this.errorHandlers) h(err)
    }
  }

  /** Closes the socket and stops polling. Closing twice is harmless. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.reading = false
    this.raw.close()
  }
}

function messageInfo(m: RawMessage): MessageInfo {
  const info: MessageInfo = { from: '' }
  const sa = decodeSockAddr(m.name)
  if (sa.ok) {
    const a = sa.addr
    info.sockaddr = a
    switch (a.family) {
      case 'inet':
      case 'inet6':
        info.from = a.address
        info.port = a.port
        break
      case 'packet':
        info.from = a.address ?? ''
        info.ifindex = a.ifindex
        info.protocol = a.protocol
        info.pkttype = a.pkttype
        break
      case 'netlink':
        info.from = String(a.pid ?? 0)
        break
      case 'unix':
        info.from = a.path
        break
    }
  }
  if (m.ttl !== undefined) info.ttl = m.ttl
  if (m.hopLimit !== undefined) info.hopLimit = m.hopLimit
  if (m.ifindex !== undefined) info.ifindex = m.ifindex
  if (m.dst !== undefined) info.dst = formatIP(m.dst)
  if (m.truncated) info.truncated = true
  return info
}

/** Opens a socket (non-blocking, close-on-exec), optionally inside a network namespace. */
export function openSocket(opts: OpenSocketOptions): KadSocket {
  return new KadSocket(opts)
}

/** if_nametoindex(3); 0 when there is no such interface. `netns` looks in that namespace. */
export function ifNameToIndex(name: string, netns?: string): number {
  return addon().ifNameToIndex(name, netns ?? null)
}

/** if_indextoname(3); undefined when there is no such interface. */
export function ifIndexToName(index: number, netns?: string): string | undefined {
  return addon().ifIndexToName(index, netns ?? null) ?? undefined
}
