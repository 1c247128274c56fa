import type { Checker, CheckerSpec, CheckOutcome } from '@kad/core'
import { specKey, udpAttempt, type SocketPlace } from '@kad/plugin-checkers'
import { randomBytes } from 'node:crypto'
import { TYPE, type UdpOptions } from './plugin.js'

export { default, PLUGIN_NAME, TYPE, type UdpOptions } from './plugin.js'

/** does `reply` match `pattern` (hex nibbles, x = any nibble)? the reply must be at least as long */
export function matchReply(reply: Uint8Array, pattern: string): boolean {
  const p = pattern.toLowerCase()
  if (reply.length * 2 < p.length) return false
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === 'x') continue
    const byte = reply[i >> 1]
    const nib = i % 2 === 0 ? byte >> 4 : byte & 15
    if (nib !== parseInt(c, 16)) return false
  }
  return true
}

export function judgeReply(reply: Uint8Array, o: UdpOptions): CheckOutcome {
  const min = o.minReplyLength ?? 0
  const max = o.maxReplyLength ?? 255
  if (reply.length < min) return { ok: false, reason: `UDP reply of ${reply.length} bytes is shorter than ${min}` }
  if (reply.length > max) return { ok: false, reason: `UDP reply of ${reply.length} bytes is longer than ${max}` }
  if (o.requireReply && !matchReply(reply, o.requireReply)) return { ok: false, reason: 'UDP reply does not match require_reply' }
  return { ok: true }
}

/**
 * UDP_CHECK: send the payload on a connected socket. An ICMP port unreachable comes back as ECONNREFUSED
 * (failure). Without require_reply, silence until just before the deadline is success (keepalived's rule);
 * with it, a matching reply is needed.
 */
export class UdpChecker implements Checker {
  readonly type = TYPE
  private last = ''
  private readonly payload: Buffer
  constructor(
    readonly spec: CheckerSpec,
    private readonly place: SocketPlace = {},
  ) {
    const o = spec.options as UdpOptions
    this.payload = o.payload ? Buffer.from(o.payload, 'hex') : randomBytes(16)
  }
  check(signal: AbortSignal): Promise<CheckOutcome> {
    const t = this.spec.target
    const o = this.spec.options as UdpOptions
    const needReply = o.requireReply !== undefined || !!o.replyNeeded
    return udpAttempt(
      t,
      t.port,
      signal,
      {
        onTimeout: { ok: false, reason: 'UDP timeout waiting for a reply' },
        onError: (e) => ({ ok: false, reason: e.code === 'ECONNREFUSED' ? 'ICMP port unreachable' : `UDP ${e.code ?? e.message}` }),
        settled: (v) => (this.last = v.ok ? 'ok' : v.reason),
        place: this.place,
      },
      (sock, finish) => {
        let quiet: NodeJS.Timeout | undefined
        sock.onMessage((msg) => finish(judgeReply(msg, o)))
        sock.send(this.payload)
        if (!needReply) {
          // no news is good news: an ICMP error arrives within a round trip; stop a little before the deadline
          const ct = this.spec.timing.connectTimeout * 1000
          quiet = setTimeout(() => finish({ ok: true }), Math.max(ct * 0.5, ct - 200))
        }
        return () => clearTimeout(quiet)
      },
    )
  }
  compare(spec: CheckerSpec): boolean {
    return spec.type === TYPE && specKey(spec) === this.key()
  }
  key(): string {
    return specKey(this.spec)
  }
  dump(): Record<string, unknown> {
    return { payload: this.payload.toString('hex'), last: this.last }
  }
}
