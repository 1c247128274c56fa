import type { Checker, CheckerSpec, CheckOutcome } from '@kad/core'
import { specKey, type FastChecker, type SocketPlace } from '@kad/plugin-checkers'
import { streams, streamTarget, type StreamHandler, type StreamTarget, type StreamTargetInput } from '@kad/native'
import { TYPE } from './plugin.js'

export { default, PLUGIN_NAME, TYPE } from './plugin.js'

/**
 * The native stream target of a check: connect_ip/port, bindto, bind_port, bind_if (SO_BINDTODEVICE), fwmark
 * (SO_MARK), in the namespace of `place` (net_namespace, or a test's `netns` plugin option); `how` adds what the
 * engine does with the connection (delayAck, resetOnConnect, request).
 */
export function checkTarget(spec: CheckerSpec, how: Pick<StreamTargetInput, 'delayAck' | 'resetOnConnect' | 'request'> = {}, place: SocketPlace = {}): StreamTarget {
  return streamTarget({ ...spec.target, ...how, ...(place.netns ? { netns: place.netns } : {}) })
}

const OK: CheckOutcome = Object.freeze({ ok: true })

/**
 * TCP_CHECK: the check passes when a TCP connection completes; it is closed at once with a reset (as HAProxy's
 * TCP check does: no FIN handshake or TIME_WAIT on either side). One attempt is a non-blocking connect on the
 * native stream engine, which resets the connection itself as soon as it completes and then reports it: no node
 * stream, no per-check timer (the framework's deadline cancels the attempt).
 */
export class TcpChecker implements Checker, FastChecker, StreamHandler {
  readonly type = TYPE
  private lastError = ''
  private target: StreamTarget | undefined
  private targetError = ''
  /** the attempt in flight (its connection) */
  private conn = -1
  private signal: AbortSignal | undefined
  private settle: ((o: CheckOutcome) => void) | undefined
  private readonly onAbort = () => this.end(-1, 'aborted')
  private readonly executor = (resolve: (o: CheckOutcome) => void) => {
    this.settle = resolve
  }

  constructor(
    readonly spec: CheckerSpec,
    place: SocketPlace = {},
  ) {
    try {
      this.target = checkTarget(spec, { delayAck: true, resetOnConnect: true }, place)
    } catch (e) {
      this.targetError = (e as Error).message
    }
  }

  /** the check framework's fast path (plugins/checkers probe.ts FastChecker): no signal, no promise */
  checkFast(done: (o: CheckOutcome) => void): void {
    if (this.settle) this.end(-1, 'superseded by a new attempt')
    if (!this.target) return done(this.fail(this.targetError))
    this.settle = done
    this.conn = streams().open(this.target, this)
  }

  /** the framework's hard deadline or stop: close now, never call `done` */
  cancelCheck(): void {
    this.settle = undefined
    this.end(-1, 'cancelled')
  }

  check(signal: AbortSignal): Promise<CheckOutcome> {
    if (this.settle) this.end(-1, 'superseded by a new attempt')
    if (signal.aborted) return Promise.resolve(this.fail('aborted'))
    if (!this.target) return Promise.resolve(this.fail(this.targetError))
    this.conn = streams().open(this.target, this)
    this.signal = signal
    signal.addEventListener('abort', this.onAbort, { once: true })
    return new Promise(this.executor)
  }

  /** StreamHandler: the connect finished (and the engine has reset the connection), or could not start */
  onConnect(err: string | undefined): void {
    this.conn = -1
    this.end(err === undefined ? 0 : 1, err ?? '')
  }

  /** close the attempt; how: 0 connected, 1 connect failed, -1 aborted / superseded */
  private end(how: number, err: string): void {
    const settle = this.settle
    if (this.conn >= 0) streams().close(this.conn, true)
    this.conn = -1
    this.signal?.removeEventListener('abort', this.onAbort)
    this.signal = this.settle = undefined
    if (settle) settle(how === 0 ? OK : this.fail(err))
  }

  private fail(err: string): CheckOutcome {
    this.lastError = err
    return { ok: false, reason: `TCP connect to [${this.spec.target.address}]:${this.spec.target.port} failed: ${err}` }
  }

  compare(spec: CheckerSpec): boolean {
    return spec.type === TYPE && specKey(spec, false) === specKey(this.spec, false)
  }
  key(): string {
    return specKey(this.spec, false)
  }
  dump(): Record<string, unknown> {
    return { target: `[${this.spec.target.address}]:${this.spec.target.port}`, ...(this.lastError ? { lastError: this.lastError } : {}) }
  }
  stop(): void {
    if (this.settle || this.conn >= 0) this.end(-1, 'stopped')
  }
}
