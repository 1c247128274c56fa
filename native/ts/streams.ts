// Short non-blocking TCP connections for health checks (see docs/native.md "Streams"): the addon's Streams engine
// runs every connection on one epoll set polled by libuv. This module queues opens and closes as commands the addon
// runs in one call per batch, and turns the reports of a loop turn (one call each) into calls on each connection's
// handler.
import { addon, type RawStreams } from './addon.js'
import { AF } from './constants.js'
import { encodeSockAddr } from './codec/sockaddr.js'
import { errnoName } from './errors.js'
import { ifNameToIndex } from './socket.js'

/**
 * Where and how to connect; prepare once with `streamTarget()` and reuse for every connection. A check's
 * CheckTarget (@kad/core) is one as it is.
 */
export interface StreamTargetInput {
  family: 4 | 6
  address: string
  port: number
  /** local address (keepalived bindto) */
  bindTo?: string
  /** local port (keepalived bind_port) */
  bindPort?: number
  /** SO_BINDTODEVICE (keepalived bind_if); needs CAP_NET_RAW */
  bindIf?: string
  /** SO_MARK (keepalived fwmark on a real server's check); needs CAP_NET_ADMIN */
  fwmark?: number
  /**
   * Delay the handshake's final ACK (TCP_QUICKACK 0, as HAProxy does): it rides on the first data sent, or, for
   * a port check closed with a reset at once, never leaves, so the server never accepts a connection.
   */
  delayAck?: boolean
  /** a port check: the engine resets the connection as soon as it completes, then reports it */
  resetOnConnect?: boolean
  /**
   * bytes the engine sends as soon as the connection completes, then reads: the handler hears of the connect only
   * when it fails, of a request that could not be sent whole at `onError`, then of what arrives
   */
  request?: Buffer
  /** path of a network namespace (/run/netns/NAME) to open the sockets in (tests; kad runs inside its own) */
  netns?: string
}

/** A target registered with the engine (its sockaddrs and options live in the addon). */
export interface StreamTarget {
  /** @internal the addon's number for it */
  readonly handle: number
  /** bytes of the request sent on connect (0: none) */
  readonly requestLength: number
  readonly label: string
}

/**
 * Receives one connection's events. `this` is the handler (no closures needed). After `onConnect(err)` with an
 * error, and after a failed request (`onError`), the connection is already closed.
 */
export interface StreamHandler {
  /** undefined: connected; otherwise why not: the connect's errno name ('ECONNREFUSED', 'ETIMEDOUT', …) or a failed step ('connect ENETUNREACH', 'SO_MARK EPERM') */
  onConnect(err: string | undefined): void
  /** received bytes: a view valid during the call only (copy what must outlive it) */
  onData?(data: Buffer): void
  onEnd?(): void
  onError?(err: string): void
}

const STAGES = ['', 'socket', 'SO_BINDTODEVICE', 'SO_MARK', 'bind', 'connect', 'epoll_ctl', 'send']
/** A synchronous failure code of the engine (-(errno | stage << 16)) as text: 'connect ENETUNREACH'. */
export function streamFailure(code: number): string {
  const v = -code
  return `${STAGES[v >> 16] ?? 'socket'} ${errnoName(v & 0xffff)}`
}

function sockaddrOf(family: 4 | 6, address: string, port: number): Buffer {
  if (family === 6) {
    const pct = address.indexOf('%')
    const scopeId = pct >= 0 ? ifNameToIndex(address.slice(pct + 1)) || Number(address.slice(pct + 1)) || 0 : 0
    return encodeSockAddr({ family: 'inet6', address: pct >= 0 ? address.slice(0, pct) : address, port, scopeId })
  }
  return encodeSockAddr({ family: 'inet', address, port })
}

const FLAG_DELAY_ACK = 1
const FLAG_RESET_ON_CONNECT = 2

/**
 * Encodes a target once (sockaddrs, interface name) and registers it with the engine (released when the returned
 * object is garbage-collected); throws TypeError on an address of the wrong family.
 */
export function streamTarget(t: StreamTargetInput): StreamTarget {
  const bind = t.bindTo !== undefined || t.bindPort !== undefined ? sockaddrOf(t.family, t.bindTo ?? (t.family === 6 ? '::' : '0.0.0.0'), t.bindPort ?? 0) : null
  const flags = (t.delayAck ? FLAG_DELAY_ACK : 0) | (t.resetOnConnect ? FLAG_RESET_ON_CONNECT : 0)
  return streams().addTarget(
    t.family === 6 ? AF.INET6 : AF.INET,
    sockaddrOf(t.family, t.address, t.port),
    bind,
    t.bindIf ? Buffer.from(t.bindIf + '\0') : null,
    t.fwmark ?? 0,
    flags,
    t.netns,
    t.request && t.request.length > 0 ? t.request : null,
    `[${t.address}]:${t.port}`,
  )
}

const KIND_CONNECT = 1
const KIND_DATA = 2
const KIND_EOF = 3
const KIND_ERROR = 4
const KIND_SEND = 5
/** the engine closed the connection (a reset port check, a failed connect or request) */
const CLOSED = 0x100
const EBADF = 9
const OP_OPEN = 1
const OP_CLOSE = 2
const EVENT_INTS = 4
/**
 * A connection is its slot in the low 20 bits and 11 bits of its id above (a small integer for V8): a stale one,
 * whose slot has been given to another since, is told apart.
 */
const SLOT_BITS = 20
const SLOT_MASK = (1 << SLOT_BITS) - 1
const GEN_MASK = 0x7ff

/**
 * The engine (one per process). A connection is a number; calls with one that is closed do nothing (a
 * connection that took its place is told apart). Opens and closes are
 * queued and handed to the addon in one call at the end of the current JavaScript task (a microtask), or at the
 * end of the report being dispatched; `send`, `read` and `getOption` are one call each.
 */
export class StreamEngine {
  private readonly raw: RawStreams
  private readonly events: Int32Array
  private readonly commands: Int32Array
  private readonly failures: Int32Array
  private readonly arena: Buffer
  private readonly capacity: number
  /** per slot: the handler, the target and the connection's id (0: free) */
  private readonly handlers: (StreamHandler | undefined)[] = []
  private readonly targets: (StreamTarget | undefined)[] = []
  private readonly ids: number[] = []
  private readonly freeSlots: number[] = []
  private nextId = 1
  private live = 0
  private queued = 0
  private flushScheduled = false
  private dispatching = false
  private readonly flushTask = () => {
    this.flushScheduled = false
    this.flush()
  }
  private readonly released = new FinalizationRegistry<number>((handle) => this.raw.dropTarget(handle))

  constructor() {
    this.raw = new (addon().Streams)((count) => this.dispatch(count))
    this.events = this.raw.events
    this.commands = this.raw.commands
    this.failures = this.raw.failures
    const a = this.raw.arena
    this.arena = Buffer.from(a.buffer, a.byteOffset, a.byteLength)
    this.capacity = this.commands.length / 4
  }

  /** connections open now */
  get active(): number {
    return this.live
  }

  /** @internal streamTarget() */
  addTarget(domain: number, sockaddr: Buffer, bind: Buffer | null, ifname: Buffer | null, mark: number, flags: number, netns: string | undefined, request: Buffer | null, label: string): StreamTarget {
    const handle = this.raw.addTarget(domain, sockaddr, bind, ifname, mark, flags, netns, request)
    const target: StreamTarget = { handle, requestLength: request?.length ?? 0, label }
    this.released.register(target, handle)
    return target
  }

  /**
   * Starts a non-blocking connect; returns the connection. Its outcome arrives at `handler.onConnect` (a failure
   * to even start one too, as 'connect ENETUNREACH', 'SO_MARK EPERM', …), or as the target says.
   */
  open(target: StreamTarget, handler: StreamHandler): number {
    const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.ids.length
    const id = this.nextId
    this.nextId = id >= 0x7fffffff ? 1 : id + 1
    this.handlers[slot] = handler
    this.targets[slot] = target
    this.ids[slot] = id
    this.live++
    this.command(OP_OPEN, slot, id, target.handle)
    return ((id & GEN_MASK) << SLOT_BITS) | slot
  }

  /** Closes; with `reset` the peer gets an RST (SO_LINGER 0), leaving no TIME_WAIT. No event follows. */
  close(conn: number, reset = true): void {
    const slot = this.slotOf(conn)
    if (slot < 0) return
    const id = this.ids[slot]
    this.release(slot)
    this.command(OP_CLOSE, slot, id, reset ? 1 : 0)
  }

  /** Sends bytes; returns the count sent or a failure text. */
  send(conn: number, data: Buffer): number | string {
    const slot = this.slotOf(conn)
    this.flush()
    const n = slot >= 0 ? this.raw.send(slot, data) : -(EBADF | (7 << 16))
    return n < 0 ? streamFailure(n) : n
  }

  /** From now on report received bytes (onData), the peer's close (onEnd) and receive errors (onError). */
  read(conn: number): string | undefined {
    const slot = this.slotOf(conn)
    this.flush()
    const r = slot >= 0 ? this.raw.read(slot) : -(EBADF | (6 << 16))
    return r < 0 ? streamFailure(r) : undefined
  }

  /** getsockopt on an open connection (tests: SO_MARK, SO_BINDTODEVICE). */
  getOption(conn: number, level: number, name: number): Buffer | undefined {
    const slot = this.slotOf(conn)
    this.flush()
    return slot >= 0 ? this.raw.getOption(slot, level, name) : undefined
  }

  /** the slot of an open connection, else -1 */
  private slotOf(conn: number): number {
    if (conn < 0) return -1
    const slot = conn & SLOT_MASK
    const id = this.ids[slot]
    return id && (id & GEN_MASK) === conn >>> SLOT_BITS ? slot : -1
  }

  private release(slot: number): void {
    this.handlers[slot] = this.targets[slot] = undefined
    this.ids[slot] = 0
    this.freeSlots.push(slot)
    this.live--
  }

  private command(op: number, slot: number, id: number, arg: number): void {
    if (this.queued === this.capacity) this.flush()
    const c = this.commands
    const i = this.queued++ * 4
    c[i] = op
    c[i + 1] = slot
    c[i + 2] = id
    c[i + 3] = arg
    if (!this.flushScheduled && !this.dispatching) {
      this.flushScheduled = true
      queueMicrotask(this.flushTask)
    }
  }

  /** hands the queued commands to the addon; opens that failed at once are reported */
  private flush(): void {
    while (this.queued > 0) {
      const n = this.queued
      this.queued = 0
      const failed = this.raw.flush(n)
      if (failed > 0) this.failed(this.failures.slice(0, failed * 3))
    }
  }

  private failed(f: Int32Array): void {
    for (let i = 0; i < f.length; i += 3) {
      const slot = f[i]
      if (this.ids[slot] !== f[i + 1]) continue
      const h = this.handlers[slot]!
      this.release(slot)
      h.onConnect(streamFailure(f[i + 2]))
    }
  }

  private dispatch(count: number): void {
    const ev = this.events
    const ids = this.ids
    let offset = 0
    this.dispatching = true
    try {
      for (let i = 0; i < count * EVENT_INTS; i += EVENT_INTS) {
        const slot = ev[i]
        const kind = ev[i + 2]
        const v = ev[i + 3]
        const start = offset
        if (kind === KIND_DATA) offset += v
        if (ids[slot] !== ev[i + 1]) continue
        const h = this.handlers[slot]!
        const target = this.targets[slot]!
        if (kind & CLOSED) this.release(slot)
        switch (kind & ~CLOSED) {
          case KIND_CONNECT:
            h.onConnect(v === 0 ? undefined : errnoName(v))
            break
          case KIND_DATA:
            h.onData?.(this.arena.subarray(start, offset))
            break
          case KIND_EOF:
            h.onEnd?.()
            break
          case KIND_ERROR:
            h.onError?.(errnoName(v))
            break
          case KIND_SEND:
            h.onError?.(v < 0 ? streamFailure(v) : `request sent short (${v} of ${target.requestLength} bytes)`)
            break
        }
      }
    } finally {
      this.dispatching = false
    }
    this.flush()
  }
}

let engine: StreamEngine | undefined
/** The process's stream engine (created on first use). */
export function streams(): StreamEngine {
  return (engine ??= new StreamEngine())
}
