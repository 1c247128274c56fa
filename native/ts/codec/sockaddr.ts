// struct sockaddr_* encoders and decoders (uapi layouts: sockaddr_in 16 bytes, sockaddr_in6 28,
// sockaddr_ll 20, sockaddr_nl 12, sockaddr_un 2 + path + NUL). Pure.
import { AF } from '../constants.js'
import { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMac } from './ip.js'
import { i32, u16, u32, w16, w32, wi32 } from './host-endian.js'

export type SockAddr =
  | { family: 'inet'; address: string; port?: number }
  | { family: 'inet6'; address: string; port?: number; flowInfo?: number; scopeId?: number }
  | { family: 'packet'; ifindex: number; protocol?: number; hatype?: number; pkttype?: number; address?: string }
  | { family: 'netlink'; pid?: number; groups?: number }
  | { family: 'unix'; path: string }

export type Decoded<T> = ({ ok: true } & T) | { ok: false; reason: string }

/** Encodes a sockaddr. Throws TypeError on an address that is not valid for its family (caller input). */
export function encodeSockAddr(sa: SockAddr): Buffer {
  switch (sa.family) {
    case 'inet': {
      const a = parseIPv4(sa.address)
      if (!a) throw new TypeError(`not an IPv4 address: ${sa.address}`)
      const b = Buffer.alloc(16)
      w16(b, AF.INET, 0)
      b.writeUInt16BE(sa.port ?? 0, 2)
      a.copy(b, 4)
      return b
    }
    case 'inet6': {
      const a = parseIPv6(sa.address)
      if (!a) throw new TypeError(`not an IPv6 address: ${sa.address}`)
      const b = Buffer.alloc(28)
      w16(b, AF.INET6, 0)
      b.writeUInt16BE(sa.port ?? 0, 2)
      b.writeUInt32BE(sa.flowInfo ?? 0, 4)
      a.copy(b, 8)
      w32(b, sa.scopeId ?? 0, 24)
      return b
    }
    case 'packet': {
      const b = Buffer.alloc(20)
      w16(b, AF.PACKET, 0)
      b.writeUInt16BE(sa.protocol ?? 0, 2)
      wi32(b, sa.ifindex, 4)
      w16(b, sa.hatype ?? 0, 8)
      b.writeUInt8(sa.pkttype ?? 0, 10)
      if (sa.address !== undefined) {
        const mac = parseMac(sa.address)
        if (!mac) throw new TypeError(`not a MAC address: ${sa.address}`)
        b.writeUInt8(6, 11)
        mac.copy(b, 12)
      }
      return b
    }
    case 'netlink': {
      const b = Buffer.alloc(12)
      w16(b, AF.NETLINK, 0)
      w32(b, sa.pid ?? 0, 4)
      w32(b, sa.groups ?? 0, 8)
      return b
    }
    case 'unix': {
      const p = Buffer.from(sa.path)
      if (p.length > 107) throw new TypeError(`unix socket path too long: ${sa.path}`)
      const b = Buffer.alloc(2 + p.length + 1)
      w16(b, AF.UNIX, 0)
      p.copy(b, 2)
      return b
    }
  }
}

/** Decodes what recvmsg returned as msg_name. */
export function decodeSockAddr(b: Buffer): Decoded<{ addr: SockAddr }> {
  if (b.length < 2) return { ok: false, reason: `sockaddr too short (${b.length} bytes)` }
  const fam = u16(b, 0)
  switch (fam) {
    case AF.INET:
      if (b.length < 8) return { ok: false, reason: 'sockaddr_in too short' }
      return { ok: true, addr: { family: 'inet', address: formatIPv4(b, 4), port: b.readUInt16BE(2) } }
    case AF.INET6:
      if (b.length < 28) return { ok: false, reason: 'sockaddr_in6 too short' }
      return {
        ok: true,
        addr: { family: 'inet6', address: formatIPv6(b, 8), port: b.readUInt16BE(2), flowInfo: b.readUInt32BE(4), scopeId: u32(b, 24) },
      }
    case AF.PACKET: {
      if (b.length < 12) return { ok: false, reason: 'sockaddr_ll too short' }
      const halen = Math.min(b[11], 8, Math.max(0, b.length - 12))
      return {
        ok: true,
        addr: { family: 'packet', protocol: b.readUInt16BE(2), ifindex: i32(b, 4), hatype: u16(b, 8), pkttype: b[10], address: formatMac(b, 12, halen) },
      }
    }
    case AF.NETLINK:
      if (b.length < 12) return { ok: false, reason: 'sockaddr_nl too short' }
      return { ok: true, addr: { family: 'netlink', pid: u32(b, 4), groups: u32(b, 8) } }
    case AF.UNIX: {
      const end = b.indexOf(0, 2)
      return { ok: true, addr: { family: 'unix', path: b.subarray(2, end < 0 ? b.length : end).toString() } }
    }
    default:
      return { ok: false, reason: `unknown address family ${fam}` }
  }
}
