/**
 * ICMP / ICMPv6 echo codec for PING_CHECK. Pure: `encodeEcho` builds a request (ICMPv4 with its checksum;
 * for ICMPv6 the kernel fills the checksum), `decodeIcmp` classifies a received datagram — an echo reply, or
 * an error (destination unreachable, time exceeded) quoting one of our echoes — and never throws.
 */
export const ICMP_ECHO_REPLY = 0
export const ICMP_DEST_UNREACH = 3
export const ICMP_ECHO = 8
export const ICMP_TIME_EXCEEDED = 11
export const ICMP6_DEST_UNREACH = 1
export const ICMP6_TIME_EXCEEDED = 3
export const ICMP6_ECHO = 128
export const ICMP6_ECHO_REPLY = 129

/** RFC 1071 internet checksum (the shared one of @kad/native) */
import { inetChecksum as checksum } from '@kad/native'
export { checksum }

export function encodeEcho(family: 4 | 6, id: number, seq: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.alloc(8 + payload.length)
  b[0] = family === 4 ? ICMP_ECHO : ICMP6_ECHO
  b[1] = 0
  b.writeUInt16BE(id & 0xffff, 4)
  b.writeUInt16BE(seq & 0xffff, 6)
  Buffer.from(payload).copy(b, 8)
  if (family === 4) b.writeUInt16BE(checksum(b), 2)
  return b
}

export type IcmpVerdict =
  | { readonly ok: true; readonly kind: 'reply'; readonly id: number; readonly seq: number }
  | { readonly ok: true; readonly kind: 'error'; readonly id: number; readonly seq: number; readonly type: number; readonly code: number }
  | { readonly ok: false; readonly reason: string }

/** strip an IPv4 header if present (raw IPv4 sockets deliver it) */
function ipv4Payload(b: Uint8Array): Uint8Array | undefined {
  if (b.length < 20 || b[0] >> 4 !== 4) return undefined
  const ihl = (b[0] & 15) * 4
  if (ihl < 20 || b.length < ihl) return undefined
  return b.subarray(ihl)
}

/** `withIpHeader`: the datagram starts with an IPv4 header (raw ICMPv4 socket) */
export function decodeIcmp(family: 4 | 6, buf: Uint8Array, withIpHeader = family === 4): IcmpVerdict {
  const icmp = family === 4 && withIpHeader ? ipv4Payload(buf) : buf
  if (!icmp) return { ok: false, reason: 'bad IPv4 header' }
  if (icmp.length < 8) return { ok: false, reason: `ICMP message of ${icmp.length} bytes is too short` }
  const type = icmp[0]
  const code = icmp[1]
  const view = Buffer.from(icmp.buffer, icmp.byteOffset, icmp.byteLength)
  if (family === 4 && checksum(icmp) !== 0) return { ok: false, reason: 'bad ICMP checksum' }
  const reply = family === 4 ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY
  if (type === reply) return { ok: true, kind: 'reply', id: view.readUInt16BE(4), seq: view.readUInt16BE(6) }
  const isErr = family === 4 ? type === ICMP_DEST_UNREACH || type === ICMP_TIME_EXCEEDED : type === ICMP6_DEST_UNREACH || type === ICMP6_TIME_EXCEEDED
  if (!isErr) return { ok: false, reason: `ICMP type ${type} is not for us` }
  // the quoted datagram: IP header + at least 8 bytes of our echo
  const quoted = icmp.subarray(8)
  let inner: Uint8Array | undefined
  if (family === 4) inner = ipv4Payload(quoted)
  else inner = quoted.length >= 40 && quoted[0] >> 4 === 6 && quoted[6] === 58 ? quoted.subarray(40) : undefined
  if (!inner || inner.length < 8) return { ok: false, reason: 'ICMP error without a quoted echo' }
  const echo = family === 4 ? ICMP_ECHO : ICMP6_ECHO
  if (inner[0] !== echo) return { ok: false, reason: 'ICMP error quotes something else' }
  const iv = Buffer.from(inner.buffer, inner.byteOffset, inner.byteLength)
  return { ok: true, kind: 'error', id: iv.readUInt16BE(4), seq: iv.readUInt16BE(6), type, code }
}
