/**
 * The few netlink pieces the IPVS transport needs and that are not IPVS-specific: nlmsghdr framing, NLMSG_ERROR /
 * NLMSG_DONE, and the generic-netlink controller's family lookup (CTRL_CMD_GETFAMILY). Pure functions.
 */
import { AttrWriter, parseAttrs, rdString, rdU16, readHostI32, readHostU16, readHostU32, type Verdict } from './attrs.js'
import { endianness } from 'node:os'

const LE = endianness() === 'LE'

export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const
export const NLM_F = { REQUEST: 0x1, MULTI: 0x2, ACK: 0x4, ECHO: 0x8, DUMP_INTR: 0x10, ROOT: 0x100, MATCH: 0x200, DUMP: 0x300, CAPPED: 0x100, ACK_TLVS: 0x200 } as const
export const NETLINK_GENERIC = 16
export const GENL_ID_CTRL = 0x10
export const CTRL_CMD_GETFAMILY = 3
export const CTRL_CMD_NEWFAMILY = 1
export const CTRL_ATTR_FAMILY_ID = 1
export const CTRL_ATTR_FAMILY_NAME = 2
export const NLMSG_HDRLEN = 16

export interface NlHeader {
  readonly type: number
  readonly flags: number
  readonly seq: number
  readonly pid: number
}

export interface NlMessage extends NlHeader {
  readonly payload: Buffer
}

export function encodeNlmsg(h: NlHeader, payload: Buffer): Buffer {
  const len = NLMSG_HDRLEN + payload.length
  const b = Buffer.alloc((len + 3) & ~3)
  if (LE) {
    b.writeUInt32LE(len, 0); b.writeUInt16LE(h.type, 4); b.writeUInt16LE(h.flags, 6); b.writeUInt32LE(h.seq >>> 0, 8); b.writeUInt32LE(h.pid >>> 0, 12)
  } else {
    b.writeUInt32BE(len, 0); b.writeUInt16BE(h.type, 4); b.writeUInt16BE(h.flags, 6); b.writeUInt32BE(h.seq >>> 0, 8); b.writeUInt32BE(h.pid >>> 0, 12)
  }
  payload.copy(b, NLMSG_HDRLEN)
  return b
}

/** Splits a datagram into netlink messages; never throws. */
export function parseNlmsgs(buf: Buffer): Verdict<{ messages: NlMessage[] }> {
  const messages: NlMessage[] = []
  let p = 0
  while (p + NLMSG_HDRLEN <= buf.length) {
    const len = readHostU32(buf, p)
    if (len < NLMSG_HDRLEN || p + len > buf.length) return { ok: false, reason: `netlink message at ${p}: length ${len} does not fit (${buf.length - p} left)` }
    messages.push({ type: readHostU16(buf, p + 4), flags: readHostU16(buf, p + 6), seq: readHostU32(buf, p + 8), pid: readHostU32(buf, p + 12), payload: buf.subarray(p + NLMSG_HDRLEN, p + len) })
    p += (len + 3) & ~3
  }
  if (p < buf.length && buf.length - p >= NLMSG_HDRLEN) return { ok: false, reason: 'trailing bytes after the last message' }
  return { ok: true, messages }
}

/** NLMSG_ERROR payload: int error (0 = ack, else -errno) and the header of the request it answers. */
export function decodeNlError(payload: Buffer): Verdict<{ error: number; requestSeq: number; requestType: number }> {
  if (payload.length < 4 + NLMSG_HDRLEN) return { ok: false, reason: `NLMSG_ERROR payload too short (${payload.length} bytes)` }
  return { ok: true, error: readHostI32(payload, 0), requestType: readHostU16(payload, 8), requestSeq: readHostU32(payload, 12) }
}

/** genlmsghdr: u8 cmd, u8 version, u16 reserved */
export function genlHeader(cmd: number, version: number): Buffer {
  return Buffer.from([cmd & 0xff, version & 0xff, 0, 0])
}

export function encodeCtrlGetFamily(name: string): Buffer {
  return Buffer.concat([genlHeader(CTRL_CMD_GETFAMILY, 1), new AttrWriter().string(CTRL_ATTR_FAMILY_NAME, name).toBuffer()])
}

export function decodeCtrlFamily(payload: Buffer): Verdict<{ id: number; name: string }> {
  if (payload.length < 4) return { ok: false, reason: 'generic netlink header missing' }
  const a = parseAttrs(payload, 4)
  if (!a.ok) return a
  const id = rdU16(a.attrs.get(CTRL_ATTR_FAMILY_ID))
  const name = rdString(a.attrs.get(CTRL_ATTR_FAMILY_NAME))
  if (id === undefined || name === undefined) return { ok: false, reason: 'family id or name missing' }
  return { ok: true, id, name }
}
