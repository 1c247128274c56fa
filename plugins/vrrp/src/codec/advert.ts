// VRRP advertisement codec (RFC 3768 v2, RFC 5798 v3), IPv4 and IPv6, with keepalived's v2 authentication
// (simple password, IPSEC-AH HMAC-MD5-96). Pure functions: encoders build bytes, decoders return verdicts and never
// throw on outside bytes.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, inetChecksum, pseudoHeader4, pseudoHeader6, sum16 } from '@kad/native'

export const IPPROTO_VRRP = 112
export const IPPROTO_AH = 51
export const VRRP_TYPE_ADVERT = 1
export const VRRP_TTL = 255
export const VRRP_HEADER_LEN = 8
export const VRRP_AUTH_LEN = 8
export const AH_HEADER_LEN = 24
export const IPV4_HEADER_LEN = 20
export const MCAST_GROUP4 = '224.0.0.18'
export const MCAST_GROUP6 = 'ff02::12'

export type VrrpVersion = 2 | 3
export type Family = 4 | 6
/** v2 Auth Type: 0 none, 1 simple text password, 2 IPSEC-AH (keepalived) */
export const AUTH = { NONE: 0, PASS: 1, AH: 2 } as const
export type AuthType = 0 | 1 | 2

/** One VRRP advertisement as the protocol carries it. */
export interface Advert {
  version: VrrpVersion
  /** 1 = ADVERTISEMENT; other values only appear in decoded outside bytes */
  type: number
  vrid: number
  priority: number
  /** v2: seconds (0..255); v3: centiseconds (0..4095) */
  advertInt: number
  addresses: string[]
  /** v2 only */
  authType?: number
  /** v2 only: the 8 auth bytes (password for PASS, zero otherwise) */
  authData?: Buffer
  checksum?: number
}

export type RejectReason =
  | 'TRUNCATED' // shorter than the headers it announces
  | 'BAD_IP_HEADER' // not IPv4, bad IHL, fragment, protocol not VRRP/AH
  | 'BAD_LENGTH' // ip total length or VRRP length does not match what was received (too long / too short)
  | 'BAD_TTL' // TTL / hop limit not 255 (multicast) or outside the unicast peer's [min_ttl, max_ttl]
  | 'BAD_VERSION'
  | 'BAD_TYPE'
  | 'BAD_CHECKSUM'
  | 'BAD_AUTH_TYPE' // v2 auth type unknown, or different from the configured one, or AH presence mismatch
  | 'BAD_AUTH' // wrong password, wrong ICV, wrong SPI
  | 'BAD_AH_SEQ' // AH sequence number replayed
  | 'BAD_ADDR_COUNT'
  | 'BAD_ADDR_LIST'
  | 'ADVERT_INT_MISMATCH' // v2 only (keepalived drops silently-ish)
  | 'BAD_CAST' // multicast received by a unicast instance or the reverse
  | 'NOT_PEER' // unicast source not in unicast_peer (check_unicast_src)
  | 'UNKNOWN_VRID'
  | 'OWN_PACKET'

export type Verdict<T> = ({ ok: true } & T) | { ok: false; reason: RejectReason; detail?: string }

// ---------------------------------------------------------------------------------------------------------------
// addresses

function addrBytes(family: Family, a: string): Buffer {
  const b = family === 4 ? parseIPv4(a) : parseIPv6(a)
  if (!b) throw new TypeError(`not an IPv${family} address: ${a}`)
  return b
}

export function vrrpLength(version: VrrpVersion, family: Family, naddr: number): number {
  return VRRP_HEADER_LEN + naddr * (family === 4 ? 4 : 16) + (version === 2 && family === 4 ? VRRP_AUTH_LEN : 0)
}

// ---------------------------------------------------------------------------------------------------------------
// VRRP header + addresses (+ v2 auth)

export interface ChecksumContext {
  family: Family
  /** v3: source and destination of the IP packet for the pseudo-header */
  src?: string
  dst?: string
  /** keepalived v3_checksum_as_v2: v3 IPv4 checksum without the pseudo-header */
  v3AsV2?: boolean
}

/** checksum of a VRRP message (`msg` with its checksum field as encoded); returns the value to store */
export function vrrpChecksum(msg: Buffer, version: VrrpVersion, ctx: ChecksumContext): number {
  const zeroed = Buffer.from(msg)
  zeroed.writeUInt16BE(0, 6)
  if (version === 2 || ctx.v3AsV2) return inetChecksum(zeroed)
  const ph = ctx.family === 4
    ? pseudoHeader4(ctx.src ?? '0.0.0.0', ctx.dst ?? MCAST_GROUP4, IPPROTO_VRRP, msg.length)
    : pseudoHeader6(ctx.src ?? '::', ctx.dst ?? MCAST_GROUP6, IPPROTO_VRRP, msg.length)
  return inetChecksum(zeroed, sum16(ph))
}

/**
 * Encodes the VRRP message (what follows the IP header / AH header). For IPv6 the kernel can fill the checksum
 * (IPV6_CHECKSUM); it is computed here anyway when `ctx.src` is known, so the bytes are complete.
 */
export function encodeVrrp(adv: Advert, ctx: ChecksumContext): Buffer {
  const family = ctx.family
  const n = adv.addresses.length
  const buf = Buffer.alloc(vrrpLength(adv.version, family, n))
  buf[0] = (adv.version << 4) | (adv.type & 0x0f)
  buf[1] = adv.vrid & 0xff
  buf[2] = adv.priority & 0xff
  buf[3] = n & 0xff
  if (adv.version === 2) {
    buf[4] = (adv.authType ?? 0) & 0xff
    buf[5] = adv.advertInt & 0xff
  } else {
    buf.writeUInt16BE(adv.advertInt & 0x0fff, 4)
  }
  let off = VRRP_HEADER_LEN
  for (const a of adv.addresses) {
    addrBytes(family, a).copy(buf, off)
    off += family === 4 ? 4 : 16
  }
  if (adv.version === 2 && family === 4 && adv.authType === AUTH.PASS && adv.authData) adv.authData.copy(buf, off, 0, VRRP_AUTH_LEN)
  const skipV6 = family === 6 && ctx.src === undefined
  if (!skipV6) buf.writeUInt16BE(vrrpChecksum(buf, adv.version, ctx), 6)
  return buf
}

export interface DecodedVrrp {
  advert: Advert
  /** bytes the message announces it needs (header + addresses + v2 IPv4 auth) */
  expectedLength: number
}

/** Decodes the VRRP message only; checks the fixed header and the lengths, not the checksum or the auth. */
export function decodeVrrp(buf: Uint8Array, family: Family): Verdict<DecodedVrrp> {
  if (!(buf instanceof Uint8Array) || buf.length < VRRP_HEADER_LEN) return { ok: false, reason: 'TRUNCATED' }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const version = b[0] >> 4
  const type = b[0] & 0x0f
  if (version !== 2 && version !== 3) return { ok: false, reason: 'BAD_VERSION', detail: `version ${version}` }
  if (version === 2 && family === 6) return { ok: false, reason: 'BAD_VERSION', detail: 'VRRPv2 over IPv6' }
  const naddr = b[3]
  const expectedLength = vrrpLength(version, family, naddr)
  if (b.length < expectedLength) return { ok: false, reason: 'TRUNCATED', detail: `length ${b.length}, need ${expectedLength}` }
  if (b.length > expectedLength) return { ok: false, reason: 'BAD_LENGTH', detail: `length ${b.length}, expected ${expectedLength}` }
  const addresses: string[] = []
  const w = family === 4 ? 4 : 16
  for (let i = 0; i < naddr; i++) addresses.push(family === 4 ? formatIPv4(b, 8 + i * w) : formatIPv6(b, 8 + i * w))
  const advert: Advert = {
    version,
    type,
    vrid: b[1],
    priority: b[2],
    advertInt: version === 2 ? b[5] : b.readUInt16BE(4) & 0x0fff,
    addresses,
    checksum: b.readUInt16BE(6),
  }
  if (version === 2) {
    advert.authType = b[4]
    if (family === 4) advert.authData = Buffer.from(b.subarray(8 + naddr * 4, 8 + naddr * 4 + VRRP_AUTH_LEN))
  }
  return { ok: true, advert, expectedLength }
}

/** true when the checksum of `msg` is right (v3 IPv4 / IPv6 with the pseudo-header built from src/dst) */
export function checksumOk(msg: Uint8Array, version: VrrpVersion, ctx: ChecksumContext): boolean {
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength)
  if (version === 2 || ctx.v3AsV2) return inetChecksum(b) === 0
  const ph = ctx.family === 4
    ? pseudoHeader4(ctx.src ?? '0.0.0.0', ctx.dst ?? MCAST_GROUP4, IPPROTO_VRRP, b.length)
    : pseudoHeader6(ctx.src ?? '::', ctx.dst ?? MCAST_GROUP6, IPPROTO_VRRP, b.length)
  return inetChecksum(b, sum16(ph)) === 0
}

// ---------------------------------------------------------------------------------------------------------------
// IPv4 packet (keepalived sends with IP_HDRINCL: it builds the IP header itself, needed for AH)

export interface Ipv4Header {
  tos: number
  totalLength: number
  id: number
  /** flags + fragment offset as on the wire */
  fragOff: number
  ttl: number
  protocol: number
  checksum: number
  src: string
  dst: string
  headerLength: number
}

export interface AhHeader {
  nextHeader: number
  payloadLen: number
  spi: number
  seq: number
  icv: Buffer
}

export interface EncodeIpv4Options {
  src: string
  dst: string
  ttl?: number
  id?: number
  /** default 0xc0 (internetwork control), as keepalived */
  tos?: number
  /** v2 auth: PASS password or AH key (only the first 8 bytes are used, zero-padded, as keepalived) */
  auth?: { type: 'PASS' | 'AH'; key: string | Buffer; seq?: number }
  /** fill the IP header checksum (the kernel does it with IP_HDRINCL; tests and scapy-like peers want it) */
  ipChecksum?: boolean
  /** AH: zero the TTL in the ICV (keepalived does so for unicast instances) */
  ahZeroTtl?: boolean
  v3AsV2?: boolean
  /** v3 IPv4 checksum pseudo-header destination (keepalived's old unicast checksum uses the multicast group) */
  pseudoDst?: string
}

/** 8 bytes of auth data: the first 8 characters, zero padded (keepalived truncates auth_pass to 8) */
export function authKey(key: string | Buffer): Buffer {
  const out = Buffer.alloc(VRRP_AUTH_LEN)
  ;(typeof key === 'string' ? Buffer.from(key, 'utf8') : key).copy(out, 0, 0, VRRP_AUTH_LEN)
  return out
}

/** HMAC-MD5-96 ICV over the IP header (TOS, fragment, checksum and, for unicast, TTL zeroed), AH (ICV zero), VRRP */
export function ahIcv(packet: Uint8Array, ipHeaderLen: number, key: Buffer, zeroTtl: boolean): Buffer {
  const tmp = Buffer.from(packet)
  tmp[1] = 0
  tmp.writeUInt16BE(0, 6)
  if (zeroTtl) tmp[8] = 0
  tmp.writeUInt16BE(0, 10)
  tmp.fill(0, ipHeaderLen + 12, ipHeaderLen + 24)
  return createHmac('md5', key).update(tmp).digest().subarray(0, 12)
}

/** A complete IPv4 packet carrying the advert (with an AH header for auth AH). */
export function encodeIpv4Packet(adv: Advert, o: EncodeIpv4Options): Buffer {
  const isAh = adv.version === 2 && o.auth?.type === 'AH'
  const a: Advert = { ...adv }
  if (adv.version === 2) {
    a.authType = o.auth ? (o.auth.type === 'PASS' ? AUTH.PASS : AUTH.AH) : (adv.authType ?? AUTH.NONE)
    if (o.auth?.type === 'PASS') a.authData = authKey(o.auth.key)
  }
  const vrrp = encodeVrrp(a, { family: 4, src: o.src, dst: o.pseudoDst ?? o.dst, v3AsV2: o.v3AsV2 })
  const ahLen = isAh ? AH_HEADER_LEN : 0
  const pkt = Buffer.alloc(IPV4_HEADER_LEN + ahLen + vrrp.length)
  pkt[0] = 0x45
  pkt[1] = o.tos ?? 0xc0
  pkt.writeUInt16BE(pkt.length, 2)
  pkt.writeUInt16BE((o.id ?? 0) & 0xffff, 4)
  pkt.writeUInt16BE(0, 6)
  pkt[8] = o.ttl ?? VRRP_TTL
  pkt[9] = isAh ? IPPROTO_AH : IPPROTO_VRRP
  addrBytes(4, o.src).copy(pkt, 12)
  addrBytes(4, o.dst).copy(pkt, 16)
  if (isAh) {
    const ah = IPV4_HEADER_LEN
    pkt[ah] = IPPROTO_VRRP
    pkt[ah + 1] = 4 // AH length in 32-bit words minus 2: (24 / 4) - 2
    pkt.writeUInt32BE(pkt.readUInt32BE(12), ah + 4) // SPI = source address, as keepalived
    pkt.writeUInt32BE((o.auth?.seq ?? 1) >>> 0, ah + 8)
  }
  vrrp.copy(pkt, IPV4_HEADER_LEN + ahLen)
  if (isAh) ahIcv(pkt, IPV4_HEADER_LEN, authKey(o.auth!.key), o.ahZeroTtl === true).copy(pkt, IPV4_HEADER_LEN + 12)
  if (o.ipChecksum) pkt.writeUInt16BE(inetChecksum(pkt.subarray(0, IPV4_HEADER_LEN)), 10)
  return pkt
}

export interface DecodedIpv4 extends DecodedVrrp {
  ip: Ipv4Header
  ah?: AhHeader
  /** offset of the VRRP message in the packet */
  vrrpOffset: number
}

/** Decodes an IPv4 packet as a raw socket delivers it (IP header included). */
export function decodeIpv4Packet(buf: Uint8Array): Verdict<DecodedIpv4> {
  if (!(buf instanceof Uint8Array) || buf.length < IPV4_HEADER_LEN) return { ok: false, reason: 'TRUNCATED' }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  if (b[0] >> 4 !== 4) return { ok: false, reason: 'BAD_IP_HEADER', detail: 'not IPv4' }
  const ihl = (b[0] & 0x0f) * 4
  if (ihl < IPV4_HEADER_LEN) return { ok: false, reason: 'BAD_IP_HEADER', detail: `IHL ${ihl}` }
  if (b.length < ihl) return { ok: false, reason: 'TRUNCATED' }
  const ip: Ipv4Header = {
    tos: b[1],
    totalLength: b.readUInt16BE(2),
    id: b.readUInt16BE(4),
    fragOff: b.readUInt16BE(6),
    ttl: b[8],
    protocol: b[9],
    checksum: b.readUInt16BE(10),
    src: formatIPv4(b, 12),
    dst: formatIPv4(b, 16),
    headerLength: ihl,
  }
  if ((ip.fragOff & 0x3fff) !== 0) return { ok: false, reason: 'BAD_IP_HEADER', detail: 'fragment' }
  let off = ihl
  let ah: AhHeader | undefined
  if (ip.protocol === IPPROTO_AH) {
    if (b.length < ihl + AH_HEADER_LEN) return { ok: false, reason: 'TRUNCATED', detail: 'AH header' }
    ah = {
      nextHeader: b[off],
      payloadLen: b[off + 1],
      spi: b.readUInt32BE(off + 4),
      seq: b.readUInt32BE(off + 8),
      icv: Buffer.from(b.subarray(off + 12, off + 24)),
    }
    if (ah.nextHeader !== IPPROTO_VRRP) return { ok: false, reason: 'BAD_IP_HEADER', detail: `AH next header ${ah.nextHeader}` }
    off += AH_HEADER_LEN
  } else if (ip.protocol !== IPPROTO_VRRP) return { ok: false, reason: 'BAD_IP_HEADER', detail: `protocol ${ip.protocol}` }
  if (ip.totalLength !== b.length) {
    return { ok: false, reason: ip.totalLength > b.length ? 'TRUNCATED' : 'BAD_LENGTH', detail: `ip total length ${ip.totalLength}, received ${b.length}` }
  }
  const v = decodeVrrp(b.subarray(off), 4)
  if (!v.ok) return v
  return { ok: true, advert: v.advert, expectedLength: v.expectedLength, ip, ah, vrrpOffset: off }
}

/** Decodes an IPv6 VRRP message (raw IPv6 sockets deliver the payload only; src/dst/hop limit come as ancillary data). */
export function decodeIpv6Payload(buf: Uint8Array): Verdict<DecodedVrrp> {
  return decodeVrrp(buf, 6)
}

/** constant-time equality of two byte strings of equal length */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
