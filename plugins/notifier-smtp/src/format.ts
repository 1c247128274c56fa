import type { Notification } from '@kad/core'
import type { SmtpSection } from './config.js'

/**
 * keepalived 2.2.7's alert texts (keepalived/vrrp/vrrp_notify.c, keepalived/check/check_*.c, ipwrapper.c,
 * core/smtp.c), so filters written for keepalived's mails keep working.
 */
export interface MailText {
  readonly subject: string
  readonly body: string
}

const VRRP_INSTANCE: Record<string, [string, string]> = {
  MASTER: ['Entering MASTER state', '=> VRRP Instance is now owning VRRP VIPs <='],
  BACKUP: ['Entering BACKUP state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  FAULT: ['Entering FAULT state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  STOP: ['Stopping', '=> VRRP Instance stopping <='],
  DELETED: ['Deleted', '=> VRRP Deleted at reload <='],
}

const VRRP_GROUP: Record<string, [string, string]> = {
  MASTER: ['Entering MASTER state', '=> All VRRP group instances are now in MASTER state <='],
  BACKUP: ['Entering BACKUP state', '=> All VRRP group instances are now in BACKUP state <='],
  FAULT: ['Entering FAULT state', '=> All VRRP group instances are now in FAULT state <='],
  STOP: ['Stopping', '=> All VRRP group instances are now stopping <='],
}

/** checker type -> [body when UP, body when DOWN] */
const CHECKER_BODY: Record<string, [string, string]> = {
  TCP_CHECK: ['=> TCP CHECK succeed on service <=', '=> TCP CHECK failed on service <='],
  UDP_CHECK: ['=> UDP CHECK succeed on service <=', '=> UDP CHECK failed on service <='],
  PING_CHECK: ['=> ICMP CHECK succeed on service <=', '=> ICMP CHECK failed on service <='],
  ICMP_CHECK: ['=> ICMP CHECK succeed on service <=', '=> ICMP CHECK failed on service <='],
  HTTP_GET: ['=> CHECK succeed on service <=', '=> CHECK failed on service : HTTP request failed <='],
  SSL_GET: ['=> CHECK succeed on service <=', '=> CHECK failed on service : HTTP request failed <='],
  SMTP_CHECK: ['=> CHECK succeed on service <=', '=> CHECK failed on service <='],
  DNS_CHECK: ['=> DNS_CHECK: succeed on service <=', '=> DNS_CHECK: failed on service <='],
  MISC_CHECK: ['=> MISC CHECK succeeded on service <=', '=> MISC CHECK failed on service <='],
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/** the body of a real-server mail: the publisher's own text (`detail.message`), else keepalived's for the checker */
function checkerBody(n: Notification, up: boolean): string {
  const own = str(n.detail?.message)
  if (own) return own
  if (n.reason === 'shutdown') return '=> Shutting down <='
  if (n.reason === 'removed') return '=> Removing <='
  const checker = str(n.detail?.checker)?.toUpperCase()
  if (checker === 'BFD_CHECK') return `=> BFD CHECK ${str(n.detail?.bfd) ?? ''} ${up ? 'succeeded' : 'failed'} on service <=`.replace('  ', ' ')
  const pair = checker ? CHECKER_BODY[checker] : undefined
  return pair ? pair[up ? 0 : 1] : up ? '=> CHECK succeed on service <=' : '=> CHECK failed on service <='
}

/** the VS quorum body: `=> Gained quorum 3+1=2 <= 4 <=` (detail: quorum, hysteresis, weightSum or liveWeight, init) */
function quorumBody(n: Notification): string {
  const own = str(n.detail?.message)
  if (own) return own
  if (n.reason === 'shutdown') return '=> Shutting down <='
  const d = n.detail ?? {}
  const up = n.to === 'UP'
  const what = up ? (d.init ? 'Starting with quorum up' : 'Gained quorum') : d.init ? 'Starting with quorum down' : 'Lost quorum'
  const q = Number(d.quorum ?? 1)
  const h = Number(d.hysteresis ?? 0)
  return `=> ${what} ${q}+${h}=${q - h} <= ${Number(d.weightSum ?? d.liveWeight ?? 0)} <=`
}

/**
 * The mail for one notification, or undefined when keepalived would send none for it (priority-change events,
 * FAULT with no_email_faults, per-checker changes with no_checker_emails, unknown kinds).
 */
export function formatMail(n: Notification, cfg: Pick<SmtpSection, 'noEmailFaults' | 'noCheckerEmails'>, routerId: string): MailText | undefined {
  const tag = `[${routerId}]`
  switch (n.kind) {
    case 'vrrp-instance':
    case 'vrrp-group': {
      if (cfg.noEmailFaults && n.to === 'FAULT') return undefined
      const t = (n.kind === 'vrrp-instance' ? VRRP_INSTANCE : VRRP_GROUP)[n.to]
      if (!t) return undefined
      return { subject: `${tag} VRRP ${n.kind === 'vrrp-instance' ? 'Instance' : 'Group'} ${n.name} - ${t[0]}`, body: t[1] }
    }
    case 'real-server': {
      if (n.to !== 'UP' && n.to !== 'DOWN') return undefined
      // no_checker_emails: only when the server itself changed, not for each of its checkers
      if (cfg.noCheckerEmails && n.detail?.rsChanged === false) return undefined
      const vs = str(n.detail?.virtualServer) ?? str(n.detail?.vs) ?? '?'
      return { subject: `${tag} Realserver ${n.name} of virtual server ${vs} - ${n.to}`, body: checkerBody(n, n.to === 'UP') }
    }
    case 'virtual-server':
      if (n.to !== 'UP' && n.to !== 'DOWN') return undefined
      return { subject: `${tag} Virtualserver ${n.name} - ${n.to}`, body: quorumBody(n) }
    case 'bfd':
      // keepalived sends no BFD mail; kad does when the publisher asks (smtpAlert true)
      return { subject: `${tag} BFD instance ${n.name} - ${n.to}`, body: `=> BFD session is now ${n.to} <=` }
    default:
      return undefined
  }
}

/** whether this event asks for a mail: the publisher's resolved smtp_alert, else the global defaults */
export function wantsMail(n: Notification, cfg: Pick<SmtpSection, 'alert' | 'alertVrrp' | 'alertChecker'>): boolean {
  if (n.smtpAlert !== undefined) return n.smtpAlert
  switch (n.kind) {
    case 'vrrp-instance':
    case 'vrrp-group':
      return cfg.alertVrrp ?? cfg.alert ?? false
    case 'real-server':
    case 'virtual-server':
      return cfg.alertChecker ?? cfg.alert ?? false
    default:
      return false
  }
}
