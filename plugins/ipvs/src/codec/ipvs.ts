/**
 * The IPVS generic-netlink family (uapi linux/ip_vs.h), encoded and decoded as plain data. Pure.
 *
 * Requests are generic-netlink payloads (genlmsghdr + attributes); the transport wraps them in an nlmsghdr with
 * the family id it resolved. The attribute layout follows what ipvsadm 1.31 (libipvs) sends, byte for byte, so
 * the golden tests compare against captured ipvsadm messages.
 */
import { isIPv4 } from 'node:net'
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '@kad/native'
import {
  AttrWriter, hostU32, parseAttrs, rdBe16, rdString, rdU16, rdU32, rdU64, rdU8, readHostU32, type Attr, type Verdict,
} from './attrs.js'

/** genlmsghdr: u8 cmd, u8 version, u16 reserved */
const genlHeader = (cmd: number, version: number): Buffer => Buffer.from([cmd & 0xff, version & 0xff, 0, 0])

export const IPVS_GENL_NAME = 'IPVS'
export const IPVS_GENL_VERSION = 1

export const IPVS_CMD = {
  NEW_SERVICE: 1, SET_SERVICE: 2, DEL_SERVICE: 3, GET_SERVICE: 4,
  NEW_DEST: 5, SET_DEST: 6, DEL_DEST: 7, GET_DEST: 8,
  NEW_DAEMON: 9, DEL_DAEMON: 10, GET_DAEMON: 11,
  SET_CONFIG: 12, GET_CONFIG: 13, SET_INFO: 14, GET_INFO: 15, ZERO: 16, FLUSH: 17,
} as const
export type IpvsCmd = (typeof IPVS_CMD)[keyof typeof IPVS_CMD]

export const IPVS_CMD_ATTR = { SERVICE: 1, DEST: 2, DAEMON: 3, TIMEOUT_TCP: 4, TIMEOUT_TCP_FIN: 5, TIMEOUT_UDP: 6 } as const
export const IPVS_SVC_ATTR = {
  AF: 1, PROTOCOL: 2, ADDR: 3, PORT: 4, FWMARK: 5, SCHED_NAME: 6, FLAGS: 7, TIMEOUT: 8, NETMASK: 9, STATS: 10, PE_NAME: 11, STATS64: 12,
} as const
export const IPVS_DEST_ATTR = {
  ADDR: 1, PORT: 2, FWD_METHOD: 3, WEIGHT: 4, U_THRESH: 5, L_THRESH: 6, ACTIVE_CONNS: 7, INACT_CONNS: 8, PERSIST_CONNS: 9,
  STATS: 10, ADDR_FAMILY: 11, STATS64: 12, TUN_TYPE: 13, TUN_PORT: 14, TUN_FLAGS: 15,
} as const
export const IPVS_DAEMON_ATTR = {
  STATE: 1, MCAST_IFN: 2, SYNC_ID: 3, SYNC_MAXLEN: 4, MCAST_GROUP: 5, MCAST_GROUP6: 6, MCAST_PORT: 7, MCAST_TTL: 8,
} as const
export const IPVS_STATS_ATTR = { CONNS: 1, INPKTS: 2, OUTPKTS: 3, INBYTES: 4, OUTBYTES: 5, CPS: 6, INPPS: 7, OUTPPS: 8, INBPS: 9, OUTBPS: 10 } as const
export const IPVS_INFO_ATTR = { VERSION: 1, CONN_TAB_SIZE: 2 } as const

/** IP_VS_SVC_F_* */
export const SVC_F = { PERSISTENT: 0x1, HASHED: 0x2, ONEPACKET: 0x4, SCHED1: 0x8, SCHED2: 0x10, SCHED3: 0x20 } as const
/** IP_VS_CONN_F_* forwarding methods (IP_VS_CONN_F_FWD_MASK) */
export const FWD = { MASQ: 0, LOCALNODE: 1, TUNNEL: 2, DROUTE: 3, BYPASS: 4 } as const
export const FWD_MASK = 0x7
export const TUN_TYPE = { ipip: 0, gue: 1, gre: 2 } as const
export const TUN_FLAG = { nocsum: 0, csum: 1, remcsum: 2 } as const
export const DAEMON_STATE = { NONE: 0, MASTER: 1, BACKUP: 2 } as const

const AF_INET = 2
const AF_INET6 = 10
export const PROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const
export type ProtoName = keyof typeof PROTO

export type Family = 4 | 6

/** A virtual service as the kernel knows it. */
export interface IpvsService {
  readonly af: Family
  /** IPPROTO number; 0 for fwmark services */
  readonly protocol: number
  readonly address?: string
  readonly port?: number
  readonly fwmark?: number
  readonly scheduler: string
  /** IP_VS_SVC_F_* */
  readonly flags: number
  /** persistence timeout in seconds (0 = not persistent) */
  readonly timeout: number
  /** IPv4: the 32-bit mask (0xffffffff = none); IPv6: the prefix length */
  readonly netmask: number
  readonly peName?: string
}

export interface IpvsDest {
  readonly af: Family
  readonly address: string
  readonly port: number
  /** FWD.* */
  readonly fwdMethod: number
  readonly weight: number
  readonly uThreshold: number
  readonly lThreshold: number
  readonly tunType?: number
  readonly tunPort?: number
  readonly tunFlags?: number
  /** only in replies */
  readonly activeConns?: number
  readonly inactConns?: number
  readonly persistConns?: number
}

export interface IpvsDaemon {
  /** DAEMON_STATE.MASTER or BACKUP */
  readonly state: number
  readonly ifname: string
  readonly syncId: number
  readonly maxLen?: number
  readonly group?: string
  readonly port?: number
  readonly ttl?: number
}

export interface IpvsTimeouts {
  readonly tcp?: number
  readonly tcpFin?: number
  readonly udp?: number
}

export interface IpvsStats {
  readonly conns: bigint
  readonly inPkts: bigint
  readonly outPkts: bigint
  readonly inBytes: bigint
  readonly outBytes: bigint
}

/** The fields that name a service (what DEL_SERVICE and the destination commands need). */
export type IpvsServiceKey = Pick<IpvsService, 'af' | 'protocol' | 'address' | 'port' | 'fwmark'>

export function serviceKey(s: IpvsServiceKey): string {
  if (s.fwmark !== undefined && s.fwmark !== 0) return `FWM:${s.af}:${s.fwmark}`
  return `${protoName(s.protocol)}:[${s.address ?? ''}]:${s.port ?? 0}`
}
export function destKey(d: Pick<IpvsDest, 'address' | 'port'>): string {
  return `[${d.address}]:${d.port}`
}

export function protoName(p: number): string {
  return p === PROTO.TCP ? 'TCP' : p === PROTO.UDP ? 'UDP' : p === PROTO.SCTP ? 'SCTP' : `P${p}`
}

/** 16-byte union nf_inet_addr, as libipvs sends it. Throws TypeError on a bad address (caller input). */
export function addrBytes(af: Family, address: string | undefined): Buffer {
  const b = Buffer.alloc(16)
  if (address === undefined) return b
  const raw = af === 4 ? parseIPv4(address) : parseIPv6(address)
  if (!raw) throw new TypeError(`not an IPv${af} address: ${address}`)
  raw.copy(b)
  return b
}

export function formatAddr(af: Family, b: Buffer): string {
  return af === 4 ? formatIPv4(b) : formatIPv6(b.length >= 16 ? b : Buffer.concat([b, Buffer.alloc(16 - b.length)]))
}

/** Canonical text of an address (so '2001:DB8:0::1' and '2001:db8::1' compare equal). */
export function canonicalAddr(af: Family, address: string): string {
  return formatAddr(af, addrBytes(af, address))
}

const afNum = (f: Family): number => (f === 4 ? AF_INET : AF_INET6)
const afOf = (n: number | undefined): Family | undefined => (n === AF_INET ? 4 : n === AF_INET6 ? 6 : undefined)

function writeService(w: AttrWriter, s: IpvsService | IpvsServiceKey): void {
  const full = s as Partial<IpvsService>
  w.u16(IPVS_SVC_ATTR.AF, afNum(s.af))
  if (s.fwmark !== undefined && s.fwmark !== 0) {
    w.u32(IPVS_SVC_ATTR.FWMARK, s.fwmark)
  } else {
    w.u16(IPVS_SVC_ATTR.PROTOCOL, s.protocol)
    w.raw(IPVS_SVC_ATTR.ADDR, addrBytes(s.af, s.address))
    w.be16(IPVS_SVC_ATTR.PORT, s.port ?? 0)
  }
  w.string(IPVS_SVC_ATTR.SCHED_NAME, full.scheduler ?? '')
  if (full.peName) w.string(IPVS_SVC_ATTR.PE_NAME, full.peName)
  w.raw(IPVS_SVC_ATTR.FLAGS, Buffer.concat([hostU32(full.flags ?? 0), hostU32(0xffffffff)]))
  w.u32(IPVS_SVC_ATTR.TIMEOUT, full.timeout ?? 0)
  const nm = full.netmask ?? (s.af === 4 ? 0xffffffff : 128)
  if (s.af === 4) {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(nm >>> 0, 0)
    w.raw(IPVS_SVC_ATTR.NETMASK, b)
  } else w.u32(IPVS_SVC_ATTR.NETMASK, nm)
}

function writeDest(w: AttrWriter, d: IpvsDest): void {
  w.u16(IPVS_DEST_ATTR.ADDR_FAMILY, afNum(d.af))
  w.raw(IPVS_DEST_ATTR.ADDR, addrBytes(d.af, d.address))
  w.be16(IPVS_DEST_ATTR.PORT, d.port)
  w.u32(IPVS_DEST_ATTR.FWD_METHOD, d.fwdMethod)
  w.u32(IPVS_DEST_ATTR.WEIGHT, d.weight)
  w.u8(IPVS_DEST_ATTR.TUN_TYPE, d.tunType ?? 0)
  w.be16(IPVS_DEST_ATTR.TUN_PORT, d.tunPort ?? 0)
  w.u16(IPVS_DEST_ATTR.TUN_FLAGS, d.tunFlags ?? 0)
  w.u32(IPVS_DEST_ATTR.U_THRESH, d.uThreshold)
  w.u32(IPVS_DEST_ATTR.L_THRESH, d.lThreshold)
}

const msg = (cmd: number, w?: AttrWriter): Buffer => (w ? Buffer.concat([genlHeader(cmd, IPVS_GENL_VERSION), w.toBuffer()]) : genlHeader(cmd, IPVS_GENL_VERSION))

/** NEW_SERVICE / SET_SERVICE / DEL_SERVICE (DEL needs only the key; the full service is accepted). */
export function encodeService(cmd: typeof IPVS_CMD.NEW_SERVICE | typeof IPVS_CMD.SET_SERVICE | typeof IPVS_CMD.DEL_SERVICE, s: IpvsService | IpvsServiceKey): Buffer {
  return msg(cmd, new AttrWriter().nested(IPVS_CMD_ATTR.SERVICE, (n) => writeService(n, s)))
}

/** NEW_DEST / SET_DEST / DEL_DEST: the service key and the destination. */
export function encodeDest(cmd: typeof IPVS_CMD.NEW_DEST | typeof IPVS_CMD.SET_DEST | typeof IPVS_CMD.DEL_DEST, s: IpvsServiceKey, d: IpvsDest): Buffer {
  return msg(cmd, new AttrWriter().nested(IPVS_CMD_ATTR.SERVICE, (n) => writeService(n, s)).nested(IPVS_CMD_ATTR.DEST, (n) => writeDest(n, d)))
}

/** GET_SERVICE with NLM_F_DUMP lists every service; GET_DEST with a service key lists its destinations. */
export function encodeGetServices(): Buffer {
  return msg(IPVS_CMD.GET_SERVICE)
}
export function encodeGetDests(s: IpvsServiceKey): Buffer {
  return msg(IPVS_CMD.GET_DEST, new AttrWriter().nested(IPVS_CMD_ATTR.SERVICE, (n) => writeService(n, s)))
}

export function encodeDaemon(cmd: typeof IPVS_CMD.NEW_DAEMON | typeof IPVS_CMD.DEL_DAEMON, d: IpvsDaemon): Buffer {
  return msg(cmd, new AttrWriter().nested(IPVS_CMD_ATTR.DAEMON, (n) => {
    n.u32(IPVS_DAEMON_ATTR.STATE, d.state)
    if (cmd === IPVS_CMD.DEL_DAEMON) return
    n.string(IPVS_DAEMON_ATTR.MCAST_IFN, d.ifname)
    n.u32(IPVS_DAEMON_ATTR.SYNC_ID, d.syncId)
    if (d.maxLen !== undefined) n.u16(IPVS_DAEMON_ATTR.SYNC_MAXLEN, d.maxLen)
    if (d.group !== undefined) {
      if (isIPv4(d.group)) n.raw(IPVS_DAEMON_ATTR.MCAST_GROUP, addrBytes(4, d.group).subarray(0, 4))
      else n.raw(IPVS_DAEMON_ATTR.MCAST_GROUP6, addrBytes(6, d.group))
    }
    if (d.port !== undefined) n.u16(IPVS_DAEMON_ATTR.MCAST_PORT, d.port)
    if (d.ttl !== undefined) n.u8(IPVS_DAEMON_ATTR.MCAST_TTL, d.ttl)
  }))
}
export function encodeGetDaemon(): Buffer {
  return msg(IPVS_CMD.GET_DAEMON)
}

/** SET_CONFIG: connection timeouts in seconds (0 = leave unchanged). */
export function encodeSetTimeouts(t: IpvsTimeouts): Buffer {
  const w = new AttrWriter()
  if (t.tcp !== undefined) w.u32(IPVS_CMD_ATTR.TIMEOUT_TCP, t.tcp)
  if (t.tcpFin !== undefined) w.u32(IPVS_CMD_ATTR.TIMEOUT_TCP_FIN, t.tcpFin)
  if (t.udp !== undefined) w.u32(IPVS_CMD_ATTR.TIMEOUT_UDP, t.udp)
  return msg(IPVS_CMD.SET_CONFIG, w)
}
export function encodeGetConfig(): Buffer {
  return msg(IPVS_CMD.GET_CONFIG)
}
export function encodeFlush(): Buffer {
  return msg(IPVS_CMD.FLUSH)
}
export function encodeGetInfo(): Buffer {
  return msg(IPVS_CMD.GET_INFO)
}
export function encodeZero(s?: IpvsServiceKey): Buffer {
  return s ? msg(IPVS_CMD.ZERO, new AttrWriter().nested(IPVS_CMD_ATTR.SERVICE, (n) => writeService(n, s))) : msg(IPVS_CMD.ZERO)
}

// ---------------------------------------------------------------------------------------------- decoding

export interface IpvsMessage {
  readonly cmd: number
  readonly version: number
  readonly service?: IpvsService & { readonly stats?: IpvsStats }
  readonly dest?: IpvsDest & { readonly stats?: IpvsStats }
  readonly daemon?: IpvsDaemon
  readonly timeouts?: IpvsTimeouts
  readonly info?: { readonly version: string; readonly connTabSize: number }
}

function decodeStats(a: Attr | undefined): Verdict<{ stats?: IpvsStats }> {
  if (!a) return { ok: true }
  const p = parseAttrs(a.value)
  if (!p.ok) return { ok: false, reason: `stats: ${p.reason}` }
  const g = (t: number): bigint => rdU64(p.attrs.get(t)) ?? BigInt(rdU32(p.attrs.get(t)) ?? 0)
  return { ok: true, stats: { conns: g(IPVS_STATS_ATTR.CONNS), inPkts: g(IPVS_STATS_ATTR.INPKTS), outPkts: g(IPVS_STATS_ATTR.OUTPKTS), inBytes: g(IPVS_STATS_ATTR.INBYTES), outBytes: g(IPVS_STATS_ATTR.OUTBYTES) } }
}

export function decodeServiceAttrs(value: Buffer): Verdict<{ service: IpvsService & { stats?: IpvsStats } }> {
  const p = parseAttrs(value)
  if (!p.ok) return { ok: false, reason: `service: ${p.reason}` }
  const a = p.attrs
  const af = afOf(rdU16(a.get(IPVS_SVC_ATTR.AF)))
  if (!af) return { ok: false, reason: `service: address family missing or unknown (${rdU16(a.get(IPVS_SVC_ATTR.AF))})` }
  const fwmark = rdU32(a.get(IPVS_SVC_ATTR.FWMARK))
  const addrA = a.get(IPVS_SVC_ATTR.ADDR)
  if (addrA && addrA.value.length < (af === 4 ? 4 : 16)) return { ok: false, reason: `service: address of ${addrA.value.length} bytes for IPv${af}` }
  if (!fwmark && !addrA) return { ok: false, reason: 'service: neither fwmark nor address' }
  const flagsA = a.get(IPVS_SVC_ATTR.FLAGS)
  if (flagsA && flagsA.value.length < 4) return { ok: false, reason: 'service: flags shorter than 4 bytes' }
  const nmA = a.get(IPVS_SVC_ATTR.NETMASK)
  const netmask = nmA && nmA.value.length >= 4 ? (af === 4 ? nmA.value.readUInt32BE(0) : readHostU32(nmA.value, 0)) : af === 4 ? 0xffffffff : 128
  const st = decodeStats(a.get(IPVS_SVC_ATTR.STATS64) ?? a.get(IPVS_SVC_ATTR.STATS))
  if (!st.ok) return st
  const pe = rdString(a.get(IPVS_SVC_ATTR.PE_NAME))
  const service: IpvsService & { stats?: IpvsStats } = {
    af,
    protocol: rdU16(a.get(IPVS_SVC_ATTR.PROTOCOL)) ?? 0,
    ...(fwmark ? { fwmark } : { address: formatAddr(af, addrA!.value), port: rdBe16(a.get(IPVS_SVC_ATTR.PORT)) ?? 0 }),
    scheduler: rdString(a.get(IPVS_SVC_ATTR.SCHED_NAME)) ?? '',
    flags: flagsA ? readHostU32(flagsA.value, 0) : 0,
    timeout: rdU32(a.get(IPVS_SVC_ATTR.TIMEOUT)) ?? 0,
    netmask,
    ...(pe ? { peName: pe } : {}),
    ...(st.stats ? { stats: st.stats } : {}),
  }
  return { ok: true, service }
}

export function decodeDestAttrs(value: Buffer, svcAf?: Family): Verdict<{ dest: IpvsDest & { stats?: IpvsStats } }> {
  const p = parseAttrs(value)
  if (!p.ok) return { ok: false, reason: `destination: ${p.reason}` }
  const a = p.attrs
  const af = afOf(rdU16(a.get(IPVS_DEST_ATTR.ADDR_FAMILY))) ?? svcAf
  if (!af) return { ok: false, reason: 'destination: address family missing' }
  const addrA = a.get(IPVS_DEST_ATTR.ADDR)
  if (!addrA || addrA.value.length < (af === 4 ? 4 : 16)) return { ok: false, reason: 'destination: address missing or short' }
  const st = decodeStats(a.get(IPVS_DEST_ATTR.STATS64) ?? a.get(IPVS_DEST_ATTR.STATS))
  if (!st.ok) return st
  const opt = (k: string, v: number | undefined): Record<string, number> => (v === undefined ? {} : { [k]: v })
  const dest: IpvsDest & { stats?: IpvsStats } = {
    af,
    address: formatAddr(af, addrA.value),
    port: rdBe16(a.get(IPVS_DEST_ATTR.PORT)) ?? 0,
    fwdMethod: (rdU32(a.get(IPVS_DEST_ATTR.FWD_METHOD)) ?? 0) & FWD_MASK,
    weight: rdU32(a.get(IPVS_DEST_ATTR.WEIGHT)) ?? 0,
    uThreshold: rdU32(a.get(IPVS_DEST_ATTR.U_THRESH)) ?? 0,
    lThreshold: rdU32(a.get(IPVS_DEST_ATTR.L_THRESH)) ?? 0,
    ...opt('tunType', rdU8(a.get(IPVS_DEST_ATTR.TUN_TYPE))),
    ...opt('tunPort', rdBe16(a.get(IPVS_DEST_ATTR.TUN_PORT))),
    ...opt('tunFlags', rdU16(a.get(IPVS_DEST_ATTR.TUN_FLAGS))),
    ...opt('activeConns', rdU32(a.get(IPVS_DEST_ATTR.ACTIVE_CONNS))),
    ...opt('inactConns', rdU32(a.get(IPVS_DEST_ATTR.INACT_CONNS))),
    ...opt('persistConns', rdU32(a.get(IPVS_DEST_ATTR.PERSIST_CONNS))),
    ...(st.stats ? { stats: st.stats } : {}),
  }
  return { ok: true, dest }
}

export function decodeDaemonAttrs(value: Buffer): Verdict<{ daemon: IpvsDaemon }> {
  const p = parseAttrs(value)
  if (!p.ok) return { ok: false, reason: `daemon: ${p.reason}` }
  const a = p.attrs
  const state = rdU32(a.get(IPVS_DAEMON_ATTR.STATE))
  if (state === undefined) return { ok: false, reason: 'daemon: state missing' }
  const g4 = a.get(IPVS_DAEMON_ATTR.MCAST_GROUP)
  const g6 = a.get(IPVS_DAEMON_ATTR.MCAST_GROUP6)
  const group = g4 && g4.value.length >= 4 ? formatAddr(4, g4.value) : g6 && g6.value.length >= 16 ? formatAddr(6, g6.value) : undefined
  const opt = (k: string, v: number | string | undefined): Record<string, number | string> => (v === undefined ? {} : { [k]: v })
  return {
    ok: true,
    daemon: {
      state,
      ifname: rdString(a.get(IPVS_DAEMON_ATTR.MCAST_IFN)) ?? '',
      syncId: rdU32(a.get(IPVS_DAEMON_ATTR.SYNC_ID)) ?? 0,
      ...opt('maxLen', rdU16(a.get(IPVS_DAEMON_ATTR.SYNC_MAXLEN))),
      ...opt('group', group),
      ...opt('port', rdU16(a.get(IPVS_DAEMON_ATTR.MCAST_PORT))),
      ...opt('ttl', rdU8(a.get(IPVS_DAEMON_ATTR.MCAST_TTL))),
    } as IpvsDaemon,
  }
}

/** Decodes any IPVS generic-netlink payload (request or reply). Never throws. */
export function decodeIpvsMessage(payload: Buffer): Verdict<{ message: IpvsMessage }> {
  if (payload.length < 4) return { ok: false, reason: `generic netlink header missing (${payload.length} bytes)` }
  const cmd = payload[0]
  const version = payload[1]
  const p = parseAttrs(payload, 4)
  if (!p.ok) return p
  const a = p.attrs
  const out: { -readonly [K in keyof IpvsMessage]: IpvsMessage[K] } = { cmd, version }
  if (cmd === IPVS_CMD.GET_INFO || cmd === IPVS_CMD.SET_INFO) {
    const v = rdU32(a.get(IPVS_INFO_ATTR.VERSION))
    const size = rdU32(a.get(IPVS_INFO_ATTR.CONN_TAB_SIZE))
    if (v !== undefined) out.info = { version: `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`, connTabSize: size ?? 0 }
    return { ok: true, message: out }
  }
  const sv = a.get(IPVS_CMD_ATTR.SERVICE)
  if (sv) {
    const s = decodeServiceAttrs(sv.value)
    if (!s.ok) return s
    out.service = s.service
  }
  const dv = a.get(IPVS_CMD_ATTR.DEST)
  if (dv) {
    const d = decodeDestAttrs(dv.value, out.service?.af)
    if (!d.ok) return d
    out.dest = d.dest
  }
  const da = a.get(IPVS_CMD_ATTR.DAEMON)
  if (da) {
    const d = decodeDaemonAttrs(da.value)
    if (!d.ok) return d
    out.daemon = d.daemon
  }
  const tcp = rdU32(a.get(IPVS_CMD_ATTR.TIMEOUT_TCP))
  const fin = rdU32(a.get(IPVS_CMD_ATTR.TIMEOUT_TCP_FIN))
  const udp = rdU32(a.get(IPVS_CMD_ATTR.TIMEOUT_UDP))
  if (tcp !== undefined || fin !== undefined || udp !== undefined) {
    out.timeouts = { ...(tcp !== undefined ? { tcp } : {}), ...(fin !== undefined ? { tcpFin: fin } : {}), ...(udp !== undefined ? { udp } : {}) }
  }
  return { ok: true, message: out }
}
