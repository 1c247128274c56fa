/**
 * VRRP sockets: one raw IP-protocol-112 socket per (family, interface, multicast|unicast), shared by every instance
 * on it and demultiplexed by VRID. IPv4 is sent with IP_HDRINCL (kad builds the IP header, as keepalived, which the
 * AH ICV needs); IPv6 lets the kernel fill the checksum (IPV6_CHECKSUM) and hop limit 255. TTL / hop limit and the
 * destination come from the packet or ancillary data and are checked by the instance (codec/validate.ts).
 */
import { endianness } from 'node:os'
import { IP, IPV6, SO, SOL, formatIPv4, parseIPv4, parseIPv6, type KadSocket, type MessageInfo, type Networking } from '@kad/native'
import { IPPROTO_AH, IPPROTO_VRRP, peekVrid, type RejectReason } from './codec/index.js'

export interface RxPacket {
  buf: Buffer
  info: MessageInfo
}

export type RxHandler = (p: RxPacket) => void

export interface SocketKey {
  family: 4 | 6
  /** interface the socket is bound to ('' = none: unicast without interface) */
  ifname: string
  unicast: boolean
  /** multicast group to join */
  group?: string
  /** also receive AH (IPv4 v2 with auth_type AH) */
  ah?: boolean
}

const le = endianness() === 'LE'
function i32(v: number): Buffer {
  const b = Buffer.alloc(4)
  if (le) b.writeInt32LE(v)
  else b.writeInt32BE(v)
  return b
}

/** One shared socket (plus an AH receive socket for IPv4 when needed). */
export class VrrpSocket {
  readonly key: SocketKey
  readonly ifindex: number
  private readonly sock: KadSocket
  private ahSock?: KadSocket
  private readonly handlers = new Map<number, RxHandler>()
  /** datagrams no instance took, by reason (unknown VRID, undecodable) */
  readonly dropped: Record<string, number> = {}
  onUnknown?: (vrid: number | undefined, reason: RejectReason | 'UNKNOWN_VRID', info: MessageInfo) => void

  constructor(private readonly net: Networking, key: SocketKey) {
    this.key = key
    this.ifindex = key.ifname ? net.ifNameToIndex(key.ifname) : 0
    this.sock = this.open(IPPROTO_VRRP)
    if (key.family === 4 && key.ah) this.ahSock = this.open(IPPROTO_AH, true)
  }

  private open(proto: number, receiveOnly = false): KadSocket {
    const k = this.key
    const s = this.net.openSocket({ domain: k.family === 4 ? 'inet' : 'inet6', type: 'raw', protocol: proto, receiveBufferSize: 2048 })
    try {
      if (k.ifname) s.bindToDevice(k.ifname)
      s.receivePacketInfo()
      if (k.family === 4) {
        if (!receiveOnly) s.setOption(SOL.IP, IP.HDRINCL, 1)
        s.setOption(SOL.IP, IP.MULTICAST_LOOP, 0)
        s.setOption(SOL.IP, IP.MULTICAST_ALL, 0)
        if (!k.unicast && k.group) {
          // struct ip_mreqn { imr_multiaddr, imr_address, imr_ifindex }
          const mreq = Buffer.concat([parseIPv4(k.group) ?? Buffer.alloc(4), Buffer.alloc(4), i32(this.ifindex)])
          s.setOption(SOL.IP, IP.ADD_MEMBERSHIP, mreq)
          s.setOption(SOL.IP, IP.MULTICAST_IF, mreq)
        }
      } else {
        s.setOption(SOL.IPV6, IPV6.CHECKSUM, 6)
        s.setOption(SOL.IPV6, IPV6.MULTICAST_HOPS, 255)
        s.setOption(SOL.IPV6, IPV6.UNICAST_HOPS, 255)
        s.setOption(SOL.IPV6, IPV6.MULTICAST_LOOP, 0)
        s.setOption(SOL.IPV6, IPV6.MULTICAST_ALL, 0)
        if (this.ifindex) s.setOption(SOL.IPV6, IPV6.MULTICAST_IF, i32(this.ifindex))
        if (!k.unicast && k.group) {
          // struct ipv6_mreq { ipv6mr_multiaddr, ipv6mr_interface }
          s.setOption(SOL.IPV6, IPV6.JOIN_GROUP, Buffer.concat([parseIPv6(k.group) ?? Buffer.alloc(16), i32(this.ifindex)]))
        }
      }
    } catch (e) {
      s.close()
      throw e
    }
    s.onMessage((buf, info) => this.dispatch(buf, info))
    s.onError(() => undefined)
    return s
  }

  private dispatch(buf: Buffer, info: MessageInfo): void {
    const v = peekVrid(buf, this.key.family)
    if ('reason' in v) {
      this.dropped[v.reason] = (this.dropped[v.reason] ?? 0) + 1
      this.onUnknown?.(undefined, v.reason, info)
      return
    }
    const h = this.handlers.get(v.vrid)
    if (!h) {
      this.dropped.UNKNOWN_VRID = (this.dropped.UNKNOWN_VRID ?? 0) + 1
      this.onUnknown?.(v.vrid, 'UNKNOWN_VRID', info)
      return
    }
    try {
      h({ buf, info })
    } catch {
      this.dropped.HANDLER_ERROR = (this.dropped.HANDLER_ERROR ?? 0) + 1
    }
  }

  register(vrid: number, h: RxHandler): void {
    this.handlers.set(vrid, h)
  }

  unregister(vrid: number): void {
    this.handlers.delete(vrid)
    if (this.rxBufs.delete(vrid)) this.applyRxBuf()
  }

  /** each instance's share of the kernel receive buffer (vrrp_rx_bufs_policy, kernel_rx_buf_size) */
  private readonly rxBufs = new Map<number, number>()

  /**
   * An instance's share of SO_RCVBUF; the socket's buffer is the sum of its instances' shares, as keepalived
   * sizes it (undefined: the instance leaves the system default). Returns the kernel's SO_RCVBUF, if set.
   */
  setRxBuf(vrid: number, bytes: number | undefined): number | undefined {
    if (bytes === undefined || bytes <= 0) this.rxBufs.delete(vrid)
    else this.rxBufs.set(vrid, bytes)
    return this.applyRxBuf()
  }

  /** sets SO_RCVBUF to the sum of the shares and returns what the kernel reports back (it doubles the request) */
  private applyRxBuf(): number | undefined {
    let total = 0
    for (const b of this.rxBufs.values()) total += b
    if (total === 0) return undefined
    for (const s of [this.sock, this.ahSock]) s?.setOption(SOL.SOCKET, SO.RCVBUF, total)
    return this.sock.getOption(SOL.SOCKET, SO.RCVBUF)
  }

  get size(): number {
    return this.handlers.size
  }

  /** IPv4: a complete IP packet (HDRINCL); IPv6: the VRRP message, source chosen with pktinfo */
  send(pkt: Buffer, dst: string, opts?: { src?: string; ifindex?: number; hopLimit?: number }): void {
    if (this.key.family === 4) this.sock.send(pkt, dst)
    else {
      const scoped = dst.toLowerCase().startsWith('ff02') || dst.toLowerCase().startsWith('fe80')
      this.sock.send(pkt, { address: dst, scopeId: scoped ? (opts?.ifindex ?? this.ifindex) : 0 } as never, {
        src: opts?.src, ifindex: opts?.ifindex ?? (this.ifindex || undefined), hopLimit: opts?.hopLimit,
      })
    }
  }

  close(): void {
    this.sock.close()
    this.ahSock?.close()
  }
}

/** The pool: sockets are created on first use and closed when their last instance leaves. */
export class SocketPool {
  private readonly sockets = new Map<string, VrrpSocket>()
  constructor(private readonly net: Networking) {}

  private static id(k: SocketKey): string {
    return `${k.family}/${k.ifname}/${k.unicast ? 'u' : 'm'}/${k.group ?? ''}/${k.ah ? 'ah' : ''}`
  }

  acquire(k: SocketKey): VrrpSocket {
    const id = SocketPool.id(k)
    let s = this.sockets.get(id)
    if (!s) {
      s = new VrrpSocket(this.net, k)
      this.sockets.set(id, s)
    }
    return s
  }

  release(k: SocketKey, vrid: number): void {
    const id = SocketPool.id(k)
    const s = this.sockets.get(id)
    if (!s) return
    s.unregister(vrid)
    if (s.size === 0) {
      s.close()
      this.sockets.delete(id)
    }
  }

  all(): VrrpSocket[] {
    return [...this.sockets.values()]
  }

  closeAll(): void {
    for (const s of this.sockets.values()) s.close()
    this.sockets.clear()
  }
}

export { formatIPv4 }
