import type { BlockBuilder, ConfigModel } from '@kad/core'

/** The section this plugin owns (`model.sections['notifier-smtp']`): keepalived's SMTP globals plus kad's TLS/auth. */
export interface SmtpSection {
  /** notification_email { … }: recipients, `"Name <addr>"` allowed */
  emails: string[]
  /** notification_email_from; default `<user>@<hostname>` as keepalived */
  from?: string
  /** smtp_server HOST [PORT] */
  server?: { host: string; port: number }
  /** smtp_helo_name; default the host name */
  heloName?: string
  /** smtp_connect_timeout in seconds; default 30 */
  connectTimeout?: number
  /** smtp_alert, smtp_alert_vrrp, smtp_alert_checker: defaults for events whose publisher left smtpAlert unset */
  alert?: boolean
  alertVrrp?: boolean
  alertChecker?: boolean
  /** no_email_faults: no mail for FAULT transitions */
  noEmailFaults: boolean
  /** no_checker_emails: real-server mails only when the server's own state changed (not every checker) */
  noCheckerEmails: boolean
  /** smtp_starttls [BOOL] (kad): require STARTTLS; without it kad never tries TLS, as keepalived */
  starttls: boolean
  /** smtp_tls [BOOL] (kad): implicit TLS from the first byte (port 465 style) */
  tls: boolean
  /** smtp_tls_verify BOOL (kad): verify the server certificate; default on */
  tlsVerify: boolean
  /** smtp_auth_user / smtp_auth_pass (kad): SMTP AUTH (PLAIN/LOGIN), only over TLS unless smtp_auth_insecure */
  authUser?: string
  authPass?: string
  /** smtp_auth_insecure [BOOL] (kad): allow AUTH on a connection without TLS */
  authInsecure: boolean
}

export const SECTION = 'notifier-smtp'

export const emptySection = (): SmtpSection => ({ emails: [], noEmailFaults: false, noCheckerEmails: false, starttls: false, tls: false, tlsVerify: true, authInsecure: false })

/** the plugin's section of a model (an empty one when the config has no SMTP keyword) */
export function smtpSection(model: ConfigModel | undefined): SmtpSection {
  return { ...emptySection(), ...((model?.sections?.[SECTION] as Partial<SmtpSection> | undefined) ?? {}) }
}

/** global_defs keywords of keepalived's smtp_alert, and kad's TLS/auth additions */
export function registerSmtpKeywords(b: BlockBuilder<unknown>): void {
  const sec = (k: Parameters<Parameters<BlockBuilder<unknown>['keyword']>[1]>[0]) => k.section<SmtpSection>(SECTION, emptySection)
  const flag = (name: string, field: 'alert' | 'alertVrrp' | 'alertChecker' | 'starttls' | 'tls' | 'tlsVerify' | 'authInsecure') =>
    b.keyword(name, (k) => {
      const v = k.bool(0)
      if (v !== undefined) sec(k)[field] = v
    })
  b.block<string[]>('notification_email', {
    open: (k) => {
      const s = sec(k)
      return s.emails
    },
    lines: (k, emails) => {
      for (const w of [k.keyword, ...k.args]) if (w !== '{' && w !== '}') emails.push(w)
    },
    close: (k, emails) => {
      if (emails.length === 0) k.warn('empty notification_email block')
    },
  })
  b.keyword('notification_email_from', (k) => {
    const v = k.string(0, 'address')
    if (v !== undefined) sec(k).from = k.rest(0)
  })
  b.keyword('smtp_server', (k) => {
    const host = k.string(0, 'host')
    if (host === undefined) return
    let port = 25
    if (k.args.length > 1) {
      const p = k.unsigned(1, { min: 1, max: 65535 })
      if (p === undefined) return
      port = p
    }
    sec(k).server = { host, port }
  })
  b.keyword('smtp_helo_name', (k) => {
    const v = k.string(0, 'name')
    if (v !== undefined) sec(k).heloName = v
  })
  b.keyword('smtp_connect_timeout', (k) => {
    const v = k.unsigned(0)
    if (v === undefined) return
    if (v === 0) k.error('smtp_connect_timeout must be greater than 0, setting to 1')
    sec(k).connectTimeout = Math.max(1, v)
  })
  flag('smtp_alert', 'alert')
  flag('smtp_alert_vrrp', 'alertVrrp')
  flag('smtp_alert_checker', 'alertChecker')
  b.keyword('no_email_faults', (k) => void (sec(k).noEmailFaults = true))
  b.keyword('no_checker_emails', (k) => void (sec(k).noCheckerEmails = true))
  flag('smtp_starttls', 'starttls')
  flag('smtp_tls', 'tls')
  flag('smtp_tls_verify', 'tlsVerify')
  flag('smtp_auth_insecure', 'authInsecure')
  b.keyword('smtp_auth_user', (k) => {
    const v = k.string(0, 'user')
    if (v !== undefined) sec(k).authUser = v
  })
  b.keyword('smtp_auth_pass', (k) => {
    const v = k.string(0, 'password')
    if (v !== undefined) sec(k).authPass = v
  })
}

export const SMTP_SCHEMA = {
  type: 'object',
  properties: {
    emails: { type: 'array', items: { type: 'string' } },
    from: { type: 'string' },
    server: { type: 'object', properties: { host: { type: 'string' }, port: { type: 'integer', minimum: 1, maximum: 65535 } }, required: ['host', 'port'] },
    heloName: { type: 'string' },
    connectTimeout: { type: 'number', minimum: 1 },
    alert: { type: 'boolean' },
    alertVrrp: { type: 'boolean' },
    alertChecker: { type: 'boolean' },
    noEmailFaults: { type: 'boolean' },
    noCheckerEmails: { type: 'boolean' },
    starttls: { type: 'boolean' },
    tls: { type: 'boolean' },
    tlsVerify: { type: 'boolean' },
    authUser: { type: 'string' },
    authPass: { type: 'string' },
    authInsecure: { type: 'boolean' },
  },
} as const
