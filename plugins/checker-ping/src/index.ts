import { definePlugin, HOST_API_VERSION, type Checker, type CheckerSpec, type CheckOutcome } from '@kad/core'
import { checkerBlock } from '@kad/plugin-checkers'
import { openSocket, type KadSocket } from '@kad/native'
import { decodeIcmp, encodeEcho } from './codec.js'

export * from './codec.js'
export const PLUGIN_NAME = 'checker-ping'
export const TYPE = 'PING_CHECK'

interface Pending {
  resolve: (o: CheckOutcome) => void
  address: string
}

/**
 * One raw ICMP (or ICMPv6) socket per family and namespace, shared by every PING_CHECK in the process:
 * requests carry our identifier and a fresh sequence number, replies and quoted errors are matched back.
 */
export class Pinger {
  private sock: KadSocket | undefined
  private readonly pending = new Map<number, Pending>()
  private seq = 0
  readonly id: number
  constructor(
    readonly family: 4 | 6,
    readonly netns?: string,
  ) {
    this.id = (process.pid ^ (family === 6 ? 0x5a5a : 0)) & 0xffff
  }
  private socket(): KadSocket {
    if (this.sock && !this.sock.isClosed) return this.sock
    const s = openSocket({ domain: this.family === 4 ? 'inet' : 'inet6', type: 'raw', protocol: this.family === 4 ? 1 : 58, ...(this.netns ? { netns: this.netns } : {}) })
    s.onMessage((buf, info) => this.onMessage(buf, info.from))
    s.onError(() => undefined)
    s.unref()
    this.sock = s
    return s
  }
  private onMessage(buf: Buffer, from: string): void {
    const v = decodeIcmp(this.family, buf)
    if (!v.ok || v.id !== this.id) return
    const p = this.pending.get(v.seq)
    if (!p) return
    if (v.kind === 'reply') {
      if (from !== p.address) return
      this.pending.delete(v.seq)
      p.resolve({ ok: true })
    } else {
      this.pending.delete(v.seq)
      p.resolve({ ok: false, reason: `ICMP${this.family === 6 ? 'v6' : ''} error type ${v.type} code ${v.code} from ${from}` })
    }
  }
  ping(address: string, signal: AbortSignal): Promise<CheckOutcome> {
    return new Promise((resolve) => {
      let seq = (this.seq = (this.seq + 1) & 0xffff)
      for (let i = 0; this.pending.has(seq) && i < 65536; i++) seq = this.seq = (this.seq + 1) & 0xffff
      const done = (o: CheckOutcome) => {
        signal.removeEventListener('abort', onAbort)
        resolve(o)
      }
      const onAbort = () => {
        this.pending.delete(seq)
        done({ ok: false, reason: 'no echo reply' })
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.pending.set(seq, { resolve: done, address })
      try {
        this.socket().send(encodeEcho(this.family, this.id, seq, Buffer.from('kad-ping-check..')), address)
      } catch (e) {
        this.pending.delete(seq)
        done({ ok: false, reason: `cannot send echo: ${(e as Error).message}` })
      }
    })
  }
  get outstanding(): number {
    return this.pending.size
  }
  close(): void {
    this.sock?.close()
    this.sock = undefined
  }
}

const pingers = new Map<string, Pinger>()
export function pingerFor(family: 4 | 6, netns?: string): Pinger {
  const k = `${family}|${netns ?? ''}`
  let p = pingers.get(k)
  if (!p) pingers.set(k, (p = new Pinger(family, netns)))
  return p
}

export class PingChecker implements Checker {
  readonly type = TYPE
  private last = ''
  constructor(
    readonly spec: CheckerSpec,
    private readonly netns?: string,
  ) {}
  async check(signal: AbortSignal): Promise<CheckOutcome> {
    const o = await pingerFor(this.spec.target.family, this.netns).ping(this.spec.target.address, signal)
    this.last = o.ok ? 'ok' : o.reason
    return o
  }
  compare(spec: CheckerSpec): boolean {
    return spec.type === TYPE && keyOf(spec) === this.key()
  }
  key(): string {
    return keyOf(this.spec)
  }
  dump(): Record<string, unknown> {
    return { address: this.spec.target.address, last: this.last }
  }
}

function keyOf(spec: CheckerSpec): string {
  return `${TYPE}|${spec.target.family}|${spec.target.address}|${spec.target.bindTo ?? ''}`
}

export interface PingPluginOptions {
  /** open the ICMP sockets in this network namespace (path like /run/netns/NAME) */
  netns?: string
}

export default definePlugin<PingPluginOptions>({
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'PING_CHECK' },
  parseOptions(raw) {
    const r = (raw ?? {}) as PingPluginOptions
    return typeof r.netns === 'string' ? { netns: r.netns } : {}
  },
  register(ctx) {
    ctx.keywords.extend('virtual_server/real_server', (b) => b.block(TYPE, checkerBlock(TYPE)))
    ctx.hooks.createChecker.for(TYPE).tap(PLUGIN_NAME, (spec) => new PingChecker(spec, ctx.options.netns))
    ctx.hooks.shutdown.tapPromise(PLUGIN_NAME, async () => {
      for (const p of pingers.values()) p.close()
      pingers.clear()
    })
  },
})
