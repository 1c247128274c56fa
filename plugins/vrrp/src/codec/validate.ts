// Receive validation of an advert for one instance: RFC 5798 §7.1 and keepalived's vrrp_check_packet(), in
// keepalived's order, each failure a named reason. Pure.
import {
  type Advert, type AhHeader, type Family, type RejectReason, type VrrpVersion, AUTH, MCAST_GROUP4, VRRP_TTL,
  VRRP_TYPE_ADVERT, ahIcv, authKey, bytesEqual, checksumOk, decodeIpv4Packet, decodeIpv6Payload,
} from './advert.js'

export interface UnicastPeerSpec {
  address: string
  minTtl?: number
  maxTtl?: number
}

/** What an instance expects of the adverts it receives. */
export interface RxExpectation {
  family: Family
  version: VrrpVersion
  /** v2 auth configured on the instance */
  auth?: { type: 'PASS' | 'AH'; key: string }
  /** v2: the configured advert interval in seconds */
  advertIntSec?: number
  /** the instance's VIPs (advert address list), checked unless `skipAddressCheck` */
  addresses: readonly string[]
  skipAddressCheck?: boolean
  unicastPeers?: readonly UnicastPeerSpec[]
  checkUnicastSrc?: boolean
  /** IPv4 multicast group for the old unicast checksum fallback */
  mcastGroup4?: string
  v3AsV2?: boolean
  /** the highest AH sequence number accepted so far */
  lastAhSeq?: number
}

/** What the socket told about the datagram. */
export interface RxMeta {
  /** source address (IPv6: from recvmsg; IPv4: taken from the IP header when absent) */
  src?: string
  /** destination (IPV6_PKTINFO / IP_PKTINFO) */
  dst?: string
  /** TTL / hop limit from ancillary data (IPv4: the IP header is used when absent) */
  ttl?: number
}

export type RxVerdict =
  | { ok: true; advert: Advert; src: string; ah?: AhHeader; oldUnicastChecksum?: boolean; ttl?: number }
  | { ok: false; reason: RejectReason; detail?: string; vrid?: number; src?: string }

/**
 * Find the VRID of a datagram (demultiplexing to an instance) from as few bytes as possible, so that a malformed
 * advert is still counted against the instance it targets; never throws.
 */
export function peekVrid(buf: Uint8Array, family: Family): { vrid: number } | { reason: RejectReason; detail?: string } {
  if (!(buf instanceof Uint8Array)) return { reason: 'TRUNCATED' }
  if (family === 6) return buf.length >= 2 ? { vrid: buf[1] } : { reason: 'TRUNCATED' }
  if (buf.length < 20) return { reason: 'TRUNCATED' }
  if (buf[0] >> 4 !== 4 || (buf[0] & 0x0f) < 5) return { reason: 'BAD_IP_HEADER' }
  let off = (buf[0] & 0x0f) * 4
  if (buf[9] === 51) off += 24
  else if (buf[9] !== 112) return { reason: 'BAD_IP_HEADER', detail: `protocol ${buf[9]}` }
  return buf.length >= off + 2 ? { vrid: buf[off + 1] } : { reason: 'TRUNCATED' }
}

function isMulticast(family: Family, a: string | undefined): boolean {
  if (!a) return false
  if (family === 4) {
    const first = Number(a.split('.')[0])
    return first >= 224 && first <= 239
  }
  return a.toLowerCase().startsWith('ff')
}

export function validateAdvert(buf: Uint8Array, meta: RxMeta, x: RxExpectation): RxVerdict {
  const fail = (reason: RejectReason, detail?: string, extra: { vrid?: number; src?: string } = {}): RxVerdict => ({ ok: false, reason, detail, ...extra })
  const unicast = (x.unicastPeers?.length ?? 0) > 0
  let advert: Advert
  let src: string
  let dst: string | undefined
  let ttl: number | undefined
  let ah: AhHeader | undefined
  let vrrpMsg: Uint8Array
  if (x.family === 4) {
    const d = decodeIpv4Packet(buf)
    if (!d.ok) return d
    advert = d.advert
    src = d.ip.src
    dst = meta.dst ?? d.ip.dst
    ttl = meta.ttl ?? d.ip.ttl
    ah = d.ah
    vrrpMsg = buf.subarray(d.vrrpOffset)
    const wantAh = x.version === 2 && x.auth?.type === 'AH'
    if (Boolean(ah) !== wantAh) return fail('BAD_AUTH_TYPE', ah ? 'received AH header but auth type not AH' : 'no AH header but auth type is AH', { vrid: advert.vrid, src })
  } else {
    const d = decodeIpv6Payload(buf)
    if (!d.ok) return d
    advert = d.advert
    src = meta.src ?? '::'
    dst = meta.dst
    ttl = meta.ttl
    vrrpMsg = buf
  }
  const ids = { vrid: advert.vrid, src }
  if (!unicast && ttl !== undefined && ttl !== VRRP_TTL) return fail('BAD_TTL', `received ${ttl} and expect ${VRRP_TTL}`, ids)
  if (advert.version !== x.version) return fail('BAD_VERSION', `received ${advert.version} and expect ${x.version}`, ids)
  if (x.version === 2) {
    const at = advert.authType ?? 0
    if (at !== AUTH.NONE && at !== AUTH.PASS && at !== AUTH.AH) return fail('BAD_AUTH_TYPE', `invalid auth type ${at}`, ids)
    const want = x.auth ? (x.auth.type === 'PASS' ? AUTH.PASS : AUTH.AH) : AUTH.NONE
    if (at !== want) return fail('BAD_AUTH_TYPE', `received a ${at} auth, expecting ${want}`, ids)
    if (want === AUTH.PASS && !bytesEqual(advert.authData ?? Buffer.alloc(8), authKey(x.auth!.key))) return fail('BAD_AUTH', 'invalid password', ids)
    if (want === AUTH.AH && ah) {
      const icv = ahIcv(buf, buf.length - vrrpMsg.length - 24, authKey(x.auth!.key), unicast)
      if (!bytesEqual(icv, ah.icv)) return fail('BAD_AUTH', 'invalid IPSEC HMAC-MD5 value', ids)
      if (x.family === 4 && ah.spi !== Buffer.from(src.split('.').map(Number)).readUInt32BE(0)) return fail('BAD_AUTH', 'invalid IPSEC SPI value', ids)
      if (x.lastAhSeq !== undefined && ah.seq <= x.lastAhSeq) return fail('BAD_AH_SEQ', `sequence number ${ah.seq} already processed (${x.lastAhSeq})`, ids)
    }
    if (x.advertIntSec !== undefined && advert.advertInt !== x.advertIntSec) {
      return fail('ADVERT_INT_MISMATCH', `mine=${x.advertIntSec} sec rcv'd=${advert.advertInt} sec`, ids)
    }
  }
  if (advert.type !== VRRP_TYPE_ADVERT) return fail('BAD_TYPE', `type ${advert.type}`, ids)
  if (!x.skipAddressCheck && advert.addresses.length !== x.addresses.length) {
    return fail('BAD_ADDR_COUNT', `received ${advert.addresses.length}, expected ${x.addresses.length}`, ids)
  }
  let oldUnicastChecksum = false
  const canCheck = x.family === 4 || (src !== '::' && dst !== undefined)
  if (canCheck && !checksumOk(vrrpMsg, advert.version, { family: x.family, src, dst, v3AsV2: x.v3AsV2 })) {
    const group = x.mcastGroup4 ?? MCAST_GROUP4
    if (x.family === 4 && advert.version === 3 && unicast && dst !== group && checksumOk(vrrpMsg, 3, { family: 4, src, dst: group })) oldUnicastChecksum = true
    else return fail('BAD_CHECKSUM', `invalid VRRPv${advert.version} checksum`, ids)
  }
  if (dst !== undefined && isMulticast(x.family, dst) === unicast) {
    return fail('BAD_CAST', `expected ${unicast ? 'un' : 'mult'}icast packet but received ${unicast ? 'mult' : 'un'}icast packet`, ids)
  }
  if (!x.skipAddressCheck) {
    const got = new Set(advert.addresses)
    for (const a of x.addresses) if (!got.has(a)) return fail('BAD_ADDR_LIST', `address ${a} not present in MASTER advert`, ids)
  }
  if (unicast && x.checkUnicastSrc) {
    const peer = x.unicastPeers!.find((p) => p.address === src)
    if (!peer) return fail('NOT_PEER', `unicast source address ${src} not a unicast peer`, ids)
    if (ttl !== undefined && (ttl < (peer.minTtl ?? 0) || ttl > (peer.maxTtl ?? 255))) return fail('BAD_TTL', `TTL ${ttl} not in range ${peer.minTtl ?? 0} - ${peer.maxTtl ?? 255}`, ids)
  }
  return { ok: true, advert, src, ah, oldUnicastChecksum: oldUnicastChecksum || undefined, ttl }
}
