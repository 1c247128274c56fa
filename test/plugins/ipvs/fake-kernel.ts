/** An in-memory IPVS table that speaks the plugin's generic-netlink payloads (for unit tests, no root). */
import {
  decodeIpvsMessage, destKey, encodeService, encodeDest, IPVS_CMD, serviceKey, type IpvsDest, type IpvsService,
} from '../../../plugins/ipvs/src/codec/ipvs.js'
import type { IpvsKernel, OpResult } from '../../../plugins/ipvs/src/kernel.js'

export class FakeIpvsKernel implements IpvsKernel {
  readonly services = new Map<string, { service: IpvsService; dests: Map<string, IpvsDest> }>()
  readonly log: string[] = []
  /** fail the next commands matching: returns an errno name to fail with */
  failWith: ((cmd: number, key: string) => string | undefined) | undefined
  execCalls = 0
  closed = false

  add(service: IpvsService, dests: IpvsDest[] = []): void {
    this.services.set(serviceKey(service), { service, dests: new Map(dests.map((d) => [destKey(d), d])) })
  }

  async exec(payloads: readonly Buffer[]): Promise<OpResult[]> {
    this.execCalls++
    return payloads.map((p) => this.one(p))
  }

  private one(p: Buffer): OpResult {
    const d = decodeIpvsMessage(p)
    if (!d.ok) return { ok: false, errno: 22, code: 'EINVAL' }
    const m = d.message
    const key = m.service ? serviceKey(m.service) : ''
    const injected = this.failWith?.(m.cmd, key)
    if (injected) return { ok: false, errno: 12, code: injected }
    const cur = this.services.get(key)
    const fail = (code: string, errno: number): OpResult => ({ ok: false, errno, code })
    this.log.push(`${m.cmd} ${key}${m.dest ? ' ' + destKey(m.dest) : ''}`)
    switch (m.cmd) {
      case IPVS_CMD.NEW_SERVICE:
        if (cur) return fail('EEXIST', 17)
        this.services.set(key, { service: strip(m.service!), dests: new Map() })
        return { ok: true }
      case IPVS_CMD.SET_SERVICE:
        if (!cur) return fail('ESRCH', 3)
        cur.service = strip(m.service!)
        return { ok: true }
      case IPVS_CMD.DEL_SERVICE:
        if (!cur) return fail('ESRCH', 3)
        this.services.delete(key)
        return { ok: true }
      case IPVS_CMD.NEW_DEST:
      case IPVS_CMD.SET_DEST:
      case IPVS_CMD.DEL_DEST: {
        if (!cur) return fail('ESRCH', 3)
        const dk = destKey(m.dest!)
        const has = cur.dests.has(dk)
        if (m.cmd === IPVS_CMD.NEW_DEST && has) return fail('EEXIST', 17)
        if (m.cmd !== IPVS_CMD.NEW_DEST && !has) return fail('ENOENT', 2)
        if (m.cmd === IPVS_CMD.DEL_DEST) cur.dests.delete(dk)
        else cur.dests.set(dk, m.dest!)
        return { ok: true }
      }
      case IPVS_CMD.FLUSH:
        this.services.clear()
        return { ok: true }
      default:
        return { ok: true }
    }
  }

  async dump(payload: Buffer): Promise<Buffer[]> {
    const d = decodeIpvsMessage(payload)
    if (!d.ok) throw new Error(d.reason)
    if (d.message.cmd === IPVS_CMD.GET_SERVICE) return [...this.services.values()].map((s) => reply(encodeService(IPVS_CMD.NEW_SERVICE, { ...s.service, flags: s.service.flags | 2 })))
    if (d.message.cmd === IPVS_CMD.GET_DEST) {
      const s = this.services.get(serviceKey(d.message.service!))
      if (!s) throw new Error('ESRCH')
      return [...s.dests.values()].map((x) => reply(encodeDest(IPVS_CMD.NEW_DEST, s.service, x)))
    }
    return []
  }

  close(): void {
    this.closed = true
  }
}

function strip(s: IpvsService & { stats?: unknown }): IpvsService {
  const { stats: _s, ...rest } = s
  return rest
}
function reply(b: Buffer): Buffer {
  return b
}
