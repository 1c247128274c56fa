/**
 * One BFD session in asynchronous mode (RFC 5880 §6.2, §6.8): the AdminDown / Down / Init / Up state machine,
 * discriminators, the poll / final sequence for timer changes, the detection time from the negotiated interval
 * and multiplier, and transmit jitter (§6.8.7). Demand mode and the echo function are not used.
 *
 * The session owns no socket and no clock: it is driven by `receive()` and by the timers it arms through
 * `SessionEnv.at()`, and it hands encoded packets to `SessionEnv.transmit()`. Times are milliseconds, timer
 * values on the wire are microseconds.
 */
import {
  BfdDiag,
  BfdState,
  STATE_NAMES,
  checkAuthSequence,
  encode,
  isMeticulous,
  verifyAuth,
  type AuthKey,
  type AuthSeqState,
  type ControlPacket,
  type StateName,
} from './codec/packet.js'

export interface SessionTimer {
  cancel(): void
}

export interface SessionEnv {
  /** monotonic milliseconds */
  now(): number
  /**
   * run `fn` at the absolute time `deadlineMs`; a transmission may run up to `earlyMs` before it (the session
   * keeps the jitter range so that the interval still stays within 75..100 % of the negotiated one)
   */
  at(what: 'tx' | 'detect', deadlineMs: number, fn: () => void, earlyMs?: number): SessionTimer
  /** how early the timer source may run a transmission (batching); default 0 */
  readonly txEarlyMs?: number
  /** how late the timer source typically runs a transmission; planned intervals leave that much room; default 0 */
  readonly txLateMarginMs?: number
  /** send one encoded control packet to the peer */
  transmit(bytes: Buffer): void
  /** state changes (after the change is applied) */
  onStateChange?(ev: StateChange): void
  /** 0 <= x < 1; default Math.random */
  random?(): number
  /** how late a periodic transmission fired against its planned time (ms) */
  onTxLateness?(lateMs: number): void
}

export interface StateChange {
  readonly from: StateName
  readonly to: StateName
  readonly diag: number
  readonly remoteDiag: number
  readonly at: number
}

export interface SessionTimers {
  /** required min RX interval (us) */
  readonly minRxUs: number
  /** desired min TX interval while Up (us) */
  readonly minTxUs: number
  /** desired min TX interval while not Up (us) */
  readonly idleTxUs: number
  readonly detectMult: number
}

export interface SessionConfig extends SessionTimers {
  readonly name: string
  readonly localDiscr: number
  /** RFC 5880 §6.1 passive role: do not send until the peer has been heard */
  readonly passive?: boolean
  readonly auth?: AuthKey
  /** start in AdminDown */
  readonly adminDown?: boolean
}

export type ReceiveVerdict = { ok: true } | { ok: false; reason: string }

export interface SessionCounters {
  rx: number
  tx: number
  rxDropped: number
  authFailures: number
  polls: number
  finals: number
  ups: number
  downs: number
}

/**
 * How early and how late (fractions of the interval) a transmission may run: each at most 10 %, and together no
 * more than the room the RFC leaves (25 %, or 15 % with a detect multiplier of 1), scaled down if needed.
 */
export function txWindows(detectMult: number, earlyFrac: number, lateFrac: number): { early: number; late: number } {
  let e = Math.min(Math.max(earlyFrac, 0), 0.1)
  let l = Math.min(Math.max(lateFrac, 0), 0.1)
  const room = detectMult === 1 ? 0.15 : 0.25
  if (e + l > room) {
    const k = room / (e + l)
    e *= k
    l *= k
  }
  return { early: e, late: l }
}

/**
 * RFC 5880 §6.8.7: reduce by 0..25 %, and with a detect multiplier of 1 send at 75..90 % of the interval.
 * `earlyFrac` is how early, as a fraction of the interval, the timer may fire and `lateFrac` the lateness to
 * leave room for (see `txWindows`): the planned interval is kept inside [75 % + early, 100 % - late] (90 % with a
 * multiplier of 1) so that the actual one stays within the RFC's range.
 */
export function jitteredInterval(intervalMs: number, detectMult: number, r: number, earlyFrac = 0, lateFrac = 0): number {
  const { early: e, late: l } = txWindows(detectMult, earlyFrac, lateFrac)
  const top = (detectMult === 1 ? 0.9 : 1) - l
  return intervalMs * (top - (top - 0.75 - e) * r)
}

export class BfdSession {
  readonly name: string
  readonly localDiscr: number
  private cfg: SessionConfig
  private env: SessionEnv
  private rand: () => number

  state: BfdState
  remoteState: BfdState = BfdState.Down
  remoteDiscr = 0
  localDiag: number = BfdDiag.None
  remoteDiag = 0
  /** what we advertise */
  desiredMinTx: number
  requiredMinRx: number
  /** what we use: the tx interval floor and the rx interval in the detection time (changed by poll/final) */
  txInUse: number
  rxInUse: number
  remoteMinRx = 1
  remoteDesiredMinTx = 0
  remoteDetectMult = 0
  pollActive = false
  private pollPending = false
  private heard = false
  private authSeq: AuthSeqState = { known: false, last: 0 }
  private xmitSeq: number
  private txTimer?: SessionTimer
  private txDeadline = 0
  private lastTxPlanned = 0
  private detectTimer?: SessionTimer
  private detectDeadline = 0
  private detectTimerAt = 0
  private started = false
  lastChange = 0
  /** when the last valid packet arrived (ms) */
  lastRxAt = 0
  readonly counters: SessionCounters = { rx: 0, tx: 0, rxDropped: 0, authFailures: 0, polls: 0, finals: 0, ups: 0, downs: 0 }

  constructor(cfg: SessionConfig, env: SessionEnv) {
    if (cfg.localDiscr === 0) throw new RangeError('local discriminator must not be 0')
    this.name = cfg.name
    this.localDiscr = cfg.localDiscr >>> 0
    this.cfg = cfg
    this.env = env
    this.rand = env.random ?? Math.random
    this.state = cfg.adminDown ? BfdState.AdminDown : BfdState.Down
    this.localDiag = cfg.adminDown ? BfdDiag.AdministrativelyDown : BfdDiag.None
    this.desiredMinTx = this.idleTx()
    this.requiredMinRx = cfg.minRxUs
    this.txInUse = this.desiredMinTx
    this.rxInUse = this.requiredMinRx
    this.xmitSeq = Math.floor(this.rand() * 0xffffffff) >>> 0
  }

  get stateName(): StateName {
    return STATE_NAMES[this.state]
  }
  get config(): SessionConfig {
    return this.cfg
  }
  get isUp(): boolean {
    return this.state === BfdState.Up
  }

  /** not Up: at least the idle interval (RFC 5880 §6.8.3 wants >= 1 s; keepalived's idle_tx default is 1 s) */
  private idleTx(): number {
    return Math.max(this.cfg.idleTxUs, this.cfg.minTxUs)
  }

  /** the periodic transmission interval in ms, or 0 when we must not transmit periodically */
  txIntervalMs(): number {
    if (this.remoteMinRx === 0) return 0
    return Math.max(this.txInUse, this.remoteMinRx) / 1000
  }

  /** detection time in ms (asynchronous mode): the remote multiplier times the agreed remote tx interval */
  detectionTimeMs(): number {
    const mult = this.remoteDetectMult || this.cfg.detectMult
    return (mult * Math.max(this.rxInUse, this.remoteDesiredMinTx)) / 1000
  }

  start(): void {
    if (this.started) return
    this.started = true
    this.scheduleTx(true)
  }

  stop(): void {
    this.started = false
    this.txTimer?.cancel()
    this.detectTimer?.cancel()
    this.txTimer = undefined
    this.detectTimer = undefined
  }

  private mayTransmit(): boolean {
    if (!this.started) return false
    if (this.cfg.passive && !this.heard) return false
    return this.txIntervalMs() > 0
  }

  /** (re)arm the periodic transmission: `fresh` starts from now, else keeps the current schedule if it is sooner */
  private scheduleTx(fresh: boolean): void {
    if (!this.mayTransmit()) {
      this.txTimer?.cancel()
      this.txTimer = undefined
      return
    }
    const now = this.env.now()
    const iv = this.nextInterval()
    let deadline: number
    if (fresh || !this.txTimer) deadline = this.txTimer ? now + iv : now
    else {
      deadline = Math.max(now, this.lastTxPlanned + iv)
      if (deadline >= this.txDeadline) return // the current schedule is already sooner
    }
    this.armTx(deadline)
  }

  private windows(): { early: number; late: number } {
    const iv = this.txIntervalMs()
    if (iv <= 0) return { early: 0, late: 0 }
    return txWindows(this.cfg.detectMult, (this.env.txEarlyMs ?? 0) / iv, (this.env.txLateMarginMs ?? 0) / iv)
  }

  private txEarlyMs(): number {
    return this.windows().early * this.txIntervalMs()
  }

  private nextInterval(): number {
    const iv = this.txIntervalMs()
    if (iv <= 0) return 0
    const w = this.windows()
    return jitteredInterval(iv, this.cfg.detectMult, this.rand(), w.early, w.late)
  }

  private armTx(deadline: number): void {
    this.txTimer?.cancel()
    this.txDeadline = deadline
    this.txTimer = this.env.at('tx', deadline, () => this.onTxTimer(), this.txEarlyMs())
  }

  private onTxTimer(): void {
    this.txTimer = undefined
    if (!this.mayTransmit()) return
    const now = this.env.now()
    this.env.onTxLateness?.(now - this.txDeadline)
    // the next interval counts from the actual transmission, so an early (batched) or late send never makes
    // the gap between two packets leave 75..100 % of the negotiated interval
    this.lastTxPlanned = now
    this.send(this.pollActive, false)
    this.armTx(now + this.nextInterval())
  }

  private send(poll: boolean, final: boolean): void {
    const pkt: ControlPacket = {
      diag: this.localDiag,
      state: this.state,
      poll,
      final,
      cpi: false,
      demand: false,
      detectMult: this.cfg.detectMult,
      myDiscr: this.localDiscr,
      yourDiscr: this.remoteDiscr,
      desiredMinTx: this.desiredMinTx,
      requiredMinRx: this.requiredMinRx,
      requiredMinEchoRx: 0,
    }
    const key = this.cfg.auth
    let seq = 0
    if (key && key.type !== 1) {
      // keyed and meticulous: a new number for every packet (allowed for keyed, required for meticulous)
      this.xmitSeq = (this.xmitSeq + 1) >>> 0
      seq = this.xmitSeq
    }
    this.counters.tx++
    this.env.transmit(encode(pkt, key, seq))
  }

  /**
   * Push the detection deadline forward. The timer is not re-armed on every packet: when it fires early it
   * re-arms itself at the current deadline (one timer per detection period instead of one per packet).
   */
  private armDetect(): void {
    this.detectDeadline = this.env.now() + this.detectionTimeMs()
    if (this.detectTimer && this.detectTimerAt <= this.detectDeadline) return
    this.detectTimer?.cancel()
    this.detectTimerAt = this.detectDeadline
    this.detectTimer = this.env.at('detect', this.detectDeadline, () => this.onDetectCheck())
  }

  private onDetectCheck(): void {
    this.detectTimer = undefined
    if (this.env.now() < this.detectDeadline) {
      this.detectTimerAt = this.detectDeadline
      this.detectTimer = this.env.at('detect', this.detectDeadline, () => this.onDetectCheck())
      return
    }
    this.onDetectTimer()
  }

  private onDetectTimer(): void {
    this.detectTimer = undefined
    if (this.state === BfdState.Init || this.state === BfdState.Up) {
      this.setState(BfdState.Down, BfdDiag.ControlDetectionTimeExpired)
    }
    // §6.8.1: forget the peer; a passive system goes silent again until it hears from it
    this.remoteDiscr = 0
    this.remoteState = BfdState.Down
    this.remoteMinRx = 1
    this.remoteDesiredMinTx = 0
    this.remoteDetectMult = 0
    this.authSeq = { known: false, last: 0 }
    if (this.cfg.passive) this.heard = false
    this.scheduleTx(false)
  }

  /**
   * A decoded packet demultiplexed to this session (its raw bytes for the authentication check).
   * Applies RFC 5880 §6.8.6 from "If the A bit is set" on.
   */
  receive(pkt: ControlPacket, raw?: Uint8Array): ReceiveVerdict {
    if (pkt.yourDiscr !== 0 && pkt.yourDiscr >>> 0 !== this.localDiscr) return this.drop('your discriminator is not ours')
    const key = this.cfg.auth
    if (key || pkt.auth) {
      if (!raw) return this.drop('no raw bytes to authenticate')
      const v = verifyAuth(raw, pkt, key)
      if (!v.ok) {
        this.counters.authFailures++
        return this.drop(v.reason)
      }
      if (pkt.auth && 'sequence' in pkt.auth) {
        const s = checkAuthSequence(this.authSeq, pkt.auth.sequence, isMeticulous(pkt.auth.type), pkt.detectMult)
        if (!s.ok) {
          this.counters.authFailures++
          return this.drop(s.reason)
        }
        this.authSeq = s.state
      }
    }
    this.counters.rx++
    this.lastRxAt = this.env.now()
    this.remoteDiscr = pkt.myDiscr >>> 0
    this.remoteState = pkt.state
    this.remoteDiag = pkt.diag
    this.remoteDesiredMinTx = pkt.desiredMinTx
    this.remoteDetectMult = pkt.detectMult
    const prevRemoteMinRx = this.remoteMinRx
    this.remoteMinRx = pkt.requiredMinRx
    const firstHeard = !this.heard
    this.heard = true

    if (pkt.final && this.pollActive) this.finishPoll()

    if (this.state === BfdState.AdminDown) return { ok: true }

    if (pkt.state === BfdState.AdminDown) {
      if (this.state !== BfdState.Down) this.setState(BfdState.Down, BfdDiag.NeighborSignaledSessionDown)
    } else if (this.state === BfdState.Down) {
      if (pkt.state === BfdState.Down) this.setState(BfdState.Init, this.localDiag)
      else if (pkt.state === BfdState.Init) this.setState(BfdState.Up, BfdDiag.None)
    } else if (this.state === BfdState.Init) {
      if (pkt.state === BfdState.Init || pkt.state === BfdState.Up) this.setState(BfdState.Up, BfdDiag.None)
    } else if (pkt.state === BfdState.Down) {
      this.setState(BfdState.Down, BfdDiag.NeighborSignaledSessionDown)
    }

    this.armDetect()
    if (pkt.poll) {
      this.counters.finals++
      this.send(false, true)
    }
    if (firstHeard || prevRemoteMinRx !== this.remoteMinRx) this.scheduleTx(firstHeard && !this.txTimer)
    return { ok: true }
  }

  private drop(reason: string): ReceiveVerdict {
    this.counters.rxDropped++
    return { ok: false, reason }
  }

  private setState(to: BfdState, diag: number): void {
    const from = this.state
    if (from === to) return
    this.state = to
    this.localDiag = diag
    this.lastChange = this.env.now()
    if (to === BfdState.Up) {
      this.counters.ups++
      this.changeTimers(this.cfg.minTxUs, this.cfg.minRxUs)
    } else if (from === BfdState.Up || to === BfdState.Down || to === BfdState.AdminDown) {
      if (from === BfdState.Up) this.counters.downs++
      // not Up: slow transmission, no poll needed (§6.8.3), any poll in progress is abandoned
      this.pollActive = false
      this.pollPending = false
      this.desiredMinTx = this.idleTx()
      this.txInUse = this.desiredMinTx
      this.requiredMinRx = this.cfg.minRxUs
      this.rxInUse = this.requiredMinRx
      this.scheduleTx(false)
    }
    // like FRR: tell the peer about Init at once rather than at the next (slow, not-Up) periodic time
    if (to === BfdState.Init && this.mayTransmit()) this.armTx(this.env.now())
    this.env.onStateChange?.({ from: STATE_NAMES[from], to: STATE_NAMES[to], diag, remoteDiag: this.remoteDiag, at: this.lastChange })
  }

  /**
   * Change what we advertise. Up: a poll sequence; a faster tx or a slower rx takes effect at once, a slower
   * tx or a faster rx (a shorter detection time) only when the peer's Final arrives (§6.8.3).
   */
  private changeTimers(desiredTx: number, requiredRx: number): void {
    const changed = desiredTx !== this.desiredMinTx || requiredRx !== this.requiredMinRx
    this.desiredMinTx = desiredTx
    this.requiredMinRx = requiredRx
    if (this.state !== BfdState.Up) {
      this.txInUse = desiredTx
      this.rxInUse = requiredRx
      this.scheduleTx(false)
      return
    }
    if (desiredTx < this.txInUse) this.txInUse = desiredTx
    if (requiredRx > this.rxInUse) this.rxInUse = requiredRx
    if (changed) this.startPoll()
    this.scheduleTx(false)
  }

  private startPoll(): void {
    if (this.pollActive) {
      this.pollPending = true
      return
    }
    this.pollActive = true
    this.counters.polls++
    // the first packet of the sequence goes out now rather than at the next periodic time
    if (this.mayTransmit()) this.send(true, false)
  }

  private finishPoll(): void {
    this.pollActive = false
    const txWas = this.txInUse
    this.txInUse = this.desiredMinTx
    this.rxInUse = this.requiredMinRx
    if (this.detectTimer && this.state !== BfdState.AdminDown) {
      // the detection time may have become shorter: re-arm from the last packet
      this.detectTimer.cancel()
      this.detectTimer = undefined
      this.armDetect()
    }
    if (this.txInUse !== txWas) this.scheduleTx(false)
    if (this.pollPending) {
      this.pollPending = false
      this.startPoll()
    }
  }

  /** new configured timers (reload or an operator change) */
  setTimers(t: Partial<SessionTimers>): void {
    this.cfg = { ...this.cfg, ...t }
    if (this.state === BfdState.Up) this.changeTimers(this.cfg.minTxUs, this.cfg.minRxUs)
    else this.changeTimers(this.idleTx(), this.cfg.minRxUs)
  }

  adminDown(): void {
    if (this.state === BfdState.AdminDown) return
    this.setState(BfdState.AdminDown, BfdDiag.AdministrativelyDown)
    this.detectTimer?.cancel()
    this.detectTimer = undefined
    if (this.started) this.send(false, false)
  }

  adminUp(): void {
    if (this.state !== BfdState.AdminDown) return
    this.setState(BfdState.Down, BfdDiag.None)
  }

  snapshot(): Record<string, unknown> {
    return {
      name: this.name,
      state: this.stateName,
      remoteState: STATE_NAMES[this.remoteState],
      localDiscr: this.localDiscr,
      remoteDiscr: this.remoteDiscr,
      localDiag: this.localDiag,
      remoteDiag: this.remoteDiag,
      desiredMinTxUs: this.desiredMinTx,
      requiredMinRxUs: this.requiredMinRx,
      remoteMinRxUs: this.remoteMinRx,
      remoteDesiredMinTxUs: this.remoteDesiredMinTx,
      remoteDetectMult: this.remoteDetectMult,
      txIntervalMs: this.txIntervalMs(),
      detectionTimeMs: this.detectionTimeMs(),
      pollActive: this.pollActive,
      counters: { ...this.counters },
    }
  }
}
