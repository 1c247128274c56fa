// Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers (VRRP v3, ICMPv6, UDP). Pure. Shared by every
// codec that needs them (neighbour discovery here, VRRP, PING_CHECK).
import { parseIPv4, parseIPv6 } from './ip.js'

/** one's-complement sum of `buf` folded to 16 bits, added to `acc` (not complemented) */
export function sum16(buf: Uint8Array, acc = 0): number {
  let s = acc
  const n = buf.length & ~1
  for (let i = 0; i < n; i += 2) s += (buf[i] << 8) | buf[i + 1]
  if (buf.length & 1) s += buf[buf.length - 1] << 8
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16)
  return s
}

/** the checksum value to store: ~sum */
export function inetChecksum(buf: Uint8Array, acc = 0): number {
  return ~sum16(buf, acc) & 0xffff
}

/** IPv4 pseudo-header: src, dst, zero, protocol, length */
export function pseudoHeader4(src: string, dst: string, proto: number, length: number): Buffer {
  const b = Buffer.alloc(12)
  ;(parseIPv4(src) ?? Buffer.alloc(4)).copy(b, 0)
  ;(parseIPv4(dst) ?? Buffer.alloc(4)).copy(b, 4)
  b[9] = proto
  b.writeUInt16BE(length & 0xffff, 10)
  return b
}

/** IPv6 pseudo-header (RFC 8200 §8.1): src, dst, upper-layer length, zero, next header */
export function pseudoHeader6(src: string, dst: string, proto: number, length: number): Buffer {
  const b = Buffer.alloc(40)
  ;(parseIPv6(src) ?? Buffer.alloc(16)).copy(b, 0)
  ;(parseIPv6(dst) ?? Buffer.alloc(16)).copy(b, 16)
  b.writeUInt32BE(length >>> 0, 32)
  b[39] = proto
  return b
}
