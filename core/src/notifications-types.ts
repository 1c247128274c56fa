import type { ProcessRole } from './plugin/contract.js'

/** One event for notifiers (SMTP, FIFOs, scripts, third-party webhooks). Published through core's notifications service. */
export interface Notification {
  /** process that published it */
  readonly source: ProcessRole
  readonly kind: 'vrrp-instance' | 'vrrp-group' | 'real-server' | 'virtual-server' | 'bfd' | 'daemon'
  /** instance, group, server or session name: 'VI_1', '[192.0.2.10]:tcp:80', … */
  readonly name: string
  readonly from?: string
  /** the new state: MASTER, BACKUP, FAULT, STOP, DELETED, UP, DOWN, … */
  readonly to: string
  readonly reason?: string
  /** wall-clock ms since epoch */
  readonly time: number
  readonly priority?: number
  /** whether this event asks for an e-mail (smtp_alert resolved per instance / server / globals) */
  readonly smtpAlert?: boolean
  /** kind-specific data (virtual server of a real server, weights, …) */
  readonly detail?: Readonly<Record<string, unknown>>
}
