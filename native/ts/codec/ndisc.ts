// ICMPv6 neighbour advertisement (RFC 4861 4.4) with the target link-layer address option, and the ICMPv6
// checksum over the IPv6 pseudo-header (RFC 8200 8.1). Pure.
import { inetChecksum, pseudoHeader6, sum16 } from './checksum.js'
import { formatIPv6, formatMac, parseIPv6, parseMac } from './ip.js'
import type { Verdict } from './netlink.js'

export const ICMPV6_NA = 136
export const ND_OPT_TARGET_LL = 2
export const NA_FLAG = { ROUTER: 0x80000000, SOLICITED: 0x40000000, OVERRIDE: 0x20000000 } as const
export const ALL_NODES = 'ff02::1'
export const NA_LEN = 24 + 8

export interface NeighbourAdvert {
  target: string
  /** Target link-layer address option; omitted when undefined. */
  mac?: string
  router?: boolean
  solicited?: boolean
  override?: boolean
}

function v6(text: string): Buffer {
  const a = parseIPv6(text)
  if (!a) throw new TypeError(`not an IPv6 address: ${text}`)
  return a
}

/** One's-complement checksum of the pseudo-header (src, dst, length, next header 58) and the ICMPv6 message. */
export function icmpv6Checksum(src: string, dst: string, msg: Buffer): number {
  v6(src)
  v6(dst)
  return inetChecksum(msg, sum16(pseudoHeader6(src, dst, 58, msg.length)))
}

/**
 * Encodes an NA. With `src` and `dst` the checksum is filled in; a raw ICMPv6 socket recomputes it anyway.
 */
export function encodeNa(na: NeighbourAdvert, pseudo?: { src: string; dst: string }): Buffer {
  const b = Buffer.alloc(na.mac ? NA_LEN : 24)
  b[0] = ICMPV6_NA
  let flags = 0
  if (na.router) flags |= NA_FLAG.ROUTER
  if (na.solicited) flags |= NA_FLAG.SOLICITED
  if (na.override ?? true) flags |= NA_FLAG.OVERRIDE
  b.writeUInt32BE(flags >>> 0, 4)
  v6(na.target).copy(b, 8)
  if (na.mac) {
    const m = parseMac(na.mac)
    if (!m) throw new TypeError(`not a MAC address: ${na.mac}`)
    b[24] = ND_OPT_TARGET_LL
    b[25] = 1
    m.copy(b, 26)
  }
  if (pseudo) b.writeUInt16BE(icmpv6Checksum(pseudo.src, pseudo.dst, b), 2)
  return b
}

/** Decodes an ICMPv6 NA message (starting at the ICMPv6 type). */
export function decodeNa(b: Buffer): Verdict<{ na: Required<Pick<NeighbourAdvert, 'target' | 'router' | 'solicited' | 'override'>> & { mac?: string; checksum: number } }> {
  if (b.length < 24) return { ok: false, reason: `ICMPv6 message of ${b.length} bytes is too short for an NA` }
  if (b[0] !== ICMPV6_NA || b[1] !== 0) return { ok: false, reason: `ICMPv6 type ${b[0]} code ${b[1]} is not an NA` }
  const flags = b.readUInt32BE(4)
  const na: { target: string; router: boolean; solicited: boolean; override: boolean; mac?: string; checksum: number } = {
    target: formatIPv6(b, 8), router: (flags & NA_FLAG.ROUTER) !== 0, solicited: (flags & NA_FLAG.SOLICITED) !== 0,
    override: (flags & NA_FLAG.OVERRIDE) !== 0, checksum: b.readUInt16BE(2),
  }
  let off = 24
  while (off + 2 <= b.length) {
    const type = b[off]
    const len = b[off + 1] * 8
    if (len === 0 || off + len > b.length) return { ok: false, reason: `ND option at ${off} has bad length` }
    if (type === ND_OPT_TARGET_LL && len >= 8) na.mac = formatMac(b, off + 2)
    off += len
  }
  return { ok: true, na }
}

/** Decodes an Ethernet frame carrying IPv6 + NA: returns the IPv6 header fields too. */
export function decodeNaFrame(f: Buffer): Verdict<{ src: string; dst: string; hopLimit: number; ethSrc: string; ethDst: string; na: NonNullable<Extract<ReturnType<typeof decodeNa>, { ok: true }>['na']> }> {
  if (f.length < 14 + 40) return { ok: false, reason: 'frame too short for IPv6' }
  if (f.readUInt16BE(12) !== 0x86dd) return { ok: false, reason: 'not an IPv6 ethertype' }
  if (f[14 + 6] !== 58) return { ok: false, reason: `next header ${f[14 + 6]} is not ICMPv6` }
  const plen = f.readUInt16BE(14 + 4)
  if (14 + 40 + plen > f.length) return { ok: false, reason: 'IPv6 payload length beyond the frame' }
  const d = decodeNa(f.subarray(54, 54 + plen))
  if (!d.ok) return d
  return { ok: true, src: formatIPv6(f, 22), dst: formatIPv6(f, 38), hopLimit: f[21], ethSrc: formatMac(f, 6), ethDst: formatMac(f, 0), na: d.na }
}
