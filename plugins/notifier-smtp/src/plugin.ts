/** The notifier-smtp plugin: its keywords in every process; the mail sender only in the children that send. */
import { hostname } from 'node:os'
import { definePlugin, HOST_API_VERSION, STAGES, getCoreSection, systemClock } from '@kad/core/plugin'
import type { ConfigModel, Notification, Clock } from '@kad/core'
import { registerSmtpKeywords, smtpSection, SECTION, SMTP_SCHEMA, type SmtpSection } from './config.js'
import type { MailSender, SenderOptions } from './sender.js'

export const PLUGIN_NAME = 'notifier-smtp'

export interface SmtpPluginOptions extends Partial<SenderOptions> {
  /** how long shutdown waits for queued mails (ms); default 5000 */
  readonly stopGraceMs?: number
}

const TAP = { name: PLUGIN_NAME, stage: STAGES.PROVIDER }

/**
 * keepalived's smtp_alert: one mail per VRRP instance/group transition, real-server checker change and
 * virtual-server quorum change, sent from whichever process published the event. See README.md.
 */
export default definePlugin<SmtpPluginOptions>({
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^' + HOST_API_VERSION,
    roles: ['vrrp', 'check', 'bfd'],
    description: 'e-mail alerts (smtp_alert) through nodemailer, with retries while the server is down',
  },
  parseOptions(raw) {
    const o = (raw ?? {}) as Record<string, unknown>
    const num = (k: string) => (typeof o[k] === 'number' && (o[k] as number) > 0 ? (o[k] as number) : undefined)
    return { retryBaseMs: num('retryBaseMs'), retryMaxMs: num('retryMaxMs'), queueMaxItems: num('queueMaxItems'), queueMaxBytes: num('queueMaxBytes'), stopGraceMs: num('stopGraceMs') }
  },
  async register(ctx) {
    ctx.keywords.extend('global_defs', registerSmtpKeywords)
    ctx.keywords.schema(SECTION, SMTP_SCHEMA)

    ctx.hooks.validateConfig.tap(PLUGIN_NAME, (model, sink) => {
      const s = smtpSection(model)
      if (s.authUser !== undefined && !s.tls && !s.starttls && !s.authInsecure) {
        sink.report({ code: 'KAD_CFG_SMTP_AUTH_PLAIN', severity: 'error', message: 'smtp_auth_user needs smtp_starttls or smtp_tls (or smtp_auth_insecure to send the password in clear)', keywordPath: 'global_defs/smtp_auth_user' })
      }
      if ((s.alert || s.alertVrrp || s.alertChecker) && (!s.server || s.emails.length === 0)) {
        sink.report({ code: 'KAD_CFG_SMTP_INCOMPLETE', severity: 'warning', message: 'smtp_alert is set but smtp_server or notification_email is missing: no mail will be sent', keywordPath: 'global_defs/smtp_alert' })
      }
    })
    if (!ctx.active) return
    const [{ MailSender, SENDER_DEFAULTS }, { formatMail, wantsMail }] = await Promise.all([import('./sender.js'), import('./format.js')])

    const opts: SenderOptions = {
      retryBaseMs: ctx.options.retryBaseMs ?? SENDER_DEFAULTS.retryBaseMs,
      retryMaxMs: ctx.options.retryMaxMs ?? SENDER_DEFAULTS.retryMaxMs,
      queueMaxItems: ctx.options.queueMaxItems ?? SENDER_DEFAULTS.queueMaxItems,
      queueMaxBytes: ctx.options.queueMaxBytes ?? SENDER_DEFAULTS.queueMaxBytes,
    }
    const log = ctx.log
    let sender: MailSender | undefined
    let cfg: SmtpSection = smtpSection(undefined)
    let routerId = hostname()
    /** keepalived's last_email_state: no second mail for the same state of the same instance/server */
    const lastState = new Map<string, string>()

    const apply = (model: ConfigModel) => {
      cfg = smtpSection(model)
      routerId = getCoreSection(model).routerId ?? hostname()
      sender ??= new MailSender({ log, clock: (ctx.container.cradle as { clock?: Clock }).clock ?? systemClock }, opts)
      sender.configure(cfg)
    }

    ctx.hooks.start.tapPromise(TAP, async (model) => apply(model))
    ctx.hooks.reload.tapPromise(TAP, async (next) => apply(next))
    // stop last (a stage above every plugin's default), after the publishers' own STOP notices are delivered
    ctx.hooks.shutdown.tapPromise({ name: PLUGIN_NAME, stage: STAGES.OBSERVER + 1 }, async () => {
      await (ctx.container.cradle as { notifications?: { drain(): Promise<void> } }).notifications?.drain()
      await sender?.stop(ctx.options.stopGraceMs ?? 5000)
    })

    // enqueue and return: the sender works on its own timers (never stalls other notifiers)
    ctx.hooks.notify.tap(TAP, (n: Notification) => {
      if (!sender?.configured || !wantsMail(n, cfg)) return
      const text = formatMail(n, cfg, routerId)
      if (!text) return
      const key = `${n.kind}:${n.name}`
      if (n.kind === 'vrrp-instance' || n.kind === 'vrrp-group') {
        if (lastState.get(key) === n.to) return
        lastState.set(key, n.to)
      }
      sender.enqueue({ subject: text.subject, body: text.body, time: n.time })
    })

    ctx.hooks.dumpStats.tap(PLUGIN_NAME, (w, clear) => {
      const s = sender?.stats()
      if (!s) return
      w.section('SMTP alerts', [`Queued = ${s.queued}`, `Sent = ${s.sent}`, `Refused = ${s.failed}`, `Dropped = ${s.dropped}`, `Retries = ${s.retries}`, ...(s.lastError ? [`Last error = ${s.lastError}`] : [])])
      if (clear && sender) Object.assign(sender.counters, { sent: 0, failed: 0, dropped: 0, retries: 0 })
    })
    ctx.hooks.dumpJson.tap(PLUGIN_NAME, (w) => {
      if (sender) w.json('smtp_alerts', sender.stats())
    })
  },
})
