import type { Checker, CheckerSpec, CheckOutcome } from '@kad/core'
import { specKey, type SocketPlace } from '@kad/plugin-checkers'
import { streams, streamTarget, type StreamHandler, type StreamTarget } from '@kad/native'
import { decodeReply, nextCommand, type SmtpStep } from './codec.js'
import { DEFAULT_HELO, TYPE, type SmtpOptions } from './plugin.js'

export { default, PLUGIN_NAME, TYPE, DEFAULT_HELO, type SmtpOptions } from './plugin.js'
export * from './codec.js'

/**
 * SMTP_CHECK: connect, 2xx banner, HELO, 2xx, QUIT — a bounded state machine over one TCP connection on
 * @kad/native's stream engine, so the real server's `bind_if` (SO_BINDTODEVICE) and `fwmark` (SO_MARK) apply as
 * for TCP_CHECK. The handshake completes at once (the server speaks first); the connection is reset at the end.
 */
export class SmtpChecker implements Checker {
  readonly type = TYPE
  private lastStep = ''
  private readonly target: StreamTarget | undefined
  private readonly targetError: string = ''
  constructor(
    readonly spec: CheckerSpec,
    place: SocketPlace = {},
  ) {
    try {
      this.target = streamTarget({ ...spec.target, ...(place.netns ? { netns: place.netns } : {}) })
    } catch (e) {
      this.targetError = (e as Error).message
    }
  }
  check(signal: AbortSignal): Promise<CheckOutcome> {
    const helo = (this.spec.options as SmtpOptions).heloName ?? DEFAULT_HELO
    return new Promise((resolve) => {
      let done = false
      let step: SmtpStep = 'banner'
      let buf: Buffer = Buffer.alloc(0)
      let conn = -1
      const finish = (o: CheckOutcome) => {
        if (done) return
        done = true
        this.lastStep = step
        signal.removeEventListener('abort', onAbort)
        streams().close(conn, true)
        resolve(o)
      }
      const onAbort = () => finish({ ok: false, reason: `SMTP timeout in ${step}` })
      const handler: StreamHandler = {
        onConnect: (err) => {
          if (err !== undefined) return finish({ ok: false, reason: `SMTP ${step}: ${err}` })
          const r = streams().read(conn)
          if (r !== undefined) finish({ ok: false, reason: `SMTP ${step}: ${r}` })
        },
        onError: (err) => finish({ ok: false, reason: `SMTP ${step}: ${err}` }),
        onEnd: () => finish({ ok: false, reason: `SMTP connection closed in ${step}` }),
        onData: (d) => {
          // the engine's bytes are valid during this call only: what is kept is a copy
          buf = buf.length ? Buffer.concat([buf, d]) : Buffer.from(d)
          for (;;) {
            const v = decodeReply(buf)
            if (!v.ok) {
              if (v.incomplete) return
              finish({ ok: false, reason: `SMTP ${step}: ${v.reason}` })
              return
            }
            buf = buf.subarray(v.consumed)
            const n = nextCommand(step, v.reply, helo)
            if (!n.ok) return finish({ ok: false, reason: `SMTP ${n.reason}` })
            if (n.done) return finish({ ok: true })
            if (n.send) {
              const out = Buffer.from(n.send)
              const sent = streams().send(conn, out)
              if (sent !== out.length) return finish({ ok: false, reason: `SMTP ${step}: ${typeof sent === 'string' ? sent : 'short write'}` })
            }
            if (n.next) step = n.next
          }
        },
      }
      if (signal.aborted) return finish({ ok: false, reason: `SMTP timeout in ${step}` })
      if (!this.target) return finish({ ok: false, reason: `SMTP ${step}: ${this.targetError}` })
      conn = streams().open(this.target, handler)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
  compare(spec: CheckerSpec): boolean {
    return spec.type === TYPE && specKey(spec) === this.key()
  }
  key(): string {
    return specKey(this.spec)
  }
  dump(): Record<string, unknown> {
    return { helo: (this.spec.options as SmtpOptions).heloName ?? DEFAULT_HELO, lastStep: this.lastStep }
  }
}
