import type { Notification } from '@kad/core'

/**
 * keepalived's notify FIFO line for an event (vrrp_notify.c notify_fifo, ipwrapper.c notify_fifo_vs/_rs), or
 * undefined when keepalived writes none for it:
 *   INSTANCE "VI_1" MASTER 100        (also MASTER_RX_LOWER_PRI, MASTER_PRIORITY, BACKUP_PRIORITY)
 *   GROUP "G" BACKUP 0                (groups always 0)
 *   VS [192.168.201.15]:tcp:80 UP
 *   RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN
 * A real-server event is written only when the server itself changed (`detail.rsChanged !== false`), not for
 * each of its checkers.
 */
export function fifoLine(n: Notification): string | undefined {
  switch (n.kind) {
    case 'vrrp-instance':
      return `INSTANCE "${n.name}" ${n.to} ${n.priority ?? 0}\n`
    case 'vrrp-group':
      return `GROUP "${n.name}" ${n.to} 0\n`
    case 'virtual-server':
      return n.to === 'UP' || n.to === 'DOWN' ? `VS ${n.name} ${n.to}\n` : undefined
    case 'real-server': {
      if (n.to !== 'UP' && n.to !== 'DOWN') return undefined
      if (n.detail?.rsChanged === false) return undefined
      const vs = n.detail?.virtualServer ?? n.detail?.vs
      return typeof vs === 'string' ? `RS ${n.name} ${vs} ${n.to}\n` : undefined
    }
    default:
      return undefined
  }
}

/** which FIFO family an event belongs to */
export function lineFamily(n: Notification): 'vrrp' | 'lvs' | undefined {
  if (n.kind === 'vrrp-instance' || n.kind === 'vrrp-group') return 'vrrp'
  if (n.kind === 'real-server' || n.kind === 'virtual-server') return 'lvs'
  return undefined
}
