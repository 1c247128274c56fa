/**
 * Netlink attributes (struct nlattr: u16 len, u16 type, value, padded to 4) for the IPVS family. Pure.
 * Numbers in attributes are host byte order except where the uapi says network order (ports, IPv4 netmask).
 */
import { endianness } from 'node:os'

const LE = endianness() === 'LE'
export const NLA_F_NESTED = 0x8000
export const NLA_F_NET_BYTEORDER = 0x4000
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff

export const align4 = (n: number): number => (n + 3) & ~3

/** Builds a run of attributes. */
export class AttrWriter {
  private readonly parts: Buffer[] = []
  private len = 0

  raw(type: number, value: Buffer): this {
    const h = Buffer.alloc(4)
    const total = 4 + value.length
    if (LE) { h.writeUInt16LE(total, 0); h.writeUInt16LE(type, 2) } else { h.writeUInt16BE(total, 0); h.writeUInt16BE(type, 2) }
    const pad = align4(total) - total
    this.parts.push(h, value)
    if (pad) this.parts.push(Buffer.alloc(pad))
    this.len += align4(total)
    return this
  }
  u8(type: number, v: number): this {
    return this.raw(type, Buffer.from([v & 0xff]))
  }
  u16(type: number, v: number): this {
    const b = Buffer.alloc(2)
    if (LE) b.writeUInt16LE(v & 0xffff, 0); else b.writeUInt16BE(v & 0xffff, 0)
    return this.raw(type, b)
  }
  be16(type: number, v: number): this {
    const b = Buffer.alloc(2)
    b.writeUInt16BE(v & 0xffff, 0)
    return this.raw(type, b)
  }
  u32(type: number, v: number): this {
    const b = Buffer.alloc(4)
    if (LE) b.writeUInt32LE(v >>> 0, 0); else b.writeUInt32BE(v >>> 0, 0)
    return this.raw(type, b)
  }
  string(type: number, s: string): this {
    return this.raw(type, Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]))
  }
  nested(type: number, fn: (w: AttrWriter) => void): this {
    const w = new AttrWriter()
    fn(w)
    return this.raw(type | NLA_F_NESTED, w.toBuffer())
  }
  get length(): number {
    return this.len
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.len)
  }
}

export interface Attr {
  readonly type: number
  readonly value: Buffer
}

export type Verdict<T> = ({ ok: true } & T) | { ok: false; reason: string }

/** Splits a run of attributes; never throws. */
export function parseAttrs(buf: Buffer, off = 0, end = buf.length): Verdict<{ attrs: Map<number, Attr> }> {
  const attrs = new Map<number, Attr>()
  let p = off
  while (p + 4 <= end) {
    const len = LE ? buf.readUInt16LE(p) : buf.readUInt16BE(p)
    const type = (LE ? buf.readUInt16LE(p + 2) : buf.readUInt16BE(p + 2)) & NLA_TYPE_MASK
    if (len < 4 || p + len > end) return { ok: false, reason: `attribute ${type} at ${p - off}: length ${len} runs past the end (${end - p} left)` }
    attrs.set(type, { type, value: buf.subarray(p + 4, p + len) })
    p += align4(len)
  }
  if (p < end && end - p < 4 && p !== end) {
    // trailing bytes shorter than a header: tolerated only if they are padding
    if (buf.subarray(p, end).some((x) => x !== 0)) return { ok: false, reason: `${end - p} trailing bytes after the attributes` }
  }
  return { ok: true, attrs }
}

export function rdU8(a: Attr | undefined): number | undefined {
  return a && a.value.length >= 1 ? a.value[0] : undefined
}
export function rdU16(a: Attr | undefined): number | undefined {
  if (!a || a.value.length < 2) return undefined
  return LE ? a.value.readUInt16LE(0) : a.value.readUInt16BE(0)
}
export function rdBe16(a: Attr | undefined): number | undefined {
  return a && a.value.length >= 2 ? a.value.readUInt16BE(0) : undefined
}
export function rdU32(a: Attr | undefined): number | undefined {
  if (!a || a.value.length < 4) return undefined
  return LE ? a.value.readUInt32LE(0) : a.value.readUInt32BE(0)
}
export function rdU64(a: Attr | undefined): bigint | undefined {
  if (!a || a.value.length < 8) return undefined
  return LE ? a.value.readBigUInt64LE(0) : a.value.readBigUInt64BE(0)
}
export function rdString(a: Attr | undefined): string | undefined {
  if (!a) return undefined
  const nul = a.value.indexOf(0)
  return a.value.subarray(0, nul < 0 ? a.value.length : nul).toString('utf8')
}

export function hostU16(v: number): Buffer {
  const b = Buffer.alloc(2)
  if (LE) b.writeUInt16LE(v, 0); else b.writeUInt16BE(v, 0)
  return b
}
export function hostU32(v: number): Buffer {
  const b = Buffer.alloc(4)
  if (LE) b.writeUInt32LE(v >>> 0, 0); else b.writeUInt32BE(v >>> 0, 0)
  return b
}
export function readHostU16(b: Buffer, off: number): number {
  return LE ? b.readUInt16LE(off) : b.readUInt16BE(off)
}
export function readHostU32(b: Buffer, off: number): number {
  return LE ? b.readUInt32LE(off) : b.readUInt32BE(off)
}
export function readHostI32(b: Buffer, off: number): number {
  return LE ? b.readInt32LE(off) : b.readInt32BE(off)
}
