// rtnetlink message bodies (uapi linux/rtnetlink.h, if_addr.h, if_link.h, fib_rules.h). Pure encoders build the
// fixed header + attributes for one request; decoders turn a received message into a typed object or a verdict.
import { AF } from '../constants.js'
import { attrMap, decodeAttrs, encodeAttrs, nested, readStr, readU32, readU8, strAttr, u32Attr, attr, type Attr, type NlMsg, type Verdict } from './netlink.js'
import { formatIP, formatMac, parseIP, parseMac } from './ip.js'
import { i32, u32, w16, w32, wi32 } from './host-endian.js'

export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
  NEWRULE: 32, DELRULE: 33, GETRULE: 34,
} as const
export const RTM_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RTM).map(([k, v]) => [v, `RTM_${k}`]))

export const IFLA = { ADDRESS: 1, BROADCAST: 2, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, OPERSTATE: 16, LINKINFO: 18, IFALIAS: 20 } as const
export const IFLA_INFO = { KIND: 1, DATA: 2 } as const
export const IFLA_MACVLAN = { MODE: 1, FLAGS: 2 } as const
export const MACVLAN_MODE = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const
export type MacvlanMode = keyof typeof MACVLAN_MODE
export const IFF = { UP: 0x1, BROADCAST: 0x2, LOOPBACK: 0x8, POINTOPOINT: 0x10, RUNNING: 0x40, NOARP: 0x80, PROMISC: 0x100, MULTICAST: 0x1000, LOWER_UP: 0x10000 } as const
export const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const

export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, ANYCAST: 5, CACHEINFO: 6, MULTICAST: 7, FLAGS: 8 } as const
export const IFA_F = {
  secondary: 0x1, nodad: 0x2, optimistic: 0x4, dadfailed: 0x8, home: 0x10, deprecated: 0x20, tentative: 0x40,
  permanent: 0x80, mngtmpaddr: 0x100, noprefixroute: 0x200, autojoin: 0x400,
} as const
export type AddressFlag = keyof typeof IFA_F

export const RTA = { DST: 1, SRC: 2, IIF: 3, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const
export const RTN = { unspec: 0, unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9, nat: 10 } as const
export type RouteType = keyof typeof RTN
export const SCOPE = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const
export type ScopeName = keyof typeof SCOPE
export const RT_TABLE = { unspec: 0, default: 253, main: 254, local: 255 } as const
export const RTPROT = { unspec: 0, kernel: 2, boot: 3, static: 4 } as const

export const FRA = { DST: 1, SRC: 2, IIFNAME: 3, GOTO: 4, PRIORITY: 6, FWMARK: 10, TABLE: 15, FWMASK: 16, OIFNAME: 17, PROTOCOL: 21 } as const
export const FR_ACT = { to_tbl: 1, goto: 2, nop: 3, blackhole: 6, unreachable: 7, prohibit: 8 } as const

export const RTNLGRP = { LINK: 1, IPV4_IFADDR: 5, IPV4_ROUTE: 7, IPV4_RULE: 8, IPV6_IFADDR: 9, IPV6_ROUTE: 11, IPV6_RULE: 19 } as const

const familyOf = (len: number): number => (len === 4 ? AF.INET : AF.INET6)
const scopeValue = (s: ScopeName | number | undefined, dflt: number): number => (s === undefined ? dflt : typeof s === 'number' ? s : SCOPE[s])
const scopeName = (v: number): string => (Object.entries(SCOPE).find(([k, n]) => n === v && k !== 'universe')?.[0] ?? String(v))

/** Copies the defined values of `extra` onto `target` (optional fields stay absent, not undefined). */
function withDefined<T extends object>(target: T, extra: Partial<T>): T {
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (target as Record<string, unknown>)[k] = v
  return target
}

function ipBytes(text: string, what: string): Buffer {
  const b = parseIP(text)
  if (!b) throw new TypeError(`${what}: not an IP address: ${text}`)
  return b
}

/** "addr/len" or "addr" + explicit length. */
function splitPrefix(text: string, len: number | undefined, what: string): { bytes: Buffer; len: number } {
  const [a, l] = text.split('/', 2)
  const bytes = ipBytes(a, what)
  const max = bytes.length * 8
  const plen = l !== undefined ? Number(l) : len ?? max
  if (!Number.isInteger(plen) || plen < 0 || plen > max) throw new TypeError(`${what}: bad prefix length in ${text}`)
  return { bytes, len: plen }
}

// ---------- addresses ----------

export interface AddressSpec {
  ifindex: number
  /** "192.0.2.1/24", "2001:db8::1/64" or an address with `prefixLength`. */
  address: string
  prefixLength?: number
  /** Point-to-point peer (IFA_ADDRESS differs from IFA_LOCAL). */
  peer?: string
  broadcast?: string
  label?: string
  scope?: ScopeName | number
  flags?: AddressFlag[]
}

export function encodeIfaddrmsg(family: number, prefixLength: number, flags: number, scope: number, ifindex: number): Buffer {
  const b = Buffer.alloc(8)
  b[0] = family
  b[1] = prefixLength
  b[2] = flags & 0xff
  b[3] = scope
  w32(b, ifindex, 4)
  return b
}

/** RTM_NEWADDR / RTM_DELADDR body, attributes in the order ip(8) sends them. */
export function encodeAddress(spec: AddressSpec): Buffer {
  const { bytes, len } = splitPrefix(spec.address, spec.prefixLength, 'address')
  let flags = 0
  for (const f of spec.flags ?? []) flags |= IFA_F[f]
  const attrs: Attr[] = [attr(IFA.LOCAL, bytes)]
  if (spec.broadcast) attrs.push(attr(IFA.BROADCAST, ipBytes(spec.broadcast, 'broadcast')))
  // Like ip(8): flags that fit the header byte go there, wider ones only in IFA_FLAGS.
  if (flags > 0xff) attrs.push(u32Attr(IFA.FLAGS, flags))
  if (spec.label) attrs.push(strAttr(IFA.LABEL, spec.label))
  attrs.push(attr(IFA.ADDRESS, spec.peer ? ipBytes(spec.peer, 'peer') : bytes))
  const head = encodeIfaddrmsg(familyOf(bytes.length), len, flags > 0xff ? 0 : flags, scopeValue(spec.scope, 0), spec.ifindex)
  return Buffer.concat([head, encodeAttrs(attrs)])
}

export interface Address {
  family: 4 | 6
  ifindex: number
  address: string
  prefixLength: number
  local?: string
  peer?: string
  broadcast?: string
  label?: string
  scope: string
  flags: AddressFlag[]
}

function flagNames(v: number): AddressFlag[] {
  return (Object.keys(IFA_F) as AddressFlag[]).filter((k) => (v & IFA_F[k]) !== 0)
}

export function decodeAddress(m: NlMsg): Verdict<{ address: Address }> {
  const p = m.payload
  if (p.length < 8) return { ok: false, reason: 'ifaddrmsg too short' }
  if (p[0] !== AF.INET && p[0] !== AF.INET6) return { ok: false, reason: `address family ${p[0]}` }
  const t = decodeAttrs(p.subarray(8))
  if (!t.ok) return t
  const a = attrMap(t.attrs)
  const alen = p[0] === AF.INET ? 4 : 16
  const ip = (k: number): string | undefined => { const v = a.get(k); return v && v.length === alen ? formatIP(v) : undefined }
  const local = ip(IFA.LOCAL)
  const addr = ip(IFA.ADDRESS)
  const main = local ?? addr
  if (!main) return { ok: false, reason: 'address message without IFA_LOCAL / IFA_ADDRESS' }
  const out: Address = {
    family: alen === 4 ? 4 : 6, ifindex: u32(p, 4), address: main, prefixLength: p[1], scope: scopeName(p[3]),
    flags: flagNames(readU32(a.get(IFA.FLAGS)) ?? p[2]),
  }
  withDefined(out, { local, peer: local && addr && addr !== local ? addr : undefined, broadcast: ip(IFA.BROADCAST), label: readStr(a.get(IFA.LABEL)) || undefined })
  return { ok: true, address: out }
}

// ---------- links ----------

export function encodeIfinfomsg(ifindex: number, flags = 0, change = 0, family = 0, type = 0): Buffer {
  const b = Buffer.alloc(16)
  b[0] = family
  w16(b, type, 2)
  wi32(b, ifindex, 4)
  w32(b, flags, 8)
  w32(b, change, 12)
  return b
}

export interface LinkChange {
  ifindex?: number
  name?: string
  up?: boolean
  mac?: string
  mtu?: number
}

/** RTM_NEWLINK (set) body: state, MAC, MTU of an existing link. */
export function encodeLinkChange(c: LinkChange): Buffer {
  const attrs: Attr[] = []
  if (c.ifindex === undefined && c.name) attrs.push(strAttr(IFLA.IFNAME, c.name))
  if (c.mac) {
    const mac = parseMac(c.mac)
    if (!mac) throw new TypeError(`not a MAC address: ${c.mac}`)
    attrs.push(attr(IFLA.ADDRESS, mac))
  }
  if (c.mtu !== undefined) attrs.push(u32Attr(IFLA.MTU, c.mtu))
  const flags = c.up === undefined ? 0 : c.up ? IFF.UP : 0
  const change = c.up === undefined ? 0 : IFF.UP
  return Buffer.concat([encodeIfinfomsg(c.ifindex ?? 0, flags, change), encodeAttrs(attrs)])
}

export interface MacvlanSpec {
  name: string
  /** ifindex of the lower device. */
  link: number
  mode: MacvlanMode
  mac?: string
  up?: boolean
}

/** RTM_NEWLINK (create) body for a macvlan. */
export function encodeMacvlan(s: MacvlanSpec): Buffer {
  const attrs: Attr[] = []
  if (s.mac) {
    const mac = parseMac(s.mac)
    if (!mac) throw new TypeError(`not a MAC address: ${s.mac}`)
    attrs.push(attr(IFLA.ADDRESS, mac))
  }
  attrs.push(u32Attr(IFLA.LINK, s.link), strAttr(IFLA.IFNAME, s.name))
  const data = nested(IFLA_INFO.DATA, [u32Attr(IFLA_MACVLAN.MODE, MACVLAN_MODE[s.mode])], false)
  attrs.push(nested(IFLA.LINKINFO, [strAttr(IFLA_INFO.KIND, 'macvlan', false), data], false))
  return Buffer.concat([encodeIfinfomsg(0, s.up ? IFF.UP : 0, s.up ? IFF.UP : 0), encodeAttrs(attrs)])
}

export interface Link {
  ifindex: number
  name: string
  flags: number
  up: boolean
  lowerUp: boolean
  operstate: string
  mac?: string
  mtu?: number
  /** ifindex of the lower device (IFLA_LINK), e.g. a macvlan's parent. */
  link?: number
  master?: number
  kind?: string
  macvlanMode?: MacvlanMode
}

export function decodeLink(m: NlMsg): Verdict<{ link: Link }> {
  const p = m.payload
  if (p.length < 16) return { ok: false, reason: 'ifinfomsg too short' }
  const t = decodeAttrs(p.subarray(16))
  if (!t.ok) return t
  const a = attrMap(t.attrs)
  const flags = u32(p, 8)
  const link: Link = {
    ifindex: i32(p, 4), name: readStr(a.get(IFLA.IFNAME)) ?? '', flags, up: (flags & IFF.UP) !== 0, lowerUp: (flags & IFF.LOWER_UP) !== 0,
    operstate: OPERSTATES[readU8(a.get(IFLA.OPERSTATE)) ?? 0] ?? 'unknown',
  }
  const mac = a.get(IFLA.ADDRESS)
  withDefined(link, {
    mac: mac && mac.length > 0 ? formatMac(mac, 0, mac.length) : undefined, mtu: readU32(a.get(IFLA.MTU)), link: readU32(a.get(IFLA.LINK)),
    master: readU32(a.get(IFLA.MASTER)),
  })
  const info = a.get(IFLA.LINKINFO)
  if (info) {
    const ti = decodeAttrs(info)
    if (ti.ok) {
      const im = attrMap(ti.attrs)
      const kind = readStr(im.get(IFLA_INFO.KIND))
      if (kind) link.kind = kind
      const data = im.get(IFLA_INFO.DATA)
      if (kind === 'macvlan' && data) {
        const td = decodeAttrs(data)
        const mode = td.ok ? readU32(attrMap(td.attrs).get(IFLA_MACVLAN.MODE)) : undefined
        const name = (Object.keys(MACVLAN_MODE) as MacvlanMode[]).find((k) => MACVLAN_MODE[k] === mode)
        if (name) link.macvlanMode = name
      }
    }
  }
  return { ok: true, link }
}

// ---------- routes ----------

export interface RouteSpec {
  /** "192.0.2.0/24", "default" is not accepted: use "0.0.0.0/0" / "::/0". */
  dst: string
  table?: number
  metric?: number
  via?: string
  /** Output interface index. */
  oif?: number
  src?: string
  scope?: ScopeName | number
  type?: RouteType
  protocol?: number
}

export function encodeRtmsg(family: number, dstLen: number, table: number, protocol: number, scope: number, type: number): Buffer {
  const b = Buffer.alloc(12)
  b[0] = family
  b[1] = dstLen
  b[4] = table < 256 ? table : RT_TABLE.unspec
  b[5] = protocol
  b[6] = scope
  b[7] = type
  return b
}

/** RTM_NEWROUTE / RTM_DELROUTE body with ip(8)'s defaults (protocol boot; scope as ip route chooses it). */
export function encodeRoute(r: RouteSpec, forDelete = false): Buffer {
  const { bytes, len } = splitPrefix(r.dst, undefined, 'route destination')
  const v6 = bytes.length === 16
  const type = r.type ?? (forDelete ? 'unspec' : 'unicast')
  const table = r.table ?? RT_TABLE.main
  let scope: number
  if (r.scope !== undefined) scope = scopeValue(r.scope, 0)
  else if (v6) scope = SCOPE.universe
  else if (type === 'local' || type === 'nat') scope = SCOPE.host
  else if (type === 'broadcast' || type === 'multicast' || type === 'anycast') scope = SCOPE.link
  else if (type === 'unicast' || type === 'unspec') scope = forDelete ? SCOPE.nowhere : r.via ? SCOPE.universe : SCOPE.link
  else scope = SCOPE.universe
  const attrs: Attr[] = []
  if (len > 0) attrs.push(attr(RTA.DST, bytes))
  if (r.via) {
    const gw = ipBytes(r.via, 'via')
    if (gw.length !== bytes.length) throw new TypeError('route gateway family differs from destination')
    attrs.push(attr(RTA.GATEWAY, gw))
  }
  if (r.src) attrs.push(attr(RTA.PREFSRC, ipBytes(r.src, 'src')))
  if (r.metric !== undefined) attrs.push(u32Attr(RTA.PRIORITY, r.metric))
  if (table >= 256) attrs.push(u32Attr(RTA.TABLE, table))
  if (r.oif) attrs.push(u32Attr(RTA.OIF, r.oif))
  const head = encodeRtmsg(familyOf(bytes.length), len, table, r.protocol ?? (forDelete ? 0 : RTPROT.boot), scope, RTN[type])
  return Buffer.concat([head, encodeAttrs(attrs)])
}

export interface Route {
  family: 4 | 6
  dst: string
  table: number
  type: string
  scope: string
  protocol: number
  metric?: number
  via?: string
  oif?: number
  src?: string
}

export function decodeRoute(m: NlMsg): Verdict<{ route: Route }> {
  const p = m.payload
  if (p.length < 12) return { ok: false, reason: 'rtmsg too short' }
  if (p[0] !== AF.INET && p[0] !== AF.INET6) return { ok: false, reason: `route family ${p[0]}` }
  const t = decodeAttrs(p.subarray(12))
  if (!t.ok) return t
  const a = attrMap(t.attrs)
  const alen = p[0] === AF.INET ? 4 : 16
  const ip = (k: number): string | undefined => { const v = a.get(k); return v && v.length === alen ? formatIP(v) : undefined }
  const dst = ip(RTA.DST) ?? (alen === 4 ? '0.0.0.0' : '::')
  const typeName = Object.entries(RTN).find(([, v]) => v === p[7])?.[0] ?? String(p[7])
  const r: Route = {
    family: alen === 4 ? 4 : 6, dst: `${dst}/${p[1]}`, table: readU32(a.get(RTA.TABLE)) ?? p[4], type: typeName, scope: scopeName(p[6]), protocol: p[5],
  }
  withDefined(r, { metric: readU32(a.get(RTA.PRIORITY)), via: ip(RTA.GATEWAY), oif: readU32(a.get(RTA.OIF)), src: ip(RTA.PREFSRC) })
  return { ok: true, route: r }
}

// ---------- rules ----------

export interface RuleSpec {
  family?: 4 | 6
  from?: string
  to?: string
  table?: number
  priority?: number
  fwmark?: number
  fwmask?: number
  iif?: string
  oif?: string
  action?: keyof typeof FR_ACT
}

/** RTM_NEWRULE / RTM_DELRULE body (struct fib_rule_hdr + FRA_*), as ip rule builds it. */
export function encodeRule(r: RuleSpec, forDelete = false): Buffer {
  const from = r.from ? splitPrefix(r.from, undefined, 'from') : undefined
  const to = r.to ? splitPrefix(r.to, undefined, 'to') : undefined
  const fam = from ? familyOf(from.bytes.length) : to ? familyOf(to.bytes.length) : r.family === 6 ? AF.INET6 : AF.INET
  const table = r.table ?? (forDelete ? 0 : RT_TABLE.main)
  const action = r.action ? FR_ACT[r.action] : forDelete && r.table === undefined ? 0 : FR_ACT.to_tbl
  const h = Buffer.alloc(12)
  h[0] = fam
  h[1] = to?.len ?? 0
  h[2] = from?.len ?? 0
  h[4] = table < 256 ? table : 0
  h[7] = action
  const attrs: Attr[] = []
  if (from) attrs.push(attr(FRA.SRC, from.bytes))
  if (to) attrs.push(attr(FRA.DST, to.bytes))
  if (r.fwmark !== undefined) attrs.push(u32Attr(FRA.FWMARK, r.fwmark))
  if (r.fwmask !== undefined) attrs.push(u32Attr(FRA.FWMASK, r.fwmask))
  if (r.iif) attrs.push(strAttr(FRA.IIFNAME, r.iif))
  if (r.oif) attrs.push(strAttr(FRA.OIFNAME, r.oif))
  if (r.priority !== undefined) attrs.push(u32Attr(FRA.PRIORITY, r.priority))
  if (table >= 256) attrs.push(u32Attr(FRA.TABLE, table))
  return Buffer.concat([h, encodeAttrs(attrs)])
}

export interface Rule {
  family: 4 | 6
  priority?: number
  from?: string
  to?: string
  table: number
  action: string
  fwmark?: number
  fwmask?: number
  iif?: string
  oif?: string
}

export function decodeRule(m: NlMsg): Verdict<{ rule: Rule }> {
  const p = m.payload
  if (p.length < 12) return { ok: false, reason: 'fib_rule_hdr too short' }
  if (p[0] !== AF.INET && p[0] !== AF.INET6) return { ok: false, reason: `rule family ${p[0]}` }
  const t = decodeAttrs(p.subarray(12))
  if (!t.ok) return t
  const a = attrMap(t.attrs)
  const alen = p[0] === AF.INET ? 4 : 16
  const pfx = (k: number, len: number): string | undefined => { const v = a.get(k); return v && v.length === alen ? `${formatIP(v)}/${len}` : undefined }
  const r: Rule = {
    family: alen === 4 ? 4 : 6, table: readU32(a.get(FRA.TABLE)) ?? p[4],
    action: Object.entries(FR_ACT).find(([, v]) => v === p[7])?.[0] ?? String(p[7]),
  }
  withDefined(r, {
    priority: readU32(a.get(FRA.PRIORITY)), from: pfx(FRA.SRC, p[2]), to: pfx(FRA.DST, p[1]), fwmark: readU32(a.get(FRA.FWMARK)),
    fwmask: readU32(a.get(FRA.FWMASK)), iif: readStr(a.get(FRA.IIFNAME)) || undefined, oif: readStr(a.get(FRA.OIFNAME)) || undefined,
  })
  return { ok: true, rule: r }
}

/** Family-only header for GET dumps (rtgenmsg padded to the real header size, as ip(8) does). */
export function encodeDumpRequest(type: number, family = 0): Buffer {
  const size = type === RTM.GETLINK ? 16 : type === RTM.GETADDR ? 8 : 12
  const b = Buffer.alloc(size)
  b[0] = family
  return b
}

