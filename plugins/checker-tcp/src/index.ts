import { definePlugin, HOST_API_VERSION, type Checker, type CheckerSpec, type CheckOutcome } from '@kad/core'
import { checkerBlock, specKey } from '@kad/plugin-checkers'
import { connect, type Socket } from 'node:net'

export const PLUGIN_NAME = 'checker-tcp'
export const TYPE = 'TCP_CHECK'

/**
 * Open a TCP connection honouring bindto/bind_port/connect_ip/port and the abort signal. Resolves with the
 * connected socket, or rejects with the reason. The caller owns the socket.
 */
export function tcpConnect(spec: CheckerSpec, signal: AbortSignal): Promise<Socket> {
  const t = spec.target
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted'))
      return
    }
    const sock = connect({
      host: t.address,
      port: t.port,
      family: t.family,
      ...(t.bindTo !== undefined ? { localAddress: t.bindTo } : {}),
      ...(t.bindPort !== undefined ? { localPort: t.bindPort } : {}),
      noDelay: true,
    })
    const onAbort = () => {
      sock.destroy()
      reject(new Error('aborted'))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    sock.once('connect', () => {
      signal.removeEventListener('abort', onAbort)
      sock.removeAllListeners('error')
      sock.on('error', () => undefined)
      resolve(sock)
    })
    sock.once('error', (e: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort)
      sock.destroy()
      reject(new Error(e.code ?? e.message))
    })
  })
}

/** TCP_CHECK: the check passes when a TCP connection completes; it is reset at once. */
export class TcpChecker implements Checker {
  readonly type = TYPE
  private lastError = ''
  constructor(readonly spec: CheckerSpec) {}
  async check(signal: AbortSignal): Promise<CheckOutcome> {
    try {
      const s = await tcpConnect(this.spec, signal)
      // close with a reset (as HAProxy's TCP check does): no FIN handshake or TIME_WAIT left on either side
      s.resetAndDestroy()
      return { ok: true }
    } catch (e) {
      this.lastError = (e as Error).message
      return { ok: false, reason: `TCP connect to [${this.spec.target.address}]:${this.spec.target.port} failed: ${this.lastError}` }
    }
  }
  compare(spec: CheckerSpec): boolean {
    return spec.type === TYPE && specKey(spec, false) === specKey(this.spec, false)
  }
  key(): string {
    return specKey(this.spec, false)
  }
  dump(): Record<string, unknown> {
    return { target: `[${this.spec.target.address}]:${this.spec.target.port}`, ...(this.lastError ? { lastError: this.lastError } : {}) }
  }
}

export default definePlugin({
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'TCP_CHECK' },
  register(ctx) {
    ctx.keywords.extend('virtual_server/real_server', (b) => b.block(TYPE, checkerBlock(TYPE)))
    ctx.hooks.createChecker.for(TYPE).tap(PLUGIN_NAME, (spec) => new TcpChecker(spec))
  },
})
