/**
 * One GET over a fresh TCP or TLS connection, with a hard byte cap and the caller's abort signal. Shared by
 * HTTP_GET / SSL_GET and genhash.
 */
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import { readFileSync } from 'node:fs'
import { streams, type StreamHandler, type StreamTarget } from '@kad/native'
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

/**
 * The bounded response decoder both transports feed: `push` every received chunk, `end` at the peer's close. Each
 * returns undefined while the response is incomplete, else the outcome (an error text or the head and body).
 */
export type ReadOutcome = { err: string } | { err?: undefined; head: ResponseHead; headBytes: Buffer; body: Buffer }

export class ResponseReader {
  private readonly chunks: Buffer[] = []
  private total = 0
  private head: ResponseHead | undefined
  private headBytes: Buffer | undefined
  private untilClose = false
  constructor(private readonly maxBody: number) {}

  push(d: Buffer): ReadOutcome | undefined {
    this.chunks.push(d)
    this.total += d.length
    if (this.total > this.maxBody + 2 * 65536) return { err: `response exceeds the ${this.maxBody} byte cap` }
    // cheap path for bodies until close: only re-parse the head until we have it
    if (this.untilClose) return this.total - this.head!.length > this.maxBody ? { err: `body exceeds the ${this.maxBody} byte cap` } : undefined
    return this.evaluate(false)
  }

  end(): ReadOutcome {
    return this.evaluate(true) ?? { err: 'connection closed' }
  }

  private evaluate(eof: boolean): ReadOutcome | undefined {
    const chunks = this.chunks
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
    if (chunks.length > 1) {
      chunks.length = 0
      chunks.push(all)
    }
    if (all === undefined) return eof ? { err: 'connection closed before the response head' } : undefined
    const maxBody = this.maxBody
    if (!this.head) {
      const h = decodeHead(all)
      if (!h.ok) {
        if (h.incomplete && !eof) return undefined
        return { err: eof && h.incomplete ? 'connection closed before the response head' : h.reason }
      }
      this.head = h.head
      this.headBytes = all.subarray(0, h.head.length)
    }
    const head = this.head
    const ok = (body: Buffer): ReadOutcome => ({ head, headBytes: this.headBytes!, body })
    const bodyRaw = all.subarray(head.length)
    const f = framingOf(head)
    if (f.kind === 'error') return { err: f.reason }
    if (f.kind === 'length') {
      if (f.length > maxBody) return { err: `body of ${f.length} bytes exceeds the ${maxBody} byte cap` }
      if (bodyRaw.length >= f.length) return ok(Buffer.from(bodyRaw.subarray(0, f.length)))
      if (eof) return { err: `connection closed after ${bodyRaw.length} of ${f.length} body bytes` }
      return undefined
    }
    if (f.kind === 'chunked') {
      const c = decodeChunked(bodyRaw)
      if (!c.ok) return { err: c.reason }
      if (c.body.length > maxBody) return { err: `body exceeds the ${maxBody} byte cap` }
      if (c.complete) return ok(c.body)
      if (eof) return { err: 'connection closed inside a chunked body' }
      return undefined
    }
    if (bodyRaw.length > maxBody) return { err: `body exceeds the ${maxBody} byte cap` }
    if (eof) return ok(Buffer.from(bodyRaw))
    this.untilClose = true
    return undefined
  }
}

/** One GET over a node socket (TLS for SSL_GET and genhash https; plain for genhash http). */
export function httpFetch(s: FetchSpec, signal: AbortSignal): Promise<FetchResult> {
  const started = performance.now()
  const reader = new ResponseReader(s.maxBody ?? DEFAULT_MAX_BODY)
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
    let done = false
    const finish = (r: ReadOutcome | undefined) => {
      if (done || r === undefined) return
      done = true
      signal.removeEventListener('abort', onAbort)
      sock.destroy()
      if (r.err !== undefined) reject(new FetchError(r.err))
      else resolve({ head: r.head, headBytes: r.headBytes, body: r.body, durationMs: performance.now() - started })
    }
    const onAbort = () => finish({ err: 'aborted' })
    signal.addEventListener('abort', onAbort, { once: true })
    const ready = s.tls ? 'secureConnect' : 'connect'
    sock.once(ready, () => sock.write(encodeRequest({ path: s.path, host: s.host, protocol: s.protocol })))
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ err: e.code ?? e.message }))
    sock.on('data', (d: Buffer) => finish(reader.push(d)))
    sock.on('end', () => finish(reader.end()))
    sock.on('close', () => finish(reader.end()))
  })
}

/**
 * One plain-HTTP GET on the native stream engine (HTTP_GET's path: no node stream, bind_if and fwmark applied,
 * closed with a reset). `start` returns a failure text or undefined; the outcome arrives at `done` exactly once
 * unless `cancel` comes first.
 */
export class NativeGet implements StreamHandler {
  private fd = -1
  private reader: ResponseReader | undefined
  private done: ((r: ReadOutcome, ms: number) => void) | undefined
  private started = 0

  constructor(
    private readonly target: StreamTarget,
    private readonly request: Buffer,
    private readonly maxBody: number,
  ) {}

  start(done: (r: ReadOutcome, ms: number) => void): string | undefined {
    this.cancel()
    const fd = streams().open(this.target, this)
    if (typeof fd === 'string') return fd
    this.fd = fd
    this.done = done
    this.reader = undefined
    this.started = performance.now()
    return undefined
  }

  cancel(): void {
    this.done = undefined
    if (this.fd >= 0) streams().close(this.fd, true)
    this.fd = -1
  }

  onConnect(err: string | undefined): void {
    if (err !== undefined) return this.finish({ err })
    const n = streams().send(this.fd, this.request)
    if (typeof n === 'string') return this.finish({ err: n })
    // the socket's send buffer is empty right after connecting: a request is never sent short
    if (n !== this.request.length) return this.finish({ err: `request sent short (${n} of ${this.request.length} bytes)` })
    const r = streams().read(this.fd)
    if (r !== undefined) return this.finish({ err: r })
    this.reader = new ResponseReader(this.maxBody)
  }

  onData(d: Buffer): void {
    const r = this.reader!.push(d)
    if (r !== undefined) this.finish(r)
  }

  onEnd(): void {
    this.finish(this.reader!.end())
  }

  onError(err: string): void {
    this.finish({ err })
  }

  private finish(r: ReadOutcome): void {
    const done = this.done
    this.cancel()
    done?.(r, performance.now() - this.started)
  }
}

/** keepalived's Host header: the virtualhost as given, else address:port ([v6]:port) */
export function hostHeader(address: string, port: number, virtualhost?: string): string {
  if (virtualhost) return virtualhost
  return `${address.includes(':') ? `[${address}]` : address}:${port}`
}
