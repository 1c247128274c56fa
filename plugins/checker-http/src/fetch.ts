/**
 * One GET over a fresh TCP or TLS connection, with a hard byte cap and the caller's abort signal. Shared by
 * HTTP_GET / SSL_GET and genhash.
 */
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import { readFileSync } from 'node:fs'
import { decodeChunked, decodeHead, encodeRequest, framingOf, type ResponseHead } from './codec/http-response.js'

export interface TlsOptions {
  /** SNI server name */
  servername?: string
  /** PEM file paths (the top-level SSL block) */
  ca?: string
  certificate?: string
  key?: string
  password?: string
}

export interface FetchSpec {
  address: string
  port: number
  family?: 4 | 6
  bindTo?: string
  bindPort?: number
  path: string
  host: string
  protocol: '1.0' | '1.0C' | '1.1'
  tls?: TlsOptions
  /** body bytes kept at most (the check fails beyond) */
  maxBody?: number
}

export interface FetchResult {
  head: ResponseHead
  headBytes: Buffer
  body: Buffer
  durationMs: number
}

export const DEFAULT_MAX_BODY = 4 * 1024 * 1024

export class FetchError extends Error {}

const tlsFileCache = new Map<string, Buffer>()
function pem(path: string): Buffer {
  let b = tlsFileCache.get(path)
  if (!b) {
    b = readFileSync(path)
    tlsFileCache.set(path, b)
  }
  return b
}

function openSocket(s: FetchSpec): Socket {
  const base = {
    host: s.address,
    port: s.port,
    ...(s.family ? { family: s.family } : {}),
    ...(s.bindTo !== undefined ? { localAddress: s.bindTo } : {}),
    ...(s.bindPort !== undefined ? { localPort: s.bindPort } : {}),
  }
  if (!s.tls) return netConnect(base)
  const t = s.tls
  const opts: ConnectionOptions = {
    ...base,
    // keepalived verifies the server only when a CA is configured
    rejectUnauthorized: t.ca !== undefined,
    checkServerIdentity: () => undefined,
    ...(t.servername ? { servername: t.servername } : {}),
    ...(t.ca ? { ca: pem(t.ca) } : {}),
    ...(t.certificate ? { cert: pem(t.certificate) } : {}),
    ...(t.key ? { key: pem(t.key) } : {}),
    ...(t.password ? { passphrase: t.password } : {}),
  }
  return tlsConnect(opts)
}

export function httpFetch(s: FetchSpec, signal: AbortSignal): Promise<FetchResult> {
  const started = performance.now()
  const maxBody = s.maxBody ?? DEFAULT_MAX_BODY
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new FetchError('aborted'))
      return
    }
    let sock: Socket
    try {
      sock = openSocket(s)
    } catch (e) {
      reject(new FetchError((e as Error).message))
      return
    }
    const chunks: Buffer[] = []
    let total = 0
    let head: ResponseHead | undefined
    let headBytes: Buffer | undefined
    let done = false
    const finish = (err: string | undefined, body?: Buffer) => {
      if (done) return
      done = true
      signal.removeEventListener('abort', onAbort)
      sock.destroy()
      if (err !== undefined) reject(new FetchError(err))
      else resolve({ head: head!, headBytes: headBytes!, body: body!, durationMs: performance.now() - started })
    }
    const onAbort = () => finish('aborted')
    signal.addEventListener('abort', onAbort, { once: true })
    const ready = s.tls ? 'secureConnect' : 'connect'
    sock.once(ready, () => sock.write(encodeRequest({ path: s.path, host: s.host, protocol: s.protocol })))
    sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message))
    const evaluate = (eof: boolean) => {
      const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
      if (chunks.length > 1) {
        chunks.length = 0
        chunks.push(all)
      }
      if (!head) {
        const h = decodeHead(all)
        if (!h.ok) {
          if (h.incomplete && !eof) return
          finish(eof && h.incomplete ? 'connection closed before the response head' : h.reason)
          return
        }
        head = h.head
        headBytes = all.subarray(0, head.length)
      }
      const bodyRaw = all.subarray(head.length)
      const f = framingOf(head)
      if (f.kind === 'error') return finish(f.reason)
      if (f.kind === 'length') {
        if (f.length > maxBody) return finish(`body of ${f.length} bytes exceeds the ${maxBody} byte cap`)
        if (bodyRaw.length >= f.length) return finish(undefined, Buffer.from(bodyRaw.subarray(0, f.length)))
        if (eof) return finish(`connection closed after ${bodyRaw.length} of ${f.length} body bytes`)
        return
      }
      if (f.kind === 'chunked') {
        const c = decodeChunked(bodyRaw)
        if (!c.ok) return finish(c.reason)
        if (c.body.length > maxBody) return finish(`body exceeds the ${maxBody} byte cap`)
        if (c.complete) return finish(undefined, c.body)
        if (eof) return finish('connection closed inside a chunked body')
        return
      }
      if (bodyRaw.length > maxBody) return finish(`body exceeds the ${maxBody} byte cap`)
      if (eof) finish(undefined, Buffer.from(bodyRaw))
    }
    sock.on('data', (d: Buffer) => {
      chunks.push(d)
      total += d.length
      if (total > maxBody + 2 * 65536) {
        finish(`response exceeds the ${maxBody} byte cap`)
        return
      }
      // cheap path for bodies until close: only re-parse the head until we have it
      if (head && framingOf(head).kind === 'close') {
        if (total - head.length > maxBody) finish(`body exceeds the ${maxBody} byte cap`)
        return
      }
      evaluate(false)
    })
    sock.on('end', () => evaluate(true))
    sock.on('close', () => {
      if (!done) evaluate(true)
      if (!done) finish('connection closed')
    })
  })
}

/** keepalived's Host header: the virtualhost as given, else address:port ([v6]:port) */
export function hostHeader(address: string, port: number, virtualhost?: string): string {
  if (virtualhost) return virtualhost
  return `${address.includes(':') ? `[${address}]` : address}:${port}`
}
