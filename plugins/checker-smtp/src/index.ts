import { definePlugin, HOST_API_VERSION, type Checker, type CheckerSpec, type CheckOutcome } from '@kad/core'
import { checkerBlock, installCommonCheckerKeywords, realServerOf, specKey, type CheckerBlockModel } from '@kad/plugin-checkers'
import { connect } from 'node:net'
import { decodeReply, nextCommand, type SmtpStep } from './codec.js'

export const PLUGIN_NAME = 'checker-smtp'
export const TYPE = 'SMTP_CHECK'
const hostUsed = new WeakSet<CheckerBlockModel>()
export const DEFAULT_HELO = 'smtpchecker.keepalived.org'
export * from './codec.js'

export interface SmtpOptions {
  heloName?: string
}

/** SMTP_CHECK: connect, 2xx banner, HELO, 2xx, QUIT — a bounded state machine over one TCP connection */
export class SmtpChecker implements Checker {
  readonly type = TYPE
  private lastStep = ''
  constructor(readonly spec: CheckerSpec) {}
  check(signal: AbortSignal): Promise<CheckOutcome> {
    const t = this.spec.target
    const helo = (this.spec.options as SmtpOptions).heloName ?? DEFAULT_HELO
    return new Promise((resolve) => {
      let done = false
      let step: SmtpStep = 'banner'
      let buf: Buffer = Buffer.alloc(0)
      const sock = connect({
        host: t.address,
        port: t.port,
        family: t.family,
        ...(t.bindTo !== undefined ? { localAddress: t.bindTo } : {}),
        ...(t.bindPort !== undefined ? { localPort: t.bindPort } : {}),
      })
      const finish = (o: CheckOutcome) => {
        if (done) return
        done = true
        this.lastStep = step
        signal.removeEventListener('abort', onAbort)
        sock.destroy()
        resolve(o)
      }
      const onAbort = () => finish({ ok: false, reason: `SMTP timeout in ${step}` })
      signal.addEventListener('abort', onAbort, { once: true })
      sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, reason: `SMTP ${step}: ${e.code ?? e.message}` }))
      sock.on('close', () => finish({ ok: false, reason: `SMTP connection closed in ${step}` }))
      sock.on('data', (d: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d
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
          if (n.send) sock.write(n.send)
          if (n.next) step = n.next
        }
      })
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

export default definePlugin({
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'SMTP_CHECK' },
  register(ctx) {
    ctx.keywords.extend('virtual_server/real_server', (b) =>
      b.block(
        TYPE,
        checkerBlock(TYPE, {
          children: (cb) => {
            cb.keyword('helo_name', (k, c) => {
              const v = k.string(0, 'name')
              if (v !== undefined) (c.options as SmtpOptions).heloName = v
            })
            // deprecated `host { connect_ip … }`: the first applies to the check itself, each further one is
            // another SMTP_CHECK with the same settings (keepalived 2.x converts them the same way)
            cb.block<CheckerBlockModel>(
              'host',
              {
                open: (k, c) => {
                  k.deprecated('SMTP_CHECK host block is deprecated', 'use one SMTP_CHECK per host')
                  if (!hostUsed.has(c)) {
                    hostUsed.add(c)
                    return c
                  }
                  const rs = realServerOf(c)
                  const { connectIp: _i, connectPort: _p, bindTo: _b, bindPort: _bp, bindIf: _bi, ...timing } = c.common
                  const extra: CheckerBlockModel = { type: TYPE, common: { ...timing }, options: { ...c.options }, loc: c.loc }
                  rs?.checkers.push(extra)
                  return extra
                },
                children: (hb) => installCommonCheckerKeywords(hb),
              },
            )
          },
        }),
      ),
    )
    ctx.hooks.createChecker.for(TYPE).tap(PLUGIN_NAME, (spec) => new SmtpChecker(spec))
  },
})
