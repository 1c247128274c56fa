// Short non-blocking TCP connections for health checks (see docs/native.md "Streams"): the addon's Streams engine
// runs every connection on one epoll set polled by libuv and reports the readiness of a whole loop turn in one
// call; this module turns those (id, kind, value) triples into calls on each connection's handler.
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
  /** path of a network namespace (/run/netns/NAME) to open the sockets in (tests; kad runs inside its own) */
  netns?: string
}

export interface StreamTarget {
  readonly domain: number
  readonly sockaddr: Buffer
  readonly bind: Buffer | null
  readonly ifname: Buffer | null
  readonly mark: number
  readonly flags: number
  readonly netns: string | undefined
  readonly label: string
}

/** Receives one connection's events. `this` is the handler (no closures needed). */
export interface StreamHandler {
  /** err 0: connected; otherwise the connect's errno name ('ECONNREFUSED', 'ETIMEDOUT', …) */
  onConnect(err: string | undefined): void
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

/** Encodes a target once (sockaddrs, interface name); throws TypeError on an address of the wrong family. */
export function streamTarget(t: StreamTargetInput): StreamTarget {
  const bind = t.bindTo !== undefined || t.bindPort !== undefined ? sockaddrOf(t.family, t.bindTo ?? (t.family === 6 ? '::' : '0.0.0.0'), t.bindPort ?? 0) : null
  return {
    domain: t.family === 6 ? AF.INET6 : AF.INET,
    sockaddr: sockaddrOf(t.family, t.address, t.port),
    bind,
    ifname: t.bindIf ? Buffer.from(t.bindIf + '\0') : null,
    mark: t.fwmark ?? 0,
    flags: t.delayAck ? 1 : 0,
    netns: t.netns,
    label: `[${t.address}]:${t.port}`,
  }
}


const KIND_CONNECT = 1
const KIND_DATA = 2
const KIND_EOF = 3

/**
 * The engine (one per process). Connections are numbers (their fd); every method is one N-API call and, apart
 * from `open`'s socket/connect, one or two syscalls.
 */
export class StreamEngine {
  private readonly raw: RawStreams
  private readonly events: Int32Array
  private readonly handlers = new Map<number, StreamHandler>()
  private nextId = 1

  constructor() {
    this.raw = new (addon().Streams)((count, bufs) => this.dispatch(count, bufs))
    this.events = this.raw.events
  }

  /** connections open now */
  get active(): number {
    return this.raw.active
  }

  /**
   * Starts a non-blocking connect. Returns the connection (an fd, >= 0) whose outcome arrives at
   * `handler.onConnect`, or a string naming the failure ('connect ENETUNREACH', 'SO_MARK EPERM').
   */
  open(target: StreamTarget, handler: StreamHandler): number | string {
    const id = this.nextId
    this.nextId = id >= 0x7fffffff ? 1 : id + 1
    const fd = this.raw.open(id, target.domain, target.sockaddr, target.bind, target.ifname, target.mark, target.flags, target.netns)
    if (fd < 0) return streamFailure(fd)
    this.handlers.set(id, handler)
    return fd
  }

  /** Sends bytes; returns the count sent or a failure text. */
  send(fd: number, data: Buffer): number | string {
    const n = this.raw.send(fd, data)
    return n < 0 ? streamFailure(n) : n
  }

  /** From now on report received bytes (onData), the peer's close (onEnd) and receive errors (onError). */
  read(fd: number): string | undefined {
    const r = this.raw.read(fd)
    return r < 0 ? streamFailure(r) : undefined
  }

  /** Closes; with `reset` the peer gets an RST (SO_LINGER 0), leaving no TIME_WAIT. No event follows. */
  close(fd: number, reset = true): void {
    const id = this.raw.close(fd, reset)
    if (id !== 0) this.handlers.delete(id)
  }

  /** getsockopt on an open connection (tests: SO_MARK, SO_BINDTODEVICE). */
  getOption(fd: number, level: number, name: number): Buffer | undefined {
    return this.raw.getOption(fd, level, name)
  }

  private dispatch(count: number, bufs: Buffer[] | undefined): void {
    const ev = this.events
    for (let i = 0; i < count * 3; i += 3) {
      const h = this.handlers.get(ev[i])
      if (h === undefined) continue
      const kind = ev[i + 1]
      const v = ev[i + 2]
      if (kind === KIND_CONNECT) h.onConnect(v === 0 ? undefined : errnoName(v))
      else if (kind === KIND_DATA) h.onData?.(bufs![v])
      else if (kind === KIND_EOF) h.onEnd?.()
      else h.onError?.(errnoName(v))
    }
  }
}

let engine: StreamEngine | undefined
/** The process's stream engine (created on first use). */
export function streams(): StreamEngine {
  return (engine ??= new StreamEngine())
}
