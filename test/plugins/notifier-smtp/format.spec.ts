import { strict as assert } from 'node:assert'
import type { Notification } from '@kad/core'
import { formatMail, wantsMail } from '../../../plugins/notifier-smtp/src/format.js'

const cfg = { noEmailFaults: false, noCheckerEmails: false }
const n = (x: Partial<Notification>): Notification => ({ source: 'vrrp', kind: 'vrrp-instance', name: 'VI_1', to: 'MASTER', time: 0, ...x })

describe('notifier-smtp: keepalived 2.2.7 alert texts', () => {
  it('VRRP instance transitions', () => {
    assert.deepEqual(formatMail(n({}), cfg, 'lb1'), { subject: '[lb1] VRRP Instance VI_1 - Entering MASTER state', body: '=> VRRP Instance is now owning VRRP VIPs <=' })
    assert.deepEqual(formatMail(n({ to: 'BACKUP' }), cfg, 'lb1'), { subject: '[lb1] VRRP Instance VI_1 - Entering BACKUP state', body: '=> VRRP Instance is no longer owning VRRP VIPs <=' })
    assert.deepEqual(formatMail(n({ to: 'FAULT' }), cfg, 'lb1')?.subject, '[lb1] VRRP Instance VI_1 - Entering FAULT state')
    assert.deepEqual(formatMail(n({ to: 'STOP' }), cfg, 'lb1'), { subject: '[lb1] VRRP Instance VI_1 - Stopping', body: '=> VRRP Instance stopping <=' })
    assert.deepEqual(formatMail(n({ to: 'DELETED' }), cfg, 'lb1'), { subject: '[lb1] VRRP Instance VI_1 - Deleted', body: '=> VRRP Deleted at reload <=' })
    assert.equal(formatMail(n({ to: 'MASTER_PRIORITY' }), cfg, 'lb1'), undefined)
    assert.equal(formatMail(n({ to: 'FAULT' }), { ...cfg, noEmailFaults: true }, 'lb1'), undefined)
  })

  it('VRRP group transitions', () => {
    assert.deepEqual(formatMail(n({ kind: 'vrrp-group', name: 'G1', to: 'BACKUP' }), cfg, 'lb1'), {
      subject: '[lb1] VRRP Group G1 - Entering BACKUP state',
      body: '=> All VRRP group instances are now in BACKUP state <=',
    })
    assert.equal(formatMail(n({ kind: 'vrrp-group', to: 'DELETED' }), cfg, 'lb1'), undefined)
  })

  it('real server changes by checker type', () => {
    const rs = (to: string, checker: string, extra: Record<string, unknown> = {}) =>
      formatMail(n({ source: 'check', kind: 'real-server', name: '[1.2.3.4]:tcp:80', to, detail: { virtualServer: '[192.168.201.15]:tcp:80', checker, ...extra } }), cfg, 'lb1')
    assert.deepEqual(rs('DOWN', 'TCP_CHECK'), { subject: '[lb1] Realserver [1.2.3.4]:tcp:80 of virtual server [192.168.201.15]:tcp:80 - DOWN', body: '=> TCP CHECK failed on service <=' })
    assert.equal(rs('UP', 'TCP_CHECK')?.body, '=> TCP CHECK succeed on service <=')
    assert.equal(rs('DOWN', 'HTTP_GET')?.body, '=> CHECK failed on service : HTTP request failed <=')
    assert.equal(rs('UP', 'DNS_CHECK')?.body, '=> DNS_CHECK: succeed on service <=')
    assert.equal(rs('DOWN', 'PING_CHECK')?.body, '=> ICMP CHECK failed on service <=')
    assert.equal(rs('DOWN', 'MISC_CHECK', { message: '=> MISC CHECK timed out on service <=' })?.body, '=> MISC CHECK timed out on service <=')
    assert.equal(rs('DOWN', 'BFD_CHECK', { bfd: 'b1' })?.body, '=> BFD CHECK b1 failed on service <=')
    const shut = formatMail(n({ source: 'check', kind: 'real-server', name: '[1.2.3.4]:tcp:80', to: 'DOWN', reason: 'shutdown', detail: { virtualServer: '[192.168.201.15]:tcp:80' } }), cfg, 'lb1')
    assert.equal(shut?.body, '=> Shutting down <=')
    const perChecker = n({ kind: 'real-server', to: 'DOWN', detail: { rsChanged: false, checker: 'TCP_CHECK' } })
    assert.ok(formatMail(perChecker, cfg, 'x'))
    assert.equal(formatMail(perChecker, { ...cfg, noCheckerEmails: true }, 'x'), undefined)
  })

  it('virtual server quorum', () => {
    const m = formatMail(n({ source: 'check', kind: 'virtual-server', name: '[192.168.201.15]:tcp:80', to: 'DOWN', detail: { quorum: 3, hysteresis: 1, weightSum: 1 } }), cfg, 'lb1')
    assert.deepEqual(m, { subject: '[lb1] Virtualserver [192.168.201.15]:tcp:80 - DOWN', body: '=> Lost quorum 3+1=2 <= 1 <=' })
  })

  it('smtp_alert: the publisher decides, else smtp_alert_vrrp / smtp_alert_checker, else smtp_alert', () => {
    assert.equal(wantsMail(n({ smtpAlert: false }), { alert: true }), false)
    assert.equal(wantsMail(n({}), { alert: true }), true)
    assert.equal(wantsMail(n({}), { alert: true, alertVrrp: false }), false)
    assert.equal(wantsMail(n({ kind: 'real-server' }), { alert: false, alertChecker: true }), true)
    assert.equal(wantsMail(n({ kind: 'bfd' }), { alert: true }), false)
    assert.equal(wantsMail(n({}), {}), false)
  })
})
