/** HTTP_GET / SSL_GET: GET every url, check status, MD5 digest and regex of a bounded body. */
import { createHash } from 'node:crypto'
import type { Checker, CheckerSpec, CheckOutcome } from '@kad/core'
import { specKey, type FastChecker, type SocketPlace } from '@kad/plugin-checkers'
import { streamTarget } from '@kad/native'
import { encodeRequest } from './codec/http-response.js'
import { DEFAULT_MAX_BODY, httpFetch, hostHeader, NativeGet, type ReadOutcome, type TlsOptions } from './fetch.js'
import { compileRegex } from './regex.js'

export { REGEX_OPTIONS, compileRegex } from './regex.js'

export interface UrlModel {
  path: string
  digest?: string
  /** inclusive ranges */
  statusCodes?: [number, number][]
  regex?: string
  regexNoMatch?: boolean
  regexOptions?: string[]
  regexMinOffset?: number
  regexMaxOffset?: number
  regexStack?: [number, number]
  virtualhost?: string
}

export interface HttpOptions {
  urls: UrlModel[]
  virtualhost?: string
  httpProtocol?: '1.0' | '1.0C' | '1.1'
  fastRecovery?: boolean
  enableSni?: boolean
  sniName?: string
  tlsCompliant?: boolean
  ssl?: { password?: string; ca?: string; certificate?: string; key?: string }
  /** bytes of body read at most (kad extension: max_body) */
  maxBody?: number
}

export function statusOk(u: UrlModel, status: number): boolean {
  const codes = u.statusCodes
  if (codes && codes.length) {
    for (let i = 0; i < codes.length; i++) if (status >= codes[i][0] && status <= codes[i][1]) return true
    return false
  }
  // no status_code: 2xx required unless a digest decides
  if (u.digest) return true
  return status >= 200 && status <= 299
}

export function md5hex(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex')
}

const OK: CheckOutcome = Object.freeze({ ok: true })

/** one url verdict from a response (pure) */
export function judge(u: UrlModel, status: number, body: Buffer, re?: RegExp): CheckOutcome {
  if (!statusOk(u, status)) return { ok: false, reason: `${u.path}: status code ${status}` }
  if (u.digest) {
    const d = md5hex(body)
    if (d !== u.digest.toLowerCase()) return { ok: false, reason: `${u.path}: digest mismatch ${d}` }
  }
  if (re) {
    const from = u.regexMinOffset ?? 0
    const to = u.regexMaxOffset !== undefined ? Math.min(body.length, u.regexMaxOffset) : body.length
    const text = body.toString('latin1', Math.min(from, body.length), Math.max(from, to))
    const hit = re.test(text)
    if (hit === !!u.regexNoMatch) return { ok: false, reason: `${u.path}: regex ${u.regexNoMatch ? 'matched' : 'did not match'}` }
  }
  return OK
}

type UrlDump = { url: string; status?: number; digest?: string; reason?: string; ms?: number }

export class HttpChecker implements Checker {
  protected readonly opts: HttpOptions
  protected readonly res: (RegExp | undefined)[]
  protected last: UrlDump[] = []
  constructor(
    readonly type: 'HTTP_GET' | 'SSL_GET',
    readonly spec: CheckerSpec,
  ) {
    this.opts = spec.options as unknown as HttpOptions
    this.res = (this.opts.urls ?? []).map((u) => {
      try {
        return compileRegex(u)
      } catch {
        return /(?!)/
      }
    })
  }

  private tls(): TlsOptions | undefined {
    if (this.type !== 'SSL_GET') return undefined
    const o = this.opts
    const sni = o.sniName ?? (o.enableSni ? o.virtualhost : undefined)
    return {
      ...(sni ? { servername: sni } : {}),
      ...(o.ssl?.ca ? { ca: o.ssl.ca } : {}),
      ...(o.ssl?.certificate ? { certificate: o.ssl.certificate } : {}),
      ...(o.ssl?.key ? { key: o.ssl.key } : {}),
      ...(o.ssl?.password ? { password: o.ssl.password } : {}),
    }
  }

  async check(signal: AbortSignal): Promise<CheckOutcome> {
    const urls = this.opts.urls ?? []
    if (urls.length === 0) return { ok: false, reason: 'no url configured' }
    const t = this.spec.target
    const tls = this.tls()
    // every url in parallel within the one deadline
    const results = await Promise.all(
      urls.map(async (u, i): Promise<CheckOutcome & { status?: number; digest?: string; ms?: number }> => {
        try {
          const r = await httpFetch(
            {
              address: t.address,
              port: t.port,
              family: t.family,
              ...(t.bindTo !== undefined ? { bindTo: t.bindTo } : {}),
              ...(t.bindPort !== undefined ? { bindPort: t.bindPort } : {}),
              path: u.path,
              host: hostHeader(t.address, t.port, u.virtualhost ?? this.opts.virtualhost),
              protocol: this.opts.httpProtocol ?? '1.0',
              ...(tls ? { tls } : {}),
              ...(this.opts.maxBody ? { maxBody: this.opts.maxBody } : {}),
            },
            signal,
          )
          const v = judge(u, r.status, r.body, this.res[i])
          return { ...v, status: r.status, ...(u.digest ? { digest: md5hex(r.body) } : {}), ms: Math.round(r.durationMs) }
        } catch (e) {
          return { ok: false, reason: `${u.path}: ${(e as Error).message}` }
        }
      }),
    )
    this.last = results.map((r, i) => ({
      url: urls[i].path,
      ...(r.status !== undefined ? { status: r.status } : {}),
      ...(r.digest ? { digest: r.digest } : {}),
      ...(!r.ok ? { reason: r.reason } : {}),
      ...(r.ms !== undefined ? { ms: r.ms } : {}),
    }))
    const bad = results.find((r) => !r.ok)
    return bad && !bad.ok ? { ok: false, reason: `${this.type} [${t.address}]:${t.port} ${bad.reason}` } : { ok: true }
  }

  compare(spec: CheckerSpec): boolean {
    return spec.type === this.type && specKey(spec) === specKey(this.spec)
  }
  key(): string {
    return specKey(this.spec)
  }
  dump(): Record<string, unknown> {
    return { urls: this.last }
  }
}

/**
 * HTTP_GET on the native stream engine: every url is a NativeGet (non-blocking connect with bind_if / fwmark
 * applied, the request sent with the handshake's ACK, the bounded response read, a reset close), run through
 * the check framework's callback fast path (`checkFast` / `cancelCheck`: no AbortSignal, no promise).
 */
export class PlainHttpChecker extends HttpChecker implements FastChecker {
  private readonly gets: NativeGet[] = []
  private readonly urlDone: ((r: ReadOutcome, ms: number) => void)[] = []
  private setupError = ''
  private pending = 0
  private bad: string | undefined
  private done: ((o: CheckOutcome) => void) | undefined
  /** per url, updated in place (a fresh object per check would live a second and be promoted: major GCs) */
  private readonly seen: { status: number; digest: string; reason: string; ms: number }[] = []

  constructor(spec: CheckerSpec, place: SocketPlace = {}) {
    super('HTTP_GET', spec)
    const t = spec.target
    const urls = this.opts.urls ?? []
    try {
      for (const u of urls) {
        const request = encodeRequest({ path: u.path, host: hostHeader(t.address, t.port, u.virtualhost ?? this.opts.virtualhost), protocol: this.opts.httpProtocol ?? '1.0' })
        const target = streamTarget({ ...t, delayAck: true, request, ...(place.netns ? { netns: place.netns } : {}) })
        this.gets.push(new NativeGet(target, this.opts.maxBody ?? DEFAULT_MAX_BODY))
      }
    } catch (e) {
      this.setupError = (e as Error).message
    }
    for (let i = 0; i < urls.length; i++) this.seen.push({ status: 0, digest: '', reason: '', ms: -1 })
    for (let i = 0; i < urls.length; i++) this.urlDone.push((r, ms) => this.onUrl(i, r, ms))
  }

  /** the check framework's fast path: every url in parallel, `done` once all have answered */
  checkFast(done: (o: CheckOutcome) => void): void {
    this.cancelCheck()
    const urls = this.opts.urls ?? []
    if (urls.length === 0) return done({ ok: false, reason: 'no url configured' })
    if (this.setupError) return done(this.fail(this.setupError))
    this.done = done
    this.pending = urls.length
    this.bad = undefined
    for (let i = 0; i < this.gets.length; i++) this.gets[i].start(this.urlDone[i])
  }

  cancelCheck(): void {
    this.done = undefined
    this.pending = 0
    for (const g of this.gets) g.cancel()
  }

  override check(signal: AbortSignal): Promise<CheckOutcome> {
    if (signal.aborted) return Promise.resolve(this.fail('aborted'))
    return new Promise((resolve) => {
      const onAbort = () => {
        this.cancelCheck()
        resolve(this.fail('aborted'))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.checkFast((o) => {
        signal.removeEventListener('abort', onAbort)
        resolve(o)
      })
    })
  }

  private onUrl(i: number, r: ReadOutcome, ms: number): void {
    if (this.done === undefined) return
    const u = this.opts.urls[i]
    let reason: string | undefined
    const seen = this.seen[i]
    if (r.err !== undefined) {
      reason = `${u.path}: ${r.err}`
      seen.status = 0
      seen.digest = ''
      seen.ms = -1
    } else {
      const v = judge(u, r.status, r.body, this.res[i])
      if (!v.ok) reason = v.reason
      seen.status = r.status
      seen.digest = u.digest ? md5hex(r.body) : ''
      seen.ms = Math.round(ms)
    }
    seen.reason = reason ?? ''
    if (reason !== undefined && this.bad === undefined) this.bad = reason
    if (--this.pending > 0) return
    const done = this.done
    this.done = undefined
    done(this.bad === undefined ? OK : this.fail(this.bad))
  }

  override dump(): Record<string, unknown> {
    return {
      urls: (this.opts.urls ?? []).map((u, i) => {
        const s = this.seen[i]
        return { url: u.path, ...(s.status ? { status: s.status } : {}), ...(s.digest ? { digest: s.digest } : {}), ...(s.reason ? { reason: s.reason } : {}), ...(s.ms >= 0 ? { ms: s.ms } : {}) }
      }),
    }
  }

  private fail(reason: string): CheckOutcome {
    const t = this.spec.target
    return { ok: false, reason: `${this.type} [${t.address}]:${t.port} ${reason}` }
  }
}
