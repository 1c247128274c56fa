// NetlinkSocket: request/response over one netlink socket. Requests are batched (many messages per sendmsg,
// without waiting for each ACK, up to a window of outstanding requests), matched to replies by sequence number,
// time out, and map NLMSG_ERROR to errno-named errors. Messages that answer no request (multicast events) go to
// onNotification handlers; a receive overrun (ENOBUFS) is reported to onOverrun handlers, which re-sync by dump.
import { NETLINK, SO, SOL } from './constants.js'
import { decodeError, decodeMessages, encodeMessage, NLM_F, NLMSG, type NlMsg } from './codec/netlink.js'
import { systemError, withCapability, type SystemError } from './errors.js'
import { w32 } from './codec/host-endian.js'
import { openSocket, type ErrorHandler, type MessageHandler, type SockAddrInput } from './socket.js'

/** The part of KadSocket a NetlinkSocket uses (tests substitute a fake kernel). */
export interface NetlinkTransport {
  setOption(level: number, name: number, value: number | boolean | Buffer): unknown
  /** an integer option (absent from test transports) */
  getOption?(level: number, name: number): number
  bind(addr: SockAddrInput): unknown
  onError(h: ErrorHandler): unknown
  onMessage(h: MessageHandler): unknown
  send(data: Buffer | Buffer[], dest?: SockAddrInput | null): number
  unref(): unknown
  pause(): unknown
  resume(): unknown
  close(): void
}

export interface NetlinkSocketOptions {
  protocol: number
  netns?: string
  /** Multicast groups (numbers as in RTNLGRP_*) to join. */
  groups?: number[]
  /** Default request time-out (ms); default 5000. */
  timeoutMs?: number
  /** Outstanding requests before new ones wait (default 256). */
  window?: number
  /** Kernel receive buffer (SO_RCVBUFFORCE when permitted, else SO_RCVBUF); default 4 MiB. */
  receiveBufferBytes?: number
  /** false: plain SO_RCVBUF, capped by net.core.rmem_max (keepalived's `*_rcv_bufs` without `*_force`) */
  forceReceiveBuffer?: boolean
  /** Names request types in error messages. */
  typeNames?: Record<number, string>
  /** Use this transport instead of opening a netlink socket (tests). */
  transport?: NetlinkTransport
}

interface Pending {
  seq: number
  type: number
  frame: Buffer
  dump: boolean
  replies: NlMsg[]
  timeoutMs: number
  deadline: number
  attempt: number
  resolve(v: NlMsg[]): void
  reject(e: Error): void
}

const MAX_BATCH_BYTES = 32 * 1024

export class NetlinkSocket {
  readonly sock: NetlinkTransport
  private seq: number
  private readonly pending = new Map<number, Pending>()
  private readonly queue: Pending[] = []
  private flushScheduled = false
  private readonly window: number
  private readonly timeoutMs: number
  private readonly typeNames: Record<number, string>
  private readonly notificationHandlers: Array<(m: NlMsg) => void> = []
  private readonly overrunHandlers: Array<() => void> = []
  private closed = false
  private dumping = 0
  /** Counters for dumpStats. */
  readonly stats = { sent: 0, batches: 0, received: 0, errors: 0, timeouts: 0, overruns: 0, malformed: 0, interrupted: 0 }

  constructor(opts: NetlinkSocketOptions) {
    this.sock = opts.transport ?? openSocket({ domain: 'netlink', type: 'raw', protocol: opts.protocol, netns: opts.netns, receiveBufferSize: 65536, batch: 256 })
    this.window = opts.window ?? 256
    this.timeoutMs = opts.timeoutMs ?? 5000
    this.typeNames = opts.typeNames ?? {}
    this.seq = (Date.now() & 0xffff) << 8
    this.setReceiveBuffer(opts.receiveBufferBytes ?? 4 * 1024 * 1024, opts.forceReceiveBuffer ?? true)
    for (const [opt, v] of [[NETLINK.EXT_ACK, 1], [NETLINK.CAP_ACK, 1]]) {
      try { this.sock.setOption(SOL.NETLINK, opt, v) } catch { /* older kernels: plain ACKs */ }
    }
    this.sock.bind({ family: 'netlink', pid: 0, groups: 0 })
    for (const g of opts.groups ?? []) this.sock.setOption(SOL.NETLINK, NETLINK.ADD_MEMBERSHIP, g)
    this.sock.onError((e) => this.onSocketError(e))
    this.sock.onMessage((buf, info) => this.onDatagram(buf, info.truncated === true))
  }

  /**
   * The kernel receive buffer: SO_RCVBUFFORCE (beyond net.core.rmem_max; needs CAP_NET_ADMIN, else SO_RCVBUF) or,
   * with force false, SO_RCVBUF. Returns what the kernel reports (twice the request, as it accounts overhead), or
   * undefined when it cannot be read. A failure keeps the previous size.
   */
  setReceiveBuffer(bytes: number, force = true): number | undefined {
    try {
      if (!force) throw new Error('not forced')
      this.sock.setOption(SOL.SOCKET, SO.RCVBUFFORCE, bytes)
    } catch {
      try { this.sock.setOption(SOL.SOCKET, SO.RCVBUF, bytes) } catch { /* keep the size it has */ }
    }
    return this.receiveBuffer()
  }

  /** SO_RCVBUF as the kernel reports it, undefined when it cannot be read */
  receiveBuffer(): number | undefined {
    try {
      return this.sock.getOption?.(SOL.SOCKET, SO.RCVBUF)
    } catch {
      return undefined
    }
  }

  /** Does not keep the process alive by itself. */
  unref(): this { this.sock.unref(); return this }

  onNotification(h: (m: NlMsg) => void): this { this.notificationHandlers.push(h); return this }
  onOverrun(h: () => void): this { this.overrunHandlers.push(h); return this }

  joinGroup(g: number): void { this.sock.setOption(SOL.NETLINK, NETLINK.ADD_MEMBERSHIP, g) }
  leaveGroup(g: number): void { this.sock.setOption(SOL.NETLINK, NETLINK.DROP_MEMBERSHIP, g) }

  /** A request answered by an ACK (NLM_F_ACK is added). Resolves with any replies before the ACK (e.g. genl GET). */
  request(type: number, flags: number, payload: Buffer | Buffer[], opts: { timeoutMs?: number } = {}): Promise<NlMsg[]> {
    return this.enqueue(type, flags | NLM_F.REQUEST | NLM_F.ACK, payload, false, opts.timeoutMs)
  }

  /** A dump (NLM_F_DUMP): resolves with every message up to NLMSG_DONE. */
  dump(type: number, payload: Buffer | Buffer[], opts: { timeoutMs?: number } = {}): Promise<NlMsg[]> {
    return this.enqueue(type, NLM_F.REQUEST | NLM_F.DUMP, payload, true, opts.timeoutMs)
  }

  get outstanding(): number { return this.pending.size + this.queue.length }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0
    if (this.seq === 0) this.seq = 1
    return this.seq
  }

  private enqueue(type: number, flags: number, payload: Buffer | Buffer[], dump: boolean, timeoutMs?: number): Promise<NlMsg[]> {
    if (this.closed) return Promise.reject(systemError(9, this.typeName(type), 'netlink socket closed'))
    return new Promise((resolve, reject) => {
      const seq = this.nextSeq()
      const frame = encodeMessage({ type, flags, seq, payload })
      this.queue.push({ seq, type, frame, dump, replies: [], timeoutMs: timeoutMs ?? this.timeoutMs, deadline: 0, attempt: 1, resolve, reject })
      this.scheduleFlush()
    })
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    queueMicrotask(() => {
      this.flushScheduled = false
      this.flush()
    })
  }

  /** Sends queued requests, many per sendmsg, while the window allows. */
  private flush(): void {
    while (this.queue.length > 0 && this.pending.size < this.window && !this.closed) {
      const batch: Pending[] = []
      let bytes = 0
      while (this.queue.length > 0 && this.pending.size + batch.length < this.window && batch.length < 1024) {
        const next = this.queue[0]
        if (batch.length > 0 && bytes + next.frame.length > MAX_BATCH_BYTES) break
        // A dump must be alone in its datagram (the kernel stops processing a datagram after starting a dump),
        // and a socket runs one dump at a time (a second one gets EBUSY): later requests wait behind it.
        if (next.dump && (batch.length > 0 || this.dumping > 0)) break
        batch.push(this.queue.shift()!)
        bytes += next.frame.length
        if (next.dump) break
      }
      const now = Date.now()
      if (batch.length === 0) break
      for (const p of batch) {
        if (p.dump) this.dumping++
        this.pending.set(p.seq, p)
        p.deadline = now + p.timeoutMs
      }
      this.armSweep()
      try {
        this.sock.send(batch.map((p) => p.frame), { family: 'netlink', pid: 0, groups: 0 })
        this.stats.sent += batch.length
        this.stats.batches++
      } catch (e) {
        for (const p of batch) this.fail(p, e as Error, 'errors')
      }
    }
  }

  /** One timer for all outstanding requests (a timer per request costs more than the request at 1,000s/s). */
  private sweep?: NodeJS.Timeout

  private armSweep(): void {
    if (this.sweep || this.pending.size === 0) return
    this.sweep = setInterval(() => {
      const now = Date.now()
      for (const p of [...this.pending.values()]) {
        if (p.deadline <= now) this.fail(p, systemError(110, this.typeName(p.type), `no answer within ${p.timeoutMs} ms`), 'timeouts')
      }
      if (this.pending.size === 0) this.disarmSweep()
    }, Math.max(10, Math.min(250, this.timeoutMs / 4)))
  }

  private disarmSweep(): void {
    if (this.sweep) clearInterval(this.sweep)
    this.sweep = undefined
  }

  private typeName(type: number): string {
    return this.typeNames[type] ?? `netlink type ${type}`
  }

  private fail(p: Pending, e: Error, counter: 'errors' | 'timeouts'): void {
    if (this.pending.get(p.seq) !== p) return
    this.pending.delete(p.seq)
    if (p.dump) this.dumping--
    this.stats[counter]++
    p.reject(e)
    this.scheduleFlush()
  }

  private finish(p: Pending): void {
    this.pending.delete(p.seq)
    if (p.dump) this.dumping--
    if (this.pending.size === 0) this.disarmSweep()
    // NLM_F_DUMP_INTR: the table changed during the dump, so the parts may be inconsistent: dump again.
    if (p.dump && p.replies.some((m) => m.flags & NLM_F.DUMP_INTR) && p.attempt < 3) {
      const seq = this.nextSeq()
      const frame = Buffer.from(p.frame)
      w32(frame, seq, 8)
      this.queue.unshift({ ...p, seq, frame, replies: [], attempt: p.attempt + 1 })
      this.stats.interrupted++
      this.scheduleFlush()
      return
    }
    p.resolve(p.replies)
  }

  private onDatagram(buf: Buffer, truncated: boolean): void {
    if (truncated) {
      this.stats.malformed++
      return
    }
    const d = decodeMessages(buf)
    if (!d.ok) {
      this.stats.malformed++
      return
    }
    let freed = false
    for (const m of d.messages) {
      this.stats.received++
      const p = m.seq !== 0 ? this.pending.get(m.seq) : undefined
      if (!p) {
        if (m.type !== NLMSG.DONE && m.type !== NLMSG.ERROR && m.type !== NLMSG.NOOP) for (const h of this.notificationHandlers) h(m)
        continue
      }
      if (m.type === NLMSG.ERROR) {
        const e = decodeError(m)
        if (!e.ok) { this.stats.malformed++; continue }
        if (e.error.errno === 0) this.finish(p)
        else {
          const name = this.typeName(p.type)
          const err = systemError(e.error.errno, name, e.error.message ?? undefined)
          this.fail(p, withCapability(err, 'CAP_NET_ADMIN', `${name}`) as SystemError, 'errors')
        }
        freed = true
      } else if (m.type === NLMSG.DONE) {
        this.finish(p)
        freed = true
      } else {
        p.replies.push(m)
      }
    }
    // Refill the window once per drained batch (microtask), not once per ACK: keeps sendmsg calls large.
    if (freed) this.scheduleFlush()
  }

  private onSocketError(e: Error): void {
    if ((e as SystemError).code === 'ENOBUFS') {
      this.stats.overruns++
      // Replies may have been dropped: waiting requests fail now (outcome unknown) instead of timing out.
      for (const p of [...this.pending.values()]) this.fail(p, e, 'errors')
      for (const h of this.overrunHandlers) h()
      return
    }
    this.stats.errors++
  }

  /** Closes the socket; outstanding requests fail with EBADF. Idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    const err = systemError(9, 'netlink', 'netlink socket closed')
    this.disarmSweep()
    for (const p of [...this.pending.values(), ...this.queue]) p.reject(err)
    this.pending.clear()
    this.queue.length = 0
    this.sock.close()
  }
}
