/**
 * The status endpoint (node:http): GET /metrics (Prometheus text), /status (JSON: the parent and each child with
 * its plugins' JSON), /healthz (200 when every child runs and answers, else 503 with the reasons). Each request
 * asks the children through the supervision service (at most 1 s); concurrent requests share one query.
 */
import { createServer, type Server } from 'node:http'
import type { Logger, Supervision, ChildStatus } from '@kad/core'
import { health, renderMetrics } from './metrics.js'

export interface StatusServerDeps {
  supervision: Supervision
  log: Logger
  version: string
  /** how long a child may take to answer (default 1000 ms) */
  timeoutMs?: number
}

/** keys whose values are secrets (VRRP authentication keys, SMTP passwords): never served */
const SECRET = /^(auth_data|auth_pass|pass|password|smtp_auth_pass|secret)$/i

/** a copy of a child's JSON without its secrets (pure) */
export function withoutSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutSecrets)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !SECRET.test(k)).map(([k, x]) => [k, withoutSecrets(x)]))
  return v
}

const PATHS = new Set(['/metrics', '/status', '/healthz'])

export class StatusServer {
  private server?: Server
  private inflight?: Promise<ChildStatus[]>
  /** requests served, by path (dumps) */
  readonly served: Record<string, number> = {}

  constructor(private readonly d: StatusServerDeps) {}

  private children(): Promise<ChildStatus[]> {
    this.inflight ??= this.d.supervision.query(this.d.timeoutMs ?? 1000).finally(() => (this.inflight = undefined))
    return this.inflight
  }

  /** listen; rejects with the socket error (address in use, not local) */
  listen(address: string, port: number): Promise<void> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      const counted = PATHS.has(path) ? path : 'other'
      this.served[counted] = (this.served[counted] ?? 0) + 1
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end()
        return
      }
      const send = (code: number, type: string, body: string) => {
        res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' })
        res.end(req.method === 'HEAD' ? undefined : body)
      }
      const route = async () => {
        if (path === '/metrics') {
          const children = await this.children()
          send(200, 'text/plain; version=0.0.4; charset=utf-8', renderMetrics({ version: this.d.version, self: this.d.supervision.self, children }))
        } else if (path === '/status') {
          const children = await this.children()
          send(200, 'application/json', JSON.stringify({ kad: { version: this.d.version, ...this.d.supervision.self }, children: withoutSecrets(children) }, null, 2) + '\n')
        } else if (path === '/healthz') {
          const h = health(await this.children())
          send(h.ok ? 200 : 503, 'text/plain; charset=utf-8', h.ok ? 'ok\n' : h.problems.join('\n') + '\n')
        } else send(404, 'text/plain; charset=utf-8', 'not found: /metrics, /status, /healthz\n')
      }
      route().catch((e: Error) => {
        this.d.log.limited('status.request', 'warn', `status: ${path}: ${e.message}`)
        if (!res.headersSent) send(500, 'text/plain; charset=utf-8', `${e.message}\n`)
      })
    })
    this.server = server
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, address, () => {
        server.off('error', reject)
        server.on('error', (e) => this.d.log.error(`status: ${e.message}`))
        resolve()
      })
    })
  }

  close(): Promise<void> {
    const s = this.server
    this.server = undefined
    if (!s) return Promise.resolve()
    s.closeAllConnections()
    return new Promise((r) => s.close(() => r()))
  }
}
