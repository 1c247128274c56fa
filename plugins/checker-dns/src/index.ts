import type { Checker, CheckerSpec, CheckOutcome } from '@kad/core'
import { specKey, udpAttempt, type SocketPlace } from '@kad/plugin-checkers'
import { randomInt } from 'node:crypto'
import { createRequire } from 'node:module'
import type * as DnsPacket from 'dns-packet'
import { TYPE, type DnsOptions, type DnsType } from './plugin.js'

export { default, PLUGIN_NAME, TYPE, DNS_TYPES, type DnsType, type DnsOptions } from './plugin.js'

// dns-packet is loaded on the first query, not at import: `kad -t` and processes without DNS_CHECK skip its cost
const require = createRequire(import.meta.url)
let dnsPacketModule: typeof DnsPacket | undefined
const dp = (): typeof DnsPacket => (dnsPacketModule ??= require('dns-packet') as typeof DnsPacket)

/** the query DNS_CHECK sends: one question, recursion desired */
export function encodeQuery(id: number, type: DnsType, name: string): Buffer {
  const dnsPacket = dp()
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name: name === '.' ? '.' : name.replace(/\.$/, ''), class: 'IN' }] })
}

/** judge a reply (pure; any bytes): id, QR, RCODE NOERROR and at least one answer of the asked type */
export function judgeReply(buf: Buffer, id: number, type: DnsType): CheckOutcome {
  let p: DnsPacket.Packet
  try {
    p = dp().decode(buf)
  } catch (e) {
    return { ok: false, reason: `malformed DNS reply: ${(e as Error).message}` }
  }
  if (p.id !== id) return { ok: false, reason: `DNS reply id ${p.id} does not match ${id}` }
  if (p.type !== 'response') return { ok: false, reason: 'DNS packet is not a response' }
  const rcode = (p as { rcode?: string }).rcode ?? 'NOERROR'
  if (rcode !== 'NOERROR') return { ok: false, reason: `DNS RCODE ${rcode}` }
  const answers = p.answers ?? []
  if (answers.length === 0) return { ok: false, reason: 'DNS reply has no answer' }
  if (!answers.some((a) => a.type === type)) return { ok: false, reason: `DNS reply has no ${type} answer (got ${answers.map((a) => a.type).join(',')})` }
  return { ok: true }
}

export class DnsChecker implements Checker {
  readonly type = TYPE
  private last = ''
  constructor(
    readonly spec: CheckerSpec,
    private readonly place: SocketPlace = {},
  ) {}
  private get opts(): Required<DnsOptions> {
    const o = this.spec.options as DnsOptions
    return { type: o.type ?? 'SOA', name: o.name ?? '.' }
  }
  check(signal: AbortSignal): Promise<CheckOutcome> {
    const t = this.spec.target
    const { type, name } = this.opts
    const id = randomInt(0, 65536)
    return udpAttempt(
      t,
      t.port || 53,
      signal,
      {
        onTimeout: { ok: false, reason: 'DNS timeout' },
        onError: (e) => ({ ok: false, reason: `DNS ${e.code ?? e.message}` }),
        settled: (o) => (this.last = o.ok ? 'ok' : o.reason),
        place: this.place,
      },
      (sock, finish) => {
        sock.onMessage((msg) => {
          const v = judgeReply(msg, id, type)
          // a stray datagram with another id is ignored; wait for ours until the deadline
          if (!v.ok && v.reason.startsWith('DNS reply id')) return
          finish(v)
        })
        sock.send(encodeQuery(id, type, name))
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
    return { ...this.opts, last: this.last }
  }
}
