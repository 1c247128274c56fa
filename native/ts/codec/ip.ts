// IPv4 / IPv6 text <-> bytes. Pure; parse functions return undefined on bad text (never throw).
import { isIPv4, isIPv6 } from 'node:net'

export function parseIPv4(text: string): Buffer | undefined {
  if (!isIPv4(text)) return undefined
  return Buffer.from(text.split('.').map((p) => Number(p)))
}

export function parseIPv6(text: string): Buffer | undefined {
  const pct = text.indexOf('%')
  const s = pct >= 0 ? text.slice(0, pct) : text
  if (!isIPv6(s)) return undefined
  const out = Buffer.alloc(16)
  let head = s
  let tail = ''
  const dbl = s.indexOf('::')
  if (dbl >= 0) {
    head = s.slice(0, dbl)
    tail = s.slice(dbl + 2)
  }
  const words = (part: string): number[] => {
    if (part === '') return []
    const res: number[] = []
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIPv4(g)
        if (!v4) return [NaN]
        res.push(v4.readUInt16BE(0), v4.readUInt16BE(2))
      } else res.push(parseInt(g, 16))
    }
    return res
  }
  const h = words(head)
  const t = words(tail)
  if (dbl < 0 && h.length !== 8) return undefined
  if (h.length + t.length > 8 || [...h, ...t].some((w) => !Number.isInteger(w))) return undefined
  h.forEach((w, i) => out.writeUInt16BE(w, i * 2))
  t.forEach((w, i) => out.writeUInt16BE(w, (8 - t.length + i) * 2))
  return out
}

/** Parses either family; returns the bytes (4 or 16) or undefined. */
export function parseIP(text: string): Buffer | undefined {
  return parseIPv4(text) ?? parseIPv6(text)
}

export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`
}

/** RFC 5952 text form (longest zero run compressed, lower case). */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const w: number[] = []
  for (let i = 0; i < 8; i++) w.push((b[off + i * 2] << 8) | b[off + i * 2 + 1])
  // IPv4-mapped addresses keep the dotted quad, as ip(8) prints them.
  if (w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff) return `::ffff:${formatIPv4(b, off + 12)}`
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && w[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i }
    i = j
  }
  const hex = w.map((x) => x.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

export function formatIP(b: Uint8Array, off = 0, len = b.length - off): string {
  return len === 4 ? formatIPv4(b, off) : len === 16 ? formatIPv6(b, off) : Buffer.from(b.subarray(off, off + len)).toString('hex')
}

export function parseMac(text: string): Buffer | undefined {
  if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(text)) return undefined
  return Buffer.from(text.split(':').map((p) => parseInt(p, 16)))
}

export function formatMac(b: Uint8Array, off = 0, len = 6): string {
  const parts: string[] = []
  for (let i = 0; i < len; i++) parts.push(b[off + i].toString(16).padStart(2, '0'))
  return parts.join(':')
}

/** Parses "addr/len" (len defaults to the full width). */
export function parsePrefix(text: string): { family: 4 | 6; address: Buffer; prefixLength: number } | undefined {
  const [a, l] = text.split('/', 2)
  const address = parseIP(a)
  if (!address) return undefined
  const max = address.length * 8
  const prefixLength = l === undefined ? max : /^\d+$/.test(l) ? Number(l) : NaN
  if (!(prefixLength >= 0 && prefixLength <= max)) return undefined
  return { family: address.length === 4 ? 4 : 6, address, prefixLength }
}
