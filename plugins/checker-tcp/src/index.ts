import type { Checker, CheckerSpec, CheckOutcome } from '@kad/core'
import { specKey, type FastChecker, type SocketPlace } from '@kad/plugin-checkers'
import { streams, streamTarget, type StreamHandler, type StreamTarget } from '@kad/native'
import { TYPE } from './plugin.js'

export { default, PLUGIN_NAME, TYPE } from './plugin.js'

/**
 * The native stream target of a check: connect_ip/port, bindto, bind_port, bind_if (SO_BINDTODEVICE), fwmark
 * (SO_MARK), in the namespace of `place` (net_namespace, or a test's `netns` plugin option).
 */
export function checkTarget(spec: CheckerSpec, delayAck = false, place: SocketPlace = {}): StreamTarget {
  return streamTarget({ ...spec.target, delayAck, ...(place.netns ? { netns: place.netns } : {}) })
}

const OK: CheckOutcome = Object.freeze({ ok: true })

/**
 * TCP_CHECK: the check passes when a TCP connection completes; it is closed at once with a reset (as HAProxy's
 * TCP check does: no FIN handshake or TIME_WAIT on either side). One attempt is a non-blocking connect on the
 * native stream engine (socket, connect, one epoll readiness, SO_ERROR, close): no node stream, no per-check
 * timer (the framework's deadline aborts the signal).
 */
export class TcpChecker implements Checker, FastChecker, StreamHandler {
  readonly type = TYPE
  private lastError = ''
  private target: StreamTarget | undefined
  private targetError = ''
  /** the attempt in flight */
  private fd = -1
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
      this.target = checkTarget(spec, true, place)
    } catch (e) {
      this.targetError = (e as Error).message
    }
  }

  /** the check framework's fast path (plugins/checkers probe.ts FastChecker): no signal, no promise */
  checkFast(done: (o: CheckOutcome) => void): void {
    if (this.settle) this.end(-1, 'superseded by a new attempt')
    if (!this.target) return done(this.fail(this.targetError))
    const fd = streams().open(this.target, this)
    if (typeof fd === 'string') return done(this.fail(fd))
    this.fd = fd
    this.settle = done
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
    const fd = streams().open(this.target, this)
    if (typeof fd === 'string') return Promise.resolve(this.fail(fd))
    this.fd = fd
    this.signal = signal
    signal.addEventListener('abort', this.onAbort, { once: true })
    return new Promise(this.executor)
  }

  /** StreamHandler: the connect finished */
  onConnect(err: string | undefined): void {
    this.end(err === undefined ? 0 : 1, err ?? '')
  }

  /** close the attempt; how: 0 connected, 1 connect failed, -1 aborted / superseded */
  private end(how: number, err: string): void {
    const settle = this.settle
    if (this.fd >= 0) streams().close(this.fd, true)
    this.fd = -1
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
    if (this.settle || this.fd >= 0) this.end(-1, 'stopped')
  }
}
