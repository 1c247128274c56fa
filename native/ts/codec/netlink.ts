// Netlink framing (uapi linux/netlink.h): struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid }
// and struct nlattr { u16 len; u16 type } with 4-byte alignment; all fields host byte order. Pure.
import { errnoName } from '../errors.js'
import { i32, u16, u32, w16, w32 } from './host-endian.js'

export const NLMSG_HDRLEN = 16
export const NLA_HDRLEN = 4
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const
export const NLM_F = {
  REQUEST: 0x1, MULTI: 0x2, ACK: 0x4, ECHO: 0x8, DUMP_INTR: 0x10, DUMP_FILTERED: 0x20,
  ROOT: 0x100, MATCH: 0x200, ATOMIC: 0x400, DUMP: 0x300,
  REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800,
  CAPPED: 0x100, ACK_TLVS: 0x200,
} as const
export const NLA_F_NESTED = 0x8000
export const NLA_F_NET_BYTEORDER = 0x4000
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3 } as const

export const align4 = (n: number): number => (n + 3) & ~3

export interface NlMsg {
  type: number
  flags: number
  seq: number
  pid: number
  /** Everything after the 16-byte header. */
  payload: Buffer
}

export type Verdict<T> = ({ ok: true } & T) | { ok: false; reason: string }

// ---------- attributes (encode) ----------

/** An attribute to encode: raw bytes, or a nested list. */
export interface Attr {
  type: number
  value: Buffer | Attr[]
}

export const attr = (type: number, value: Buffer): Attr => ({ type, value })
/** A nested attribute; ip(8) leaves NLA_F_NESTED off for the old rtnetlink ones, pass markNested=false to match. */
export const nested = (type: number, children: Attr[], markNested = true): Attr => ({ type: markNested ? type | NLA_F_NESTED : type, value: children })
export function u8Attr(type: number, v: number): Attr { return { type, value: Buffer.from([v & 0xff]) } }
export function u16Attr(type: number, v: number): Attr { const b = Buffer.alloc(2); w16(b, v, 0); return { type, value: b } }
export function u32Attr(type: number, v: number): Attr { const b = Buffer.alloc(4); w32(b, v, 0); return { type, value: b } }
/** A string attribute, NUL-terminated unless `nul` is false (ip(8) sends IFLA_INFO_KIND without it). */
export function strAttr(type: number, s: string, nul = true): Attr { return { type, value: Buffer.from(nul ? s + '\0' : s) } }

function attrSize(a: Attr): number {
  const payload = Buffer.isBuffer(a.value) ? a.value.length : a.value.reduce((n, c) => n + align4(attrSize(c)), 0)
  return NLA_HDRLEN + payload
}

function writeAttr(out: Buffer, off: number, a: Attr): number {
  const len = attrSize(a)
  w16(out, len, off)
  w16(out, a.type, off + 2)
  let p = off + NLA_HDRLEN
  if (Buffer.isBuffer(a.value)) a.value.copy(out, p)
  else for (const c of a.value) p = writeAttr(out, p, c)
  return off + align4(len)
}

export function encodeAttrs(attrs: Attr[]): Buffer {
  const out = Buffer.alloc(attrs.reduce((n, a) => n + align4(attrSize(a)), 0))
  let off = 0
  for (const a of attrs) off = writeAttr(out, off, a)
  return out
}

// ---------- attributes (decode) ----------

export interface NlAttr {
  /** Type without the NESTED / NET_BYTEORDER flags. */
  type: number
  nested: boolean
  value: Buffer
}

/** Splits an attribute stream. Any malformed length is a verdict, never an exception. */
export function decodeAttrs(buf: Buffer): Verdict<{ attrs: NlAttr[] }> {
  const attrs: NlAttr[] = []
  let off = 0
  while (off + NLA_HDRLEN <= buf.length) {
    const len = u16(buf, off)
    const type = u16(buf, off + 2)
    if (len < NLA_HDRLEN || off + len > buf.length) return { ok: false, reason: `attribute at ${off} has bad length ${len}` }
    attrs.push({ type: type & NLA_TYPE_MASK, nested: (type & NLA_F_NESTED) !== 0, value: buf.subarray(off + NLA_HDRLEN, off + len) })
    off += align4(len)
  }
  // Fewer than 4 bytes left: tolerated only as zero padding.
  if (off < buf.length && buf.subarray(off).some((x) => x !== 0)) return { ok: false, reason: `${buf.length - off} trailing bytes after attributes` }
  return { ok: true, attrs }
}

/** Last value of each attribute type (the kernel never repeats the ones kad reads). */
export function attrMap(attrs: NlAttr[]): Map<number, Buffer> {
  const m = new Map<number, Buffer>()
  for (const a of attrs) m.set(a.type, a.value)
  return m
}

export const readU8 = (b: Buffer | undefined): number | undefined => (b && b.length >= 1 ? b[0] : undefined)
export const readU16 = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? u16(b, 0) : undefined)
export const readU32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? u32(b, 0) : undefined)
export function readStr(b: Buffer | undefined): string | undefined {
  if (!b) return undefined
  const end = b.indexOf(0)
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8')
}

// ---------- messages ----------

export interface NlMsgInput {
  type: number
  flags: number
  seq: number
  pid?: number
  /** Fixed header (ifaddrmsg, rtmsg, …) followed by attributes; pieces are concatenated. */
  payload: Buffer | Buffer[]
}

export function encodeMessage(m: NlMsgInput): Buffer {
  const parts = Buffer.isBuffer(m.payload) ? [m.payload] : m.payload
  const plen = parts.reduce((n, p) => n + align4(p.length), 0)
  const out = Buffer.alloc(NLMSG_HDRLEN + plen)
  w32(out, NLMSG_HDRLEN + plen, 0)
  w16(out, m.type, 4)
  w16(out, m.flags, 6)
  w32(out, m.seq, 8)
  w32(out, m.pid ?? 0, 12)
  let off = NLMSG_HDRLEN
  for (const p of parts) { p.copy(out, off); off += align4(p.length) }
  return out
}

/** Splits one received datagram into messages. */
export function decodeMessages(buf: Buffer): Verdict<{ messages: NlMsg[] }> {
  const messages: NlMsg[] = []
  let off = 0
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) return { ok: false, reason: `${buf.length - off} bytes left, shorter than a netlink header` }
    const len = u32(buf, off)
    if (len < NLMSG_HDRLEN || off + len > buf.length) return { ok: false, reason: `message at ${off} has bad length ${len}` }
    messages.push({ type: u16(buf, off + 4), flags: u16(buf, off + 6), seq: u32(buf, off + 8), pid: u32(buf, off + 12), payload: buf.subarray(off + NLMSG_HDRLEN, off + len) })
    off += align4(len)
  }
  return { ok: true, messages }
}

export interface NlError {
  /** 0 for an ACK; otherwise the positive errno. */
  errno: number
  /** errno name ('EEXIST'), or 'OK' for an ACK. */
  code: string
  /** Header of the request this answers. */
  requestType?: number
  requestSeq?: number
  /** Kernel's extended-ACK text (NETLINK_EXT_ACK), if any. */
  message?: string
}

/** Decodes an NLMSG_ERROR payload (struct nlmsgerr + optional extended-ACK TLVs). */
export function decodeError(msg: NlMsg): Verdict<{ error: NlError }> {
  const p = msg.payload
  if (p.length < 4) return { ok: false, reason: 'NLMSG_ERROR shorter than its error code' }
  const err = -i32(p, 0)
  if (err < 0 || err > 4095) return { ok: false, reason: `NLMSG_ERROR with impossible error ${-err}` }
  const error: NlError = { errno: err, code: err === 0 ? 'OK' : errnoName(err) }
  if (p.length >= 4 + NLMSG_HDRLEN) {
    const origLen = u32(p, 4)
    error.requestType = u16(p, 8)
    error.requestSeq = u32(p, 12)
    if (msg.flags & NLM_F.ACK_TLVS) {
      const skip = msg.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : align4(origLen)
      if (4 + skip <= p.length) {
        const t = decodeAttrs(p.subarray(4 + skip))
        if (t.ok) {
          const text = readStr(attrMap(t.attrs).get(NLMSGERR_ATTR.MSG))
          if (text) error.message = text
        }
      }
    }
  }
  return { ok: true, error }
}
