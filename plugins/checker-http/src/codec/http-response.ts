/**
 * A bounded HTTP/1.x response decoder: the status line and headers, then the body framed by
 * Content-Length, chunked transfer coding or the end of the connection. Pure functions over bytes; outside
 * bytes never make them throw (verdicts `{ ok: false, reason }`).
 */

export interface ResponseHead {
  readonly version: string
  readonly status: number
  readonly reason: string
  /** lower-cased names; repeated headers joined with ', ' */
  readonly headers: Readonly<Record<string, string>>
  /** bytes of the head including the blank line */
  readonly length: number
}

export type HeadVerdict = { readonly ok: true; readonly head: ResponseHead } | { readonly ok: false; readonly reason: string; readonly incomplete?: boolean }

/** the longest head accepted */
export const MAX_HEAD = 64 * 1024

export function decodeHead(buf: Uint8Array): HeadVerdict {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const end = b.indexOf('\r\n\r\n')
  const lfEnd = end < 0 ? b.indexOf('\n\n') : -1
  if (end < 0 && lfEnd < 0) {
    if (b.length > MAX_HEAD) return { ok: false, reason: `response head longer than ${MAX_HEAD} bytes` }
    return { ok: false, reason: 'incomplete head', incomplete: true }
  }
  const headLen = end >= 0 ? end + 4 : lfEnd + 2
  if (headLen > MAX_HEAD) return { ok: false, reason: `response head longer than ${MAX_HEAD} bytes` }
  const text = b.toString('latin1', 0, headLen)
  const lines = text.split(/\r?\n/)
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '')
  if (!m) return { ok: false, reason: `bad status line '${(lines[0] ?? '').slice(0, 80)}'` }
  const headers: Record<string, string> = {}
  for (const l of lines.slice(1)) {
    if (l === '') continue
    const c = l.indexOf(':')
    if (c <= 0) return { ok: false, reason: `bad header line '${l.slice(0, 80)}'` }
    const name = l.slice(0, c).trim().toLowerCase()
    const value = l.slice(c + 1).trim()
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value
  }
  return { ok: true, head: { version: m[1], status: Number(m[2]), reason: m[3] ?? '', headers, length: headLen } }
}

export type Framing = { readonly kind: 'length'; readonly length: number } | { readonly kind: 'chunked' } | { readonly kind: 'close' }

export function framingOf(head: ResponseHead): Framing | { readonly kind: 'error'; readonly reason: string } {
  const te = head.headers['transfer-encoding']
  if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) return { kind: 'chunked' }
  const cl = head.headers['content-length']
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(cl)) return { kind: 'error', reason: `bad Content-Length '${cl.slice(0, 40)}'` }
    return { kind: 'length', length: Number(cl) }
  }
  if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) return { kind: 'length', length: 0 }
  return { kind: 'close' }
}

/** what a reader needs of a head: its status, its length (with the blank line) and the body's framing */
export interface HeadScan {
  readonly status: number
  readonly length: number
  readonly framing: Framing
}

const CR = 0x0d
const LF = 0x0a
const CRLFCRLF = Buffer.from('\r\n\r\n')
const CLOSE: Framing = Object.freeze({ kind: 'close' })
const EMPTY: Framing = Object.freeze({ kind: 'length', length: 0 })
const isDigit = (c: number) => c >= 0x30 && c <= 0x39
/** what String.prototype.trim removes, among latin1 characters */
const isBlank = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0

/** a header name (from..to) equal to `lower` ignoring ASCII case */
function nameIs(b: Uint8Array, from: number, to: number, lower: string): boolean {
  if (to - from !== lower.length) return false
  for (let i = 0; i < lower.length; i++) {
    const c = b[from + i]
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false
  }
  return true
}

/**
 * The common response head read without making a string: `HTTP/d.d ddd[ reason]`, every line ending in CRLF, header
 * names without blanks, no Transfer-Encoding, at most one Content-Length. Anything else (an incomplete head too)
 * gives undefined, and `decodeHead` / `framingOf` decide: when this answers, it says what they would.
 */
export function scanHead(b: Buffer): HeadScan | undefined {
  const end = b.indexOf(CRLFCRLF)
  if (end < 12 || end + 4 > MAX_HEAD) return undefined
  if (b[0] !== 0x48 || b[1] !== 0x54 || b[2] !== 0x54 || b[3] !== 0x50 || b[4] !== 0x2f || !isDigit(b[5]) || b[6] !== 0x2e || !isDigit(b[7]) || b[8] !== 0x20) return undefined
  if (!isDigit(b[9]) || !isDigit(b[10]) || !isDigit(b[11]) || (b[12] !== 0x20 && b[12] !== CR)) return undefined
  const status = (b[9] - 0x30) * 100 + (b[10] - 0x30) * 10 + (b[11] - 0x30)
  let length = -1
  let lineStart = 0
  let colon = -1
  // the status line and the header lines, each up to its CRLF
  for (let i = 12; i < end + 2; i++) {
    const c = b[i]
    if (c === 0x3a && colon < 0) colon = i
    else if (c === LF) return undefined
    if (c !== CR) continue
    if (b[i + 1] !== LF) return undefined
    if (lineStart > 0) {
      if (colon <= lineStart) return undefined
      for (let j = lineStart; j < colon; j++) if (isBlank(b[j])) return undefined
      if (nameIs(b, lineStart, colon, 'transfer-encoding')) return undefined
      if (nameIs(b, lineStart, colon, 'content-length')) {
        if (length >= 0) return undefined
        let from = colon + 1
        let to = i
        while (from < to && isBlank(b[from])) from++
        while (to > from && isBlank(b[to - 1])) to--
        if (to === from || to - from > 15) return undefined
        length = 0
        for (let j = from; j < to; j++) {
          if (!isDigit(b[j])) return undefined
          length = length * 10 + (b[j] - 0x30)
        }
      }
    }
    i++
    lineStart = i + 1
    colon = -1
  }
  const framing: Framing = length >= 0 ? { kind: 'length', length } : status === 204 || status === 304 || (status >= 100 && status < 200) ? EMPTY : CLOSE
  return { status, length: end + 4, framing }
}

export type ChunkedVerdict =
  | { readonly ok: true; readonly body: Buffer; readonly complete: boolean }
  | { readonly ok: false; readonly reason: string }

/** decode a chunked body as far as it goes; `complete` once the last chunk (and its trailers) arrived */
export function decodeChunked(buf: Uint8Array): ChunkedVerdict {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const parts: Buffer[] = []
  let i = 0
  for (;;) {
    const eol = b.indexOf('\r\n', i)
    if (eol < 0) {
      if (b.length - i > 1024) return { ok: false, reason: 'chunk size line too long' }
      return { ok: true, body: Buffer.concat(parts), complete: false }
    }
    const line = b.toString('latin1', i, eol).split(';')[0].trim()
    if (!/^[0-9a-fA-F]{1,8}$/.test(line)) return { ok: false, reason: `bad chunk size '${line.slice(0, 20)}'` }
    const size = parseInt(line, 16)
    const start = eol + 2
    if (size === 0) {
      // trailers end with an empty line
      const t = b.indexOf('\r\n', start)
      if (t < 0) return { ok: true, body: Buffer.concat(parts), complete: false }
      if (t === start) return { ok: true, body: Buffer.concat(parts), complete: true }
      const tEnd = b.indexOf('\r\n\r\n', start)
      return { ok: true, body: Buffer.concat(parts), complete: tEnd >= 0 }
    }
    if (b.length < start + size + 2) {
      parts.push(b.subarray(start, Math.min(b.length, start + size)))
      return { ok: true, body: Buffer.concat(parts), complete: false }
    }
    if (b[start + size] !== 0x0d || b[start + size + 1] !== 0x0a) return { ok: false, reason: 'chunk not followed by CRLF' }
    parts.push(b.subarray(start, start + size))
    i = start + size + 2
  }
}

export interface RequestSpec {
  readonly path: string
  /** Host header value */
  readonly host: string
  readonly protocol: '1.0' | '1.0C' | '1.1'
}

/** the request keepalived (and genhash) send, byte for byte */
export function encodeRequest(r: RequestSpec): Buffer {
  const version = r.protocol === '1.1' ? '1.1' : '1.0'
  const close = r.protocol === '1.0' ? '' : 'Connection: close\r\n'
  return Buffer.from(`GET ${r.path} HTTP/${version}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${r.host}\r\n\r\n`, 'latin1')
}
