/**
 * The IPVS kernel interface over a generic-netlink socket from @kad/native.
 *
 * Batching: commands are packed many to a sendmsg() (up to ~60 KB); only the last message of a batch asks for an
 * ACK, and the kernel reports errors for the others anyway (netlink_rcv_skb acks every failed message). The kernel
 * handles the whole batch inside sendmsg(), so once the last ACK arrives every earlier error has arrived too.
 * NETLINK_CAP_ACK keeps error messages small.
 */
import { constants as osConstants } from 'node:os'
import {
  decodeError, decodeFamily, decodeMessages, encodeGetFamily, encodeMessage, GENL_ID_CTRL, NLM_F, NLMSG, openSocket, type KadSocket, type NlMsg,
} from '@kad/native'
import { decodeIpvsMessage, encodeGetDests, encodeGetServices, IPVS_GENL_NAME, serviceKey, destKey, type IpvsServiceKey } from './codec/ipvs.js'
import type { KernelService } from './reconcile.js'

export interface OpResult {
  readonly ok: boolean
  /** positive errno when !ok */
  readonly errno?: number
  readonly code?: string
}

/** What the backend needs from the kernel; tests substitute a fake. */
export interface IpvsKernel {
  /** runs generic-netlink IPVS payloads in order; one result per payload */
  exec(payloads: readonly Buffer[]): Promise<OpResult[]>
  /** a dump request; the reply payloads */
  dump(payload: Buffer): Promise<Buffer[]>
  close(): void
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v as number, k]))
export const errnoName = (n: number): string => ERRNO_NAMES.get(n) ?? `E${n}`

const NETLINK_GENERIC = 16
const SOL_SOCKET = 1
const SO_SNDBUF = 7
const SO_RCVBUF = 8
const SO_SNDBUFFORCE = 32
const SO_RCVBUFFORCE = 33
const SOL_NETLINK = 270
const NETLINK_CAP_ACK = 10
const BATCH_BYTES = 60 * 1024
const REQUEST_TIMEOUT_MS = 10_000

type Pending =
  | { kind: 'batch'; first: number; last: number; results: OpResult[]; base: number; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  | { kind: 'dump'; seq: number; out: Buffer[]; resolve: (b: Buffer[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  | { kind: 'ctrl'; seq: number; resolve: (m: NlMsg | number) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

export class NetlinkError extends Error {
  constructor(readonly errno: number, what: string) {
    super(`${what}: ${errnoName(errno)} (${errno})`)
  }
}

export class NetlinkIpvs implements IpvsKernel {
  private seq = Math.floor(Math.random() * 0x3fffffff)
  private familyId = 0
  private readonly pending = new Map<number, Pending>()
  private closed = false

  private constructor(private readonly sock: KadSocket) {
    for (const [name, force, v] of [[SO_RCVBUF, SO_RCVBUFFORCE, 8 << 20], [SO_SNDBUF, SO_SNDBUFFORCE, 4 << 20]] as const) {
      try { sock.setOption(SOL_SOCKET, force, v) } catch { try { sock.setOption(SOL_SOCKET, name, v) } catch { /* kernel default */ } }
    }
    try { sock.setOption(SOL_NETLINK, NETLINK_CAP_ACK, 1) } catch { /* older kernel: full requests echoed in errors */ }
    sock.onMessage((buf) => this.receive(buf))
    sock.onError((e) => this.failAll(e))
  }

  /**
   * Opens the socket and resolves the IPVS family. Resolves to `undefined` when the kernel has no IPVS (the
   * generic-netlink controller answers ENOENT), so the caller can stay idle.
   */
  static async open(opts: { netns?: string } = {}): Promise<NetlinkIpvs | undefined> {
    const sock = openSocket({ domain: 'netlink', type: 'raw', protocol: NETLINK_GENERIC, ...(opts.netns ? { netns: opts.netns } : {}), receiveBufferSize: 256 * 1024 })
    const k = new NetlinkIpvs(sock)
    try {
      const id = await k.resolveFamily(IPVS_GENL_NAME)
      if (id === undefined) {
        k.close()
        return undefined
      }
      k.familyId = id
      return k
    } catch (e) {
      k.close()
      throw e
    }
  }

  get family(): number {
    return this.familyId
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0
    if (this.seq === 0) this.seq = 1
    return this.seq
  }

  private resolveFamily(name: string): Promise<number | undefined> {
    const seq = this.nextSeq()
    return new Promise<NlMsg | number>((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(seq); reject(new Error('generic netlink controller did not answer')) }, REQUEST_TIMEOUT_MS)
      this.pending.set(seq, { kind: 'ctrl', seq, resolve, reject, timer })
      this.sock.send(encodeMessage({ type: GENL_ID_CTRL, flags: NLM_F.REQUEST, seq, payload: encodeGetFamily(name) }), { pid: 0 })
    }).then((r) => {
      if (typeof r === 'number') {
        if (r === osConstants.errno.ENOENT) return undefined
        throw new NetlinkError(r, `resolving generic netlink family ${name}`)
      }
      const f = decodeFamily(r)
      if (!f.ok) throw new Error(`bad CTRL_CMD_NEWFAMILY reply: ${f.reason}`)
      return f.family.id
    })
  }

  async exec(payloads: readonly Buffer[]): Promise<OpResult[]> {
    const results: OpResult[] = new Array(payloads.length)
    let i = 0
    while (i < payloads.length) {
      const parts: Buffer[] = []
      let bytes = 0
      const start = i
      while (i < payloads.length && (parts.length === 0 || bytes + payloads[i].length + 16 <= BATCH_BYTES)) {
        bytes += payloads[i].length + 16
        parts.push(payloads[i])
        i++
      }
      await this.sendBatch(parts, results, start)
    }
    return results
  }

  private sendBatch(parts: Buffer[], results: OpResult[], base: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('IPVS netlink socket closed'))
    const seqs = parts.map(() => this.nextSeq())
    const frames = parts.map((p, j) => encodeMessage({ type: this.familyId, flags: NLM_F.REQUEST | (j === parts.length - 1 ? NLM_F.ACK : 0), seq: seqs[j], payload: p }))
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { for (const s of seqs) this.pending.delete(s); reject(new Error('IPVS did not acknowledge a batch')) }, REQUEST_TIMEOUT_MS)
      const p: Pending = { kind: 'batch', first: seqs[0], last: seqs[seqs.length - 1], results, base, resolve, reject, timer }
      for (const s of seqs) this.pending.set(s, p)
      try {
        this.sock.send(frames.length === 1 ? frames[0] : Buffer.concat(frames), { pid: 0 })
      } catch (e) {
        clearTimeout(timer)
        for (const s of seqs) this.pending.delete(s)
        reject(e as Error)
      }
    })
  }

  dump(payload: Buffer): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new Error('IPVS netlink socket closed'))
    const seq = this.nextSeq()
    return new Promise<Buffer[]>((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(seq); reject(new Error('IPVS dump timed out')) }, REQUEST_TIMEOUT_MS)
      this.pending.set(seq, { kind: 'dump', seq, out: [], resolve, reject, timer })
      try {
        this.sock.send(encodeMessage({ type: this.familyId, flags: NLM_F.REQUEST | NLM_F.DUMP, seq, payload }), { pid: 0 })
      } catch (e) {
        clearTimeout(timer)
        this.pending.delete(seq)
        reject(e as Error)
      }
    })
  }

  private receive(buf: Buffer): void {
    const parsed = decodeMessages(buf)
    if (!parsed.ok) return
    for (const m of parsed.messages) {
      const p = this.pending.get(m.seq)
      if (!p) continue
      if (m.type === NLMSG.ERROR) {
        const e = decodeError(m)
        const errno = e.ok ? e.error.errno : osConstants.errno.EIO
        if (p.kind === 'batch') {
          const idx = p.base + ((m.seq - p.first) >>> 0)
          if (errno !== 0) p.results[idx] = { ok: false, errno, code: errnoName(errno) }
          if (m.seq === p.last) this.finishBatch(p)
        } else if (p.kind === 'ctrl') {
          clearTimeout(p.timer)
          this.pending.delete(p.seq)
          p.resolve(errno)
        } else if (errno !== 0) {
          clearTimeout(p.timer)
          this.pending.delete(p.seq)
          p.reject(new NetlinkError(errno, 'IPVS dump'))
        }
        continue
      }
      if (p.kind === 'dump') {
        if (m.type === NLMSG.DONE) {
          clearTimeout(p.timer)
          this.pending.delete(p.seq)
          p.resolve(p.out)
        } else if (m.type === this.familyId) p.out.push(m.payload)
      } else if (p.kind === 'ctrl') {
        clearTimeout(p.timer)
        this.pending.delete(p.seq)
        p.resolve(m)
      }
    }
  }

  private finishBatch(p: Extract<Pending, { kind: 'batch' }>): void {
    clearTimeout(p.timer)
    const n = ((p.last - p.first) >>> 0) + 1
    for (let j = 0; j < n; j++) {
      this.pending.delete((p.first + j) >>> 0)
      if (!p.results[p.base + j]) p.results[p.base + j] = { ok: true }
    }
    p.resolve()
  }

  private failAll(e: Error): void {
    const seen = new Set<Pending>()
    for (const p of this.pending.values()) {
      if (seen.has(p)) continue
      seen.add(p)
      clearTimeout(p.timer)
      p.reject(e)
    }
    this.pending.clear()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.failAll(new Error('IPVS netlink socket closed'))
    this.sock.close()
  }
}

/** Reads the kernel's services (all) and the destinations of those for which `withDests` says yes. */
export async function readKernelTable(k: IpvsKernel, withDests: (key: string) => boolean): Promise<Map<string, KernelService>> {
  const table = new Map<string, KernelService>()
  for (const payload of await k.dump(encodeGetServices())) {
    const d = decodeIpvsMessage(payload)
    if (!d.ok || !d.message.service) continue
    const s = d.message.service
    const { stats: _stats, ...service } = s
    table.set(serviceKey(service), { service, dests: new Map() })
  }
  for (const [key, ks] of table) {
    if (!withDests(key)) continue
    const sk: IpvsServiceKey = ks.service
    const dests = new Map()
    for (const payload of await k.dump(encodeGetDests(sk))) {
      const d = decodeIpvsMessage(payload)
      if (!d.ok || !d.message.dest) continue
      const { stats: _s, activeConns: _a, inactConns: _i, persistConns: _p, ...dest } = d.message.dest
      dests.set(destKey(dest), dest)
    }
    table.set(key, { service: ks.service, dests })
  }
  return table
}
