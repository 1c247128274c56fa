import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import smtpPlugin from '../../../plugins/notifier-smtp/src/index.js'
import type { Notification } from '@kad/core'
import { makeHost, waitFor, type TestHost } from '../../notifications/harness.js'
import { TestSmtpServer, freePort } from './smtp-server.js'

const config = (port: number, extra = '') => `
global_defs {
  router_id lb-test
  notification_email {
    ops@example.com
    "Second Admin <admin2@example.com>"
  }
  notification_email_from kad@example.com
  smtp_server 127.0.0.1 ${port}
  smtp_helo_name kad-test-helo
  smtp_connect_timeout 2
  smtp_alert
  ${extra}
}
`

const vrrp = (to: string, from?: string): Notification => ({ source: 'vrrp', kind: 'vrrp-instance', name: 'VI_1', from, to, time: Date.now(), priority: 100 })
const rs = (to: string): Notification => ({
  source: 'check',
  kind: 'real-server',
  name: '[192.0.2.10]:tcp:80',
  to,
  time: Date.now(),
  detail: { virtualServer: '[198.51.100.1]:tcp:80', checker: 'TCP_CHECK', rsChanged: true },
})

describe('notifier-smtp against a real SMTP server (smtp-server on loopback)', function () {
  this.timeout(30_000)
  let server: TestSmtpServer
  let host: TestHost | undefined

  afterEach(async () => {
    await host?.stop()
    host = undefined
    await server?.stop()
  })

  it('a VRRP transition delivers one mail with keepalived subject, sender, recipients and body', async () => {
    server = new TestSmtpServer()
    const port = await server.start()
    host = await makeHost([smtpPlugin], 'vrrp')
    host.load(config(port))
    assert.deepEqual(host.diagnostics, [])
    await host.start()
    host.notifications.publish(vrrp('MASTER', 'BACKUP'))
    await waitFor(() => server.mails.length >= 1, 10_000, 10, 'mail')
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(server.mails.length, 1)
    const m = server.mails[0]
    assert.equal(m.headers.subject, '[lb-test] VRRP Instance VI_1 - Entering MASTER state')
    assert.equal(m.from, 'kad@example.com')
    assert.match(m.headers.from, /kad@example\.com/)
    assert.deepEqual(m.to, ['ops@example.com', 'admin2@example.com'])
    assert.match(m.headers.to, /ops@example\.com.*Second Admin <admin2@example\.com>/)
    assert.equal(m.body.trim(), '=> VRRP Instance is now owning VRRP VIPs <=')
    assert.equal(m.headers['x-mailer'], 'Keepalived')
    assert.equal(m.helo, 'kad-test-helo')
  })

  it('a checker DOWN then UP delivers one mail each, in order', async () => {
    server = new TestSmtpServer()
    const port = await server.start()
    host = await makeHost([smtpPlugin], 'check')
    host.load(config(port))
    await host.start()
    host.notifications.publish(rs('DOWN'))
    host.notifications.publish(rs('UP'))
    await waitFor(() => server.mails.length >= 2, 10_000, 10, 'two mails')
    await new Promise((r) => setTimeout(r, 200))
    assert.deepEqual(
      server.mails.map((m) => [m.headers.subject, m.body.trim()]),
      [
        ['[lb-test] Realserver [192.0.2.10]:tcp:80 of virtual server [198.51.100.1]:tcp:80 - DOWN', '=> TCP CHECK failed on service <='],
        ['[lb-test] Realserver [192.0.2.10]:tcp:80 of virtual server [198.51.100.1]:tcp:80 - UP', '=> TCP CHECK succeed on service <='],
      ],
    )
  })

  it('with the server down, the mail is delivered once it comes back, and publish() never blocks meanwhile', async () => {
    const port = await freePort()
    host = await makeHost([smtpPlugin], 'vrrp', { options: { 'notifier-smtp': { retryBaseMs: 100, retryMaxMs: 400 } } })
    host.load(config(port))
    await host.start()

    // a 10 ms "advert timer" in the same process: its lateness shows any blocking
    let worstLate = 0
    let ticks = 0
    let expected = performance.now() + 10
    let timer: NodeJS.Timeout
    const tick = () => {
      const now = performance.now()
      worstLate = Math.max(worstLate, now - expected)
      ticks++
      expected = now + 10
      timer = setTimeout(tick, 10)
    }
    timer = setTimeout(tick, 10)

    const t0 = performance.now()
    host.notifications.publish(vrrp('BACKUP'))
    host.notifications.publish(vrrp('MASTER', 'BACKUP'))
    const publishMs = performance.now() - t0
    assert.ok(publishMs < 50, `publish took ${publishMs} ms`)

    await new Promise((r) => setTimeout(r, 1000)) // several failed attempts with backoff
    server = new TestSmtpServer()
    await server.start(port)
    await waitFor(() => server.mails.length >= 2, 10_000, 10, 'mails after the server came back')
    clearTimeout(timer!)
    assert.deepEqual(
      server.mails.map((m) => m.headers.subject),
      ['[lb-test] VRRP Instance VI_1 - Entering BACKUP state', '[lb-test] VRRP Instance VI_1 - Entering MASTER state'],
    )
    assert.ok(ticks > 20, `timer fired ${ticks} times`)
    // generous for loaded CI machines: a publisher blocked on the dead server would be late by the connect timeout (2 s) per attempt
    assert.ok(worstLate < 1000, `the 10 ms timer was up to ${worstLate.toFixed(1)} ms late`)
    assert.ok(host.log.lines.some((l) => l.level === 'warn' && /retrying in/.test(l.msg)))
  })

  it('sends nothing without smtp_alert, and no second mail for the same state', async () => {
    server = new TestSmtpServer()
    const port = await server.start()
    host = await makeHost([smtpPlugin], 'vrrp')
    host.load(config(port).replace('smtp_alert\n', 'smtp_alert_vrrp off\n'))
    await host.start()
    host.notifications.publish(vrrp('MASTER'))
    host.notifications.publish({ ...vrrp('BACKUP'), smtpAlert: true })
    host.notifications.publish({ ...vrrp('BACKUP'), smtpAlert: true })
    await waitFor(() => server.mails.length >= 1, 10_000, 10, 'mail')
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual(
      server.mails.map((m) => m.headers.subject),
      ['[lb-test] VRRP Instance VI_1 - Entering BACKUP state'],
    )
  })

  it('smtp_starttls with smtp_auth_user/smtp_auth_pass: upgrades to TLS and authenticates (beyond keepalived)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kad-smtp-tls-'))
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
      const auths: string[] = []
      let secured = false
      server = new TestSmtpServer({
        disabledCommands: [],
        key: readFileSync(join(dir, 'key.pem')),
        cert: readFileSync(join(dir, 'cert.pem')),
        authMethods: ['PLAIN', 'LOGIN'],
        onAuth: (auth, session, cb) => {
          secured = session.secure
          auths.push(`${auth.username}:${auth.password}`)
          if (auth.username === 'alerts' && auth.password === 's3cret') cb(null, { user: 'alerts' })
          else cb(new Error('bad credentials'))
        },
      })
      const port = await server.start()
      host = await makeHost([smtpPlugin], 'vrrp')
      host.load(config(port, 'smtp_starttls\n  smtp_tls_verify off\n  smtp_auth_user alerts\n  smtp_auth_pass s3cret'))
      assert.deepEqual(host.diagnostics, [])
      await host.start()
      host.notifications.publish(vrrp('FAULT'))
      await waitFor(() => server.mails.length >= 1, 10_000, 10, 'mail over STARTTLS')
      assert.deepEqual(auths, ['alerts:s3cret'])
      assert.equal(secured, true)
      assert.equal(server.mails[0].headers.subject, '[lb-test] VRRP Instance VI_1 - Entering FAULT state')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses smtp_auth_user without TLS unless smtp_auth_insecure (validateConfig)', async () => {
    host = await makeHost([smtpPlugin], 'vrrp')
    const model = host.load(config(25, 'smtp_auth_user a\n  smtp_auth_pass b'))
    const diags: { code: string; severity: string }[] = []
    host.hooks.validateConfig.call(model, { report: (d) => void diags.push(d) })
    assert.deepEqual(diags.map((d) => [d.code, d.severity]), [['KAD_CFG_SMTP_AUTH_PLAIN', 'error']])
  })
})
