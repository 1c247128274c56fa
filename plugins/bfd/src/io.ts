/**
 * The bfd child's engine: UDP sockets through @kad/native (received TTL / hop limit from ancillary data),
 * demultiplexing (RFC 5880 §6.3), the TTL checks of RFC 5881 §5 / RFC 5883 §5, session timers on the core
 * Scheduler at `precision: 'fine'`, and session events for the other children.
 */
import { randomInt } from 'node:crypto'
import { Histogram, type Logger, type Scheduler } from '@kad/core'
import { IP, IPV6, SOL, openSocket, type KadSocket, type MessageInfo } from '@kad/native'
import { BFD_PORT_MULTI_HOP, BFD_PORT_SINGLE_HOP, DIAG_NAMES, decode, type AuthKey } from './codec/packet.js'
import { BfdSession, type StateChange } from './session.js'
import { TimerQueue } from './timer-queue.js'
import type { BfdInstanceModel } from './model.js'

/** The payload of the `bfd.session` IPC channel (bfd child -> vrrp / check children). */
export interface BfdSessionEvent {
  name: string
  up: boolean
  state: string
  from: string
  diag: number
  diagText: string
  remoteDiag: number
  neighbor: string
  /** wall-clock ms of the change in the bfd child */
  at: number
  /** monotonic ms (performance.now() of the bfd child) */
  mono: number
  /** a state repeated for a child that (re)started, not a change */
  resync?: boolean
}

export interface EngineDeps {
  log: Logger
  scheduler: Scheduler
  /** publish one event to the given children */
  publish?: (ev: BfdSessionEvent, to: ('vrrp' | 'check')[]) => void
  /** open sockets inside this namespace (tests, benchmarks) */
  netns?: string
  /** per-instance authentication (no keepalived keyword exists; tests and embedders) */
  auth?: (inst: BfdInstanceModel) => AuthKey | undefined
  /** how early a transmission may be batched with others (ms, default 1; the jitter range shrinks to match) */
  txEarlyMs?: number
  /** lateness the planned intervals leave room for (ms, default 1): a late timer still sends within 100 % */
  txLateMarginMs?: number
  /** time source for sessions; default the scheduler's */
  now?: () => number
  wallNow?: () => number
}

export interface EngineCounters {
  rxPackets: number
  rxMalformed: number
  rxTtlDropped: number
  rxNoSession: number
  rxSessionDropped: number
  txPackets: number
  txErrors: number
  setupErrors: number
}

interface Entry {
  inst: BfdInstanceModel
  session: BfdSession
  tx: KadSocket
  port: number
}

/** IPV6_FREEBIND (linux/in6.h, 4.15+); not in @kad/native's constants */
const IPV6_FREEBIND = 78
const SRC_PORT_MIN = 49152
const SRC_PORT_MAX = 65535

export class BfdEngine {
  readonly counters: EngineCounters = { rxPackets: 0, rxMalformed: 0, rxTtlDropped: 0, rxNoSession: 0, rxSessionDropped: 0, txPackets: 0, txErrors: 0, setupErrors: 0 }
  /** how late periodic transmissions left against their planned (jittered) time, in us */
  readonly txLateness = new Histogram()
  private readonly entries = new Map<string, Entry>()
  private readonly byDiscr = new Map<number, Entry>()
  private readonly rxSockets = new Map<string, KadSocket>()
  private readonly listeners = new Set<(ev: BfdSessionEvent) => void>()

  private readonly timers: TimerQueue

  constructor(private readonly deps: EngineDeps) {
    this.timers = new TimerQueue(deps.scheduler)
  }

  /** local listeners (tests, benchmarks) */
  onEvent(fn: (ev: BfdSessionEvent) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  get sessions(): ReadonlyMap<string, Entry> {
    return this.entries
  }

  session(name: string): BfdSession | undefined {
    return this.entries.get(name)?.session
  }

  private now(): number {
    return this.deps.now ? this.deps.now() : this.deps.scheduler.now()
  }

  /** start the sessions of these instances (and keep the ones that did not change) */
  apply(instances: readonly BfdInstanceModel[]): void {
    const want = new Map(instances.map((i) => [i.name, i]))
    for (const [name, e] of this.entries) {
      const n = want.get(name)
      if (!n || !sameTransport(n, e.inst)) this.remove(name)
    }
    for (const inst of instances) {
      const e = this.entries.get(inst.name)
      if (e) {
        if (e.inst.minRxUs !== inst.minRxUs || e.inst.minTxUs !== inst.minTxUs || e.inst.idleTxUs !== inst.idleTxUs || e.inst.multiplier !== inst.multiplier)
          e.session.setTimers({ minRxUs: inst.minRxUs, minTxUs: inst.minTxUs, idleTxUs: inst.idleTxUs, detectMult: inst.multiplier })
        e.inst = inst
        continue
      }
      try {
        this.add(inst)
      } catch (err) {
        // one bad instance (no such source address, port in use) must not stop the others
        this.counters.setupErrors++
        this.deps.log.error(`BFD_Instance(${inst.name}) cannot start: ${(err as Error).message}`)
      }
    }
  }

  private add(inst: BfdInstanceModel): void {
    const port = inst.multihop ? BFD_PORT_MULTI_HOP : BFD_PORT_SINGLE_HOP
    this.rxSocket(inst.family, port)
    const tx = this.txSocket(inst, port)
    let discr: number
    do discr = randomInt(1, 0xffffffff) >>> 0
    while (discr === 0 || this.byDiscr.has(discr))
    const entry = { inst, tx: tx.sock, port } as Entry
    const session = new BfdSession(
      {
        name: inst.name,
        localDiscr: discr,
        minRxUs: inst.minRxUs,
        minTxUs: inst.minTxUs,
        idleTxUs: inst.idleTxUs,
        detectMult: inst.multiplier,
        passive: inst.passive,
        auth: this.deps.auth?.(inst),
      },
      {
        now: () => this.now(),
        at: (_what, deadline, fn, early) => this.timers.at(deadline, fn, early),
        txEarlyMs: this.deps.txEarlyMs ?? 1,
        txLateMarginMs: this.deps.txLateMarginMs ?? 1,
        transmit: (bytes) => this.transmit(entry, bytes),
        onStateChange: (ev) => this.stateChanged(entry, ev),
        onTxLateness: (ms) => this.txLateness.record(ms * 1000),
      },
    )
    entry.session = session
    this.entries.set(inst.name, entry)
    this.byDiscr.set(discr, entry)
    session.start()
  }

  private remove(name: string): void {
    const e = this.entries.get(name)
    if (!e) return
    e.session.adminDown()
    e.session.stop()
    this.entries.delete(name)
    this.byDiscr.delete(e.session.localDiscr)
    e.tx.close()
  }

  stop(): void {
    for (const name of [...this.entries.keys()]) this.remove(name)
    for (const s of this.rxSockets.values()) s.close()
    this.rxSockets.clear()
    this.timers.stop()
  }

  private rxSocket(family: 4 | 6, port: number): void {
    const key = `${family}|${port}`
    if (this.rxSockets.has(key)) return
    const sock = openSocket({ domain: family === 4 ? 'inet' : 'inet6', type: 'dgram', protocol: 17, netns: this.deps.netns, batch: 256 })
    try {
      if (family === 6) sock.setOption(SOL.IPV6, IPV6.V6ONLY, 1)
      sock.receivePacketInfo()
      sock.bind({ address: family === 4 ? '0.0.0.0' : '::', port })
    } catch (e) {
      sock.close()
      throw e
    }
    sock.onMessage((buf, info) => this.onPacket(buf, info, family, port))
    sock.onError((err) => this.rlog('rx-error', `bfd receive error on port ${port}: ${err.message}`))
    this.rxSockets.set(key, sock)
  }

  /**
   * One socket per session, bound to the source address and a port in 49152-65535 (RFC 5881 §4: the same for
   * every packet of the session) and connected to the neighbour: sending then needs no address per packet and
   * the kernel skips the route lookup.
   */
  private txSocket(inst: BfdInstanceModel, port: number): { sock: KadSocket; port: number } {
    const sock = openSocket({ domain: inst.family === 4 ? 'inet' : 'inet6', type: 'dgram', protocol: 17, netns: this.deps.netns })
    try {
      if (inst.family === 4) {
        sock.setOption(SOL.IP, IP.TTL, inst.ttl)
        // source_ip may be a VIP that VRRP adds later
        sock.setOption(SOL.IP, IP.FREEBIND, 1)
      } else {
        sock.setOption(SOL.IPV6, IPV6.V6ONLY, 1)
        sock.setOption(SOL.IPV6, IPV6.UNICAST_HOPS, inst.ttl)
        sock.setOption(SOL.IPV6, IPV6_FREEBIND, 1)
      }
      let local = 0
      for (let i = 0; i < 256 && local === 0; i++) {
        const p = randomInt(SRC_PORT_MIN, SRC_PORT_MAX + 1)
        try {
          sock.bind({ address: inst.source ?? (inst.family === 4 ? '0.0.0.0' : '::'), port: p })
          local = p
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e
        }
      }
      if (local === 0) throw new Error(`bfd: no free source port in ${SRC_PORT_MIN}-${SRC_PORT_MAX}`)
      sock.connect({ address: inst.neighbor, port })
      return { sock, port: local }
    } catch (e) {
      sock.close()
      throw e
    }
  }

  private transmit(e: Entry, bytes: Buffer): void {
    try {
      e.tx.send(bytes)
      this.counters.txPackets++
    } catch (err) {
      this.counters.txErrors++
      this.rlog('tx-' + e.inst.name, `bfd ${e.inst.name}: send to ${e.inst.neighbor} failed: ${(err as Error).message}`)
    }
  }

  /** one received datagram: decode, demultiplex, TTL check, hand to the session */
  onPacket(buf: Buffer, info: MessageInfo, family: 4 | 6, port: number): void {
    this.counters.rxPackets++
    const r = decode(buf)
    if (!r.ok) {
      this.counters.rxMalformed++
      this.rlog('malformed', `bfd: malformed control packet from ${info.from}: ${r.reason}`)
      return
    }
    const pkt = r.packet
    const multihop = port === BFD_PORT_MULTI_HOP
    let e: Entry | undefined
    if (pkt.yourDiscr !== 0) {
      e = this.byDiscr.get(pkt.yourDiscr)
      if (e && (e.inst.neighbor !== info.from || e.inst.multihop !== multihop)) e = undefined
    } else {
      for (const c of this.entries.values()) {
        if (c.inst.neighbor !== info.from || c.inst.multihop !== multihop || c.inst.family !== family) continue
        if (c.inst.source && info.dst && c.inst.source !== info.dst) continue
        e = c
        break
      }
    }
    if (!e) {
      this.counters.rxNoSession++
      this.rlog('nosession', `bfd: control packet from ${info.from} (your discriminator ${pkt.yourDiscr}) matches no session`)
      return
    }
    const ttl = family === 4 ? info.ttl : info.hopLimit
    if (e.inst.maxHops !== 255) {
      const min = e.inst.ttl - e.inst.maxHops
      if (ttl === undefined || ttl < min) {
        this.counters.rxTtlDropped++
        this.rlog('ttl', `bfd ${e.inst.name}: dropped a packet from ${info.from} with ${family === 4 ? 'TTL' : 'hop limit'} ${ttl ?? '?'} < ${min}`)
        return
      }
    }
    const v = e.session.receive(pkt, buf)
    if (!v.ok) {
      this.counters.rxSessionDropped++
      this.rlog('sess-' + e.inst.name, `bfd ${e.inst.name}: dropped a packet from ${info.from}: ${v.reason}`)
    }
  }

  /**
   * Publish the current state of every session to one child (it just started and knows nothing: the consumers
   * treat unknown sessions as down).
   */
  resync(to: 'vrrp' | 'check'): number {
    let n = 0
    for (const e of this.entries.values()) {
      if ((to === 'vrrp' && !e.inst.toVrrp) || (to === 'check' && !e.inst.toChecker)) continue
      const s = e.session
      this.deps.publish?.(
        {
          name: e.inst.name,
          up: s.isUp,
          state: s.stateName,
          from: s.stateName,
          diag: s.localDiag,
          diagText: DIAG_NAMES[s.localDiag] ?? String(s.localDiag),
          remoteDiag: s.remoteDiag,
          neighbor: e.inst.neighbor,
          at: this.deps.wallNow ? this.deps.wallNow() : Date.now(),
          mono: s.lastChange,
          resync: true,
        },
        [to],
      )
      n++
    }
    return n
  }

  private stateChanged(e: Entry, ev: StateChange): void {
    const up = ev.to === 'Up'
    const wasUp = ev.from === 'Up'
    const out: BfdSessionEvent = {
      name: e.inst.name,
      up,
      state: ev.to,
      from: ev.from,
      diag: ev.diag,
      diagText: DIAG_NAMES[ev.diag] ?? String(ev.diag),
      remoteDiag: ev.remoteDiag,
      neighbor: e.inst.neighbor,
      at: this.deps.wallNow ? this.deps.wallNow() : Date.now(),
      mono: ev.at,
    }
    if (up !== wasUp) {
      const to: ('vrrp' | 'check')[] = []
      if (e.inst.toVrrp) to.push('vrrp')
      if (e.inst.toChecker) to.push('check')
      this.deps.publish?.(out, to)
      this.deps.log.info(`BFD_Instance(${e.inst.name}) Entering ${up ? 'UP' : 'DOWN'} state${up ? '' : ` (${out.diagText})`}`)
    } else this.deps.log.debug(`BFD_Instance(${e.inst.name}) ${ev.from} -> ${ev.to}`)
    for (const l of this.listeners) l(out)
  }

  /** rate-limited logging (the core logger counts what it drops) */
  private rlog(key: string, msg: string): void {
    this.deps.log.limited('bfd.' + key, 'warn', msg)
  }

  dumpLines(): string[] {
    const lines = [
      ` counters ${JSON.stringify(this.counters)}`,
      ` tx lateness us ${JSON.stringify(this.txLateness.summary())}`,
      ` scheduler lateness us ${JSON.stringify(this.deps.scheduler.lateness.summary())}`,
      ` timers queued ${this.timers.size}, wake-ups ${this.timers.wakeups} (fine ${this.timers.fineWakeups}), fired ${this.timers.fired}`,
    ]
    for (const e of this.entries.values()) {
      const s = e.session
      lines.push(
        ` BFD Instance = ${e.inst.name}`,
        `   Neighbor IP = ${e.inst.neighbor}${e.inst.source ? `, Source IP = ${e.inst.source}` : ''}${e.inst.multihop ? ', multihop' : ''}`,
        `   State = ${s.stateName}, remote state = ${['AdminDown', 'Down', 'Init', 'Up'][s.remoteState]}`,
        `   Local discr = ${s.localDiscr}, remote discr = ${s.remoteDiscr}, diag = ${DIAG_NAMES[s.localDiag] ?? s.localDiag}`,
        `   Min rx/tx/idle = ${e.inst.minRxUs / 1000}/${e.inst.minTxUs / 1000}/${e.inst.idleTxUs / 1000} ms, multiplier = ${e.inst.multiplier}`,
        `   Tx interval = ${s.txIntervalMs()} ms, detection time = ${s.detectionTimeMs()} ms`,
        `   Counters ${JSON.stringify(s.counters)}`,
      )
    }
    return lines
  }

  dumpJson(): Record<string, unknown> {
    return {
      counters: { ...this.counters },
      txLatenessUs: this.txLateness.summary(),
      schedulerLatenessUs: this.deps.scheduler.lateness.summary(),
      loopLagUs: this.deps.scheduler.loopLag.summary(),
      timers: this.timerStats(),
      sessions: [...this.entries.values()].map((e) => ({ ...e.session.snapshot(), neighbor: e.inst.neighbor, multihop: e.inst.multihop })),
    }
  }

  timerStats(): { queued: number; wakeups: number; fineWakeups: number; fired: number } {
    return { queued: this.timers.size, wakeups: this.timers.wakeups, fineWakeups: this.timers.fineWakeups, fired: this.timers.fired }
  }

  clearStats(): void {
    for (const k of Object.keys(this.counters) as (keyof EngineCounters)[]) this.counters[k] = 0
    this.txLateness.reset()
  }
}

function sameTransport(a: BfdInstanceModel, b: BfdInstanceModel): boolean {
  return a.neighbor === b.neighbor && a.source === b.source && a.multihop === b.multihop && a.ttl === b.ttl && a.maxHops === b.maxHops && a.passive === b.passive
}
