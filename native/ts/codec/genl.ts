// Generic netlink (uapi linux/genetlink.h): struct genlmsghdr { u8 cmd; u8 version; u16 reserved } and the
// controller family (GENL_ID_CTRL) used to resolve family ids and multicast groups. Pure.
import { attrMap, decodeAttrs, encodeAttrs, readStr, readU16, readU32, strAttr, type Attr, type NlMsg, type Verdict } from './netlink.js'

export const GENL_ID_CTRL = 0x10
export const CTRL_CMD = { NEWFAMILY: 1, GETFAMILY: 3 } as const
export const CTRL_ATTR = { FAMILY_ID: 1, FAMILY_NAME: 2, VERSION: 3, HDRSIZE: 4, MAXATTR: 5, OPS: 6, MCAST_GROUPS: 7 } as const
export const CTRL_ATTR_MCAST_GRP = { NAME: 1, ID: 2 } as const

export function encodeGenl(cmd: number, version: number, attrs: Attr[]): Buffer {
  return Buffer.concat([Buffer.from([cmd, version, 0, 0]), encodeAttrs(attrs)])
}

export function encodeGetFamily(name: string): Buffer {
  return encodeGenl(CTRL_CMD.GETFAMILY, 1, [strAttr(CTRL_ATTR.FAMILY_NAME, name)])
}

export interface GenlFamily {
  id: number
  name: string
  version: number
  hdrSize: number
  maxAttr: number
  /** Multicast group name -> id. */
  groups: Record<string, number>
}

export interface GenlMessage {
  cmd: number
  version: number
  /** Attribute bytes after the 4-byte genl header (and any family header, left to the caller). */
  body: Buffer
}

export function decodeGenl(m: NlMsg): Verdict<{ genl: GenlMessage }> {
  if (m.payload.length < 4) return { ok: false, reason: 'genlmsghdr too short' }
  return { ok: true, genl: { cmd: m.payload[0], version: m.payload[1], body: m.payload.subarray(4) } }
}

export function decodeFamily(m: NlMsg): Verdict<{ family: GenlFamily }> {
  const g = decodeGenl(m)
  if (!g.ok) return g
  const t = decodeAttrs(g.genl.body)
  if (!t.ok) return t
  const a = attrMap(t.attrs)
  const id = readU16(a.get(CTRL_ATTR.FAMILY_ID))
  const name = readStr(a.get(CTRL_ATTR.FAMILY_NAME))
  if (id === undefined || name === undefined) return { ok: false, reason: 'family reply without id or name' }
  const groups: Record<string, number> = {}
  const mg = a.get(CTRL_ATTR.MCAST_GROUPS)
  if (mg) {
    const list = decodeAttrs(mg)
    if (!list.ok) return list
    for (const entry of list.attrs) {
      const e = decodeAttrs(entry.value)
      if (!e.ok) return e
      const em = attrMap(e.attrs)
      const gname = readStr(em.get(CTRL_ATTR_MCAST_GRP.NAME))
      const gid = readU32(em.get(CTRL_ATTR_MCAST_GRP.ID))
      if (gname !== undefined && gid !== undefined) groups[gname] = gid
    }
  }
  return {
    ok: true,
    family: { id, name, version: readU32(a.get(CTRL_ATTR.VERSION)) ?? 0, hdrSize: readU32(a.get(CTRL_ATTR.HDRSIZE)) ?? 0, maxAttr: readU32(a.get(CTRL_ATTR.MAXATTR)) ?? 0, groups },
  }
}
