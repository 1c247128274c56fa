import { hostname, userInfo } from 'node:os'
import { createRequire } from 'node:module'
import type { Transporter } from 'nodemailer'
import type Nodemailer from 'nodemailer'

// nodemailer (about 50 ms of CPU to import) is loaded when the first mail goes out, not when the plugin loads
const require = createRequire(import.meta.url)
let nodemailerModule: typeof Nodemailer | undefined
const nodemailer = (): typeof Nodemailer => (nodemailerModule ??= require('nodemailer') as typeof Nodemailer)
import { BoundedQueue, type Clock, type Logger } from '@kad/core'
import type { SmtpSection } from './config.js'

export interface Mail {
  readonly subject: string
  readonly body: string
  /** wall-clock ms of the event (the Date header) */
  readonly time: number
}

export interface SenderOptions {
  /** first retry delay; doubles per failed attempt up to retryMaxMs */
  readonly retryBaseMs: number
  readonly retryMaxMs: number
  /** mails waiting; when full, the oldest waiting mail is dropped (the latest transitions matter most) */
  readonly queueMaxItems: number
  readonly queueMaxBytes: number
}

export const SENDER_DEFAULTS: SenderOptions = Object.freeze({ retryBaseMs: 1000, retryMaxMs: 300_000, queueMaxItems: 256, queueMaxBytes: 256 * 1024 })

export interface SenderStats {
  queued: number
  sent: number
  /** refused by the server for good (5xx): not retried */
  failed: number
  /** dropped because the queue was full */
  dropped: number
  retries: number
  lastError?: string
}

/** keepalived's default sender: the running user at the host name */
export function defaultFrom(): string {
  let user = 'root'
  try {
    user = userInfo().username
  } catch {
    /* no passwd entry */
  }
  return `${user}@${hostname()}`
}

/** a server answer that retrying will not change (5xx on MAIL/RCPT/DATA), as opposed to a connection problem */
function permanent(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string }
  return typeof e?.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600 && e.code !== 'ECONNECTION' && e.code !== 'ETIMEDOUT'
}

/**
 * Sends alert mails one at a time, in order, from a bounded queue. While the server is unreachable the mail at
 * the head is retried with exponential backoff (retryBaseMs doubling to retryMaxMs); the caller never waits: `enqueue` is
 * synchronous and everything else happens on timers and socket events.
 */
export class MailSender {
  private readonly queue: BoundedQueue<Mail>
  private current: Mail | undefined
  private transport: Transporter | undefined
  private cfg: SmtpSection | undefined
  private sending = false
  private retryTimer: unknown
  private attempt = 0
  private stopped = false
  private idleWaiters: (() => void)[] = []
  readonly counters: SenderStats = { queued: 0, sent: 0, failed: 0, dropped: 0, retries: 0 }

  constructor(
    private readonly deps: { log: Logger; clock: Clock },
    private readonly opts: SenderOptions = SENDER_DEFAULTS,
  ) {
    this.queue = new BoundedQueue<Mail>({
      name: 'smtp-alerts',
      maxItems: opts.queueMaxItems,
      maxBytes: opts.queueMaxBytes,
      sizeOf: (m) => 64 + m.subject.length + m.body.length,
      policy: 'drop-oldest',
      onDrop: (m) => {
        if (this.stopped) return // stop() discards what is left; that is reported once there
        this.counters.dropped++
        this.deps.log.limited('smtp:dropped', 'warn', `SMTP alert queue full: dropped "${m.subject}"`, { dropped: this.counters.dropped })
      },
    })
  }

  /** (re)configure; a changed server or credentials takes effect from the next mail */
  configure(cfg: SmtpSection): void {
    const prev = this.cfg
    this.cfg = cfg
    if (prev && this.transport && JSON.stringify(transportOptions(prev)) !== JSON.stringify(transportOptions(cfg))) {
      this.transport.close()
      this.transport = undefined
    }
    this.stopped = false
  }

  get configured(): boolean {
    return !!this.cfg?.server && this.cfg.emails.length > 0
  }

  enqueue(mail: Mail): void {
    if (this.stopped || !this.configured) return
    this.queue.push(mail)
    this.kick()
  }

  stats(): SenderStats {
    return { ...this.counters, queued: this.queue.length + (this.current ? 1 : 0) }
  }

  /** resolves when nothing is queued or being sent (a retry wait counts as busy) */
  idle(): Promise<void> {
    if (!this.current && this.queue.isEmpty && !this.sending) return Promise.resolve()
    return new Promise((r) => this.idleWaiters.push(r))
  }

  /** send what is queued for up to `graceMs`, then drop the rest and close */
  async stop(graceMs: number): Promise<void> {
    if (!this.stopped && (this.current || !this.queue.isEmpty)) {
      if (this.retryTimer === undefined) this.kick()
      let t: unknown
      await Promise.race([this.idle(), new Promise<void>((r) => (t = this.deps.clock.setTimeout(r, graceMs)))])
      this.deps.clock.clearTimeout(t)
    }
    this.stopped = true
    if (this.retryTimer !== undefined) this.deps.clock.clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    const left = this.queue.length + (this.current ? 1 : 0)
    if (left > 0) this.deps.log.warn(`stopping with ${left} SMTP alert(s) unsent`)
    this.queue.clear()
    this.current = undefined
    this.transport?.close()
    this.transport = undefined
    this.wakeIdle()
  }

  private kick(): void {
    if (this.sending || this.retryTimer !== undefined || this.stopped) return
    this.sending = true
    this.deps.clock.setImmediate(() => void this.loop())
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.current ??= this.queue.shift()
      const mail = this.current
      if (!mail) break
      try {
        await this.send(mail)
        if (this.current === mail) this.current = undefined
        this.counters.sent++
        this.attempt = 0
        this.deps.log.info(`SMTP alert successfully sent: ${mail.subject}`)
      } catch (err) {
        if (this.stopped) break
        const msg = err instanceof Error ? err.message : String(err)
        this.counters.lastError = msg
        if (permanent(err)) {
          this.counters.failed++
          this.current = undefined
          this.deps.log.limited('smtp:refused', 'error', `SMTP server ${this.where()} refused the alert "${mail.subject}": ${msg}`)
          continue
        }
        this.attempt++
        this.counters.retries++
        const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(this.attempt - 1, 30))
        this.deps.log.limited('smtp:retry', 'warn', `cannot send SMTP alert to ${this.where()}: ${msg}; retrying in ${delay} ms`, { attempt: this.attempt })
        this.transport?.close()
        this.transport = undefined
        this.sending = false
        this.retryTimer = this.deps.clock.setTimeout(() => {
          this.retryTimer = undefined
          this.kick()
        }, delay)
        return
      }
    }
    this.sending = false
    this.wakeIdle()
  }

  private wakeIdle(): void {
    if (this.current || !this.queue.isEmpty || this.sending) return
    const w = this.idleWaiters
    this.idleWaiters = []
    for (const r of w) r()
  }

  private where(): string {
    const s = this.cfg?.server
    return s ? `[${s.host}]:${s.port}` : '(none)'
  }

  private async send(mail: Mail): Promise<void> {
    const cfg = this.cfg
    if (!cfg?.server) throw new Error('no smtp_server')
    this.transport ??= nodemailer().createTransport(transportOptions(cfg))
    const from = cfg.from ?? defaultFrom()
    await this.transport.sendMail({
      from,
      to: cfg.emails,
      subject: mail.subject,
      text: mail.body + '\r\n',
      date: new Date(mail.time),
      headers: { 'X-Mailer': 'Keepalived' },
      disableFileAccess: true,
      disableUrlAccess: true,
    })
  }
}

/** nodemailer SMTP options for a section; kept JSON-comparable so a reload can tell whether they changed */
export function transportOptions(cfg: SmtpSection) {
  const timeout = (cfg.connectTimeout ?? 30) * 1000
  return {
    host: cfg.server?.host,
    port: cfg.server?.port ?? 25,
    name: cfg.heloName ?? hostname(),
    secure: cfg.tls,
    requireTLS: cfg.starttls,
    // keepalived speaks plain SMTP; kad only uses TLS when told to (smtp_starttls / smtp_tls)
    ignoreTLS: !cfg.starttls && !cfg.tls,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    ...(cfg.authUser !== undefined ? { auth: { user: cfg.authUser, pass: cfg.authPass ?? '' } } : {}),
    tls: { rejectUnauthorized: cfg.tlsVerify },
  }
}
