import type { Checker, CheckerSpec, CheckOutcome, CheckTarget } from '@kad/core'
import { openTargetSocket, type SocketPlace } from '@kad/plugin-checkers'
import type { KadSocket } from '@kad/native'
import { decodeIcmp, encodeEcho } from './codec.js'
import { TYPE } from './plugin.js'

export { default, PLUGIN_NAME, TYPE, type PingPluginOptions } from './plugin.js'
export * from './codec.js'

interface Pending {
  resolve: (o: CheckOutcome) => void
  address: string
}

/** the socket-relevant part of a PING_CHECK target: checks that agree on it share one raw socket */
export interface PingVia {
  family: 4 | 6
  netns?: string
  /** bind_if: SO_BINDTODEVICE */
  bindIf?: string
  /** fwmark: SO_MARK */
  fwmark?: number
  /** bindto: the source address */
  bindTo?: string
}

/**
 * One raw ICMP (or ICMPv6) socket per family, namespace and bind_if / fwmark / bindto, shared by every PING_CHECK
 * in the process that uses the same: requests carry our identifier and a fresh sequence number, replies and
 * quoted errors are matched back.
 */
export class Pinger {
  private sock: KadSocket | undefined
  private readonly pending = new Map<number, Pending>()
  private seq = 0
  readonly id: number
  readonly family: 4 | 6
  /**
   * `n`: this pinger's number in the process. An unbound raw socket also hears the replies to another pinger's
   * requests (bind_if, fwmark, bindto use their own sockets), so each pinger has its own identifier.
   */
  constructor(
    readonly via: PingVia,
    n = 0,
  ) {
    this.family = via.family
    this.id = ((process.pid ^ (via.family === 6 ? 0x5a5a : 0)) + n * 0x3b1) & 0xffff
  }
  private socket(): KadSocket {
    if (this.sock && !this.sock.isClosed) return this.sock
    const v = this.via
    const target: CheckTarget = {
      family: v.family,
      address: '',
      port: 0,
      ...(v.bindIf !== undefined ? { bindIf: v.bindIf } : {}),
      ...(v.fwmark !== undefined ? { fwmark: v.fwmark } : {}),
      ...(v.bindTo !== undefined ? { bindTo: v.bindTo } : {}),
    }
    const s = openTargetSocket(target, { type: 'raw', protocol: this.family === 4 ? 1 : 58, netns: v.netns })
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
export function pingerFor(via: PingVia): Pinger {
  const k = `${via.family}|${via.netns ?? ''}|${via.bindIf ?? ''}|${via.fwmark ?? ''}|${via.bindTo ?? ''}`
  let p = pingers.get(k)
  if (!p) pingers.set(k, (p = new Pinger(via, pingers.size)))
  return p
}

/** close the shared ICMP sockets (plugin shutdown) */
export function closePingers(): void {
  for (const p of pingers.values()) p.close()
  pingers.clear()
}

export class PingChecker implements Checker {
  readonly type = TYPE
  private last = ''
  private readonly via: PingVia
  constructor(
    readonly spec: CheckerSpec,
    place: SocketPlace = {},
  ) {
    const t = spec.target
    this.via = {
      family: t.family,
      ...(place.netns ? { netns: place.netns } : {}),
      ...(t.bindIf !== undefined ? { bindIf: t.bindIf } : {}),
      ...(t.fwmark !== undefined ? { fwmark: t.fwmark } : {}),
      ...(t.bindTo !== undefined ? { bindTo: t.bindTo } : {}),
    }
  }
  async check(signal: AbortSignal): Promise<CheckOutcome> {
    const o = await pingerFor(this.via).ping(this.spec.target.address, signal)
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
  const t = spec.target
  return `${TYPE}|${t.family}|${t.address}|${t.bindTo ?? ''}|${t.bindIf ?? ''}|${t.fwmark ?? ''}`
}
