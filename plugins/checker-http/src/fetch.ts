/**
 * One GET over a fresh TCP or TLS connection, with a hard byte cap and the caller's abort signal. Shared by
 * HTTP_GET / SSL_GET and genhash.
 */
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import { readFileSync } from 'node:fs'
import { streams, type StreamHandler, type StreamTarget } from '@kad/native'
import { decodeChunked, decodeHead, encodeRequest, framingOf, scanHead, type Framing } from './codec/http-response.js'

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
  status: number
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
 * returns undefined while the response is incomplete, else the outcome (an error text or the status, head bytes
 * and body).
 */
export type ReadOutcome = { err: string } | { err?: undefined; status: number; headBytes: Buffer; body: Buffer }

export class ResponseReader {
  private readonly chunks: Buffer[] = []
  private total = 0
  /** of the head, once decoded */
  private framing: Framing | undefined
  private status = 0
  private headBytes: Buffer | undefined
  private untilClose = false
  /**
   * `borrowed`: what `push` gets is valid during the call only (the stream engine's views), and so are an
   * outcome's head bytes and body; what the reader keeps for a later call is copied
   */
  constructor(
    private readonly maxBody: number,
    private readonly borrowed = false,
  ) {}

  /** ready for another response */
  reset(): void {
    this.chunks.length = this.total = this.status = 0
    this.framing = this.headBytes = undefined
    this.untilClose = false
  }

  push(d: Buffer): ReadOutcome | undefined {
    this.total += d.length
    if (this.total > this.maxBody + 2 * 65536) return { err: `response exceeds the ${this.maxBody} byte cap` }
    // cheap path for bodies until close: only re-parse the head until we have it
    if (this.untilClose) {
      this.chunks.push(this.borrowed ? Buffer.from(d) : d)
      return this.total - this.headBytes!.length > this.maxBody ? { err: `body exceeds the ${this.maxBody} byte cap` } : undefined
    }
    this.chunks.push(d)
    const r = this.evaluate(false)
    // incomplete: evaluate left one chunk; a first chunk is still the caller's
    if (r === undefined && this.borrowed && this.chunks[0] === d) {
      const own = Buffer.from(d)
      this.chunks[0] = own
      if (this.headBytes) this.headBytes = own.subarray(0, this.headBytes.length)
    }
    return r
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
    if (this.framing === undefined) {
      // the common head without strings; anything else through the full decoder
      const scan = scanHead(all)
      if (scan) {
        this.status = scan.status
        this.framing = scan.framing
        this.headBytes = all.subarray(0, scan.length)
      } else {
        const h = decodeHead(all)
        if (!h.ok) {
          if (h.incomplete && !eof) return undefined
          return { err: eof && h.incomplete ? 'connection closed before the response head' : h.reason }
        }
        const f = framingOf(h.head)
        if (f.kind === 'error') return { err: f.reason }
        this.status = h.head.status
        this.framing = f
        this.headBytes = all.subarray(0, h.head.length)
      }
    }
    const f = this.framing
    const bodyRaw = all.subarray(this.headBytes!.length)
    if (f.kind === 'length') {
      if (f.length > maxBody) return { err: `body of ${f.length} bytes exceeds the ${maxBody} byte cap` }
      if (bodyRaw.length >= f.length) return this.ok(this.borrowed ? bodyRaw.subarray(0, f.length) : Buffer.from(bodyRaw.subarray(0, f.length)))
      if (eof) return { err: `connection closed after ${bodyRaw.length} of ${f.length} body bytes` }
      return undefined
    }
    if (f.kind === 'chunked') {
      const c = decodeChunked(bodyRaw)
      if (!c.ok) return { err: c.reason }
      if (c.body.length > maxBody) return { err: `body exceeds the ${maxBody} byte cap` }
      if (c.complete) return this.ok(c.body)
      if (eof) return { err: 'connection closed inside a chunked body' }
      return undefined
    }
    if (bodyRaw.length > maxBody) return { err: `body exceeds the ${maxBody} byte cap` }
    if (eof) return this.ok(this.borrowed ? bodyRaw : Buffer.from(bodyRaw))
    this.untilClose = true
    return undefined
  }

  private ok(body: Buffer): ReadOutcome {
    return { status: this.status, headBytes: this.headBytes!, body }
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
      else resolve({ status: r.status, headBytes: r.headBytes, body: r.body, durationMs: performance.now() - started })
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
 * closed with a reset). The target carries the request: the engine sends it as soon as the connection completes
 * and reports what arrives. The outcome arrives at `done` exactly once unless `cancel` comes first.
 */
export class NativeGet implements StreamHandler {
  private conn = -1
  private readonly reader: ResponseReader
  private done: ((r: ReadOutcome, ms: number) => void) | undefined
  private started = 0

  /**
   * `target`: a stream target with the request (`streamTarget`'s `request`). An outcome's body and head bytes are
   * valid during the `done` call only.
   */
  constructor(
    private readonly target: StreamTarget,
    maxBody: number,
  ) {
    this.reader = new ResponseReader(maxBody, true)
  }

  start(done: (r: ReadOutcome, ms: number) => void): void {
    this.cancel()
    this.done = done
    this.reader.reset()
    this.started = performance.now()
    this.conn = streams().open(this.target, this)
  }

  cancel(): void {
    this.done = undefined
    if (this.conn >= 0) streams().close(this.conn, true)
    this.conn = -1
  }

  /** only a failure is reported (the connection is closed already) */
  onConnect(err: string | undefined): void {
    this.conn = -1
    this.finish({ err: err ?? 'connected without a request' })
  }

  onData(d: Buffer): void {
    const r = this.reader.push(d)
    if (r !== undefined) this.finish(r)
  }

  onEnd(): void {
    this.finish(this.reader.end())
  }

  /** a receive error, or a request that could not be sent whole (then the connection is closed already) */
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
