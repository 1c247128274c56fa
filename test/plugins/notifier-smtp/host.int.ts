/**
 * The SMTP and FIFO notifiers in the real host (@kad/core/testing): real keyword tree and parser, the container's
 * notifications service, ScriptRunner and clock.
 */
import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestHost, type TestHost } from '@kad/core/testing'
import { definePlugin, HOST_API_VERSION, type Notification } from '@kad/core'
import smtpPlugin from '@kad/plugin-notifier-smtp'
import fifoPlugin from '@kad/plugin-notifier-fifo'
import { TestSmtpServer } from './smtp-server.js'

const publish = (t: TestHost, n: Notification) => (t.container.cradle as unknown as { notifications: { publish(n: Notification): void; drain(): Promise<void> } }).notifications.publish(n)
const drain = (t: TestHost) => (t.container.cradle as unknown as { notifications: { drain(): Promise<void> } }).notifications.drain()

describe('notifiers in the real host (@kad/core/testing)', function () {
  this.timeout(30_000)
  let t: TestHost | undefined
  let server: TestSmtpServer | undefined
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kad-notif-host-'))
  })
  afterEach(async () => {
    await t?.stop()
    t = undefined
    await server?.stop()
    server = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  it('parses the SMTP and FIFO keywords with the real parser, with no diagnostics', async () => {
    t = await createTestHost({
      plugins: [smtpPlugin, fifoPlugin],
      role: 'vrrp',
      config: `global_defs {
  router_id lb1
  notification_email {
    a@example.com
    b@example.com
  }
  notification_email_from kad@example.com
  smtp_server 192.0.2.25 2525
  smtp_helo_name helo.example.com
  smtp_connect_timeout 7
  smtp_alert
  smtp_alert_vrrp on
  smtp_alert_checker off
  no_email_faults
  no_checker_emails
  smtp_starttls
  smtp_auth_user alerts
  smtp_auth_pass secret
  notify_fifo /run/kad-all.fifo
  notify_fifo_script "/usr/local/bin/reader --all" nobody
  vrrp_notify_fifo /run/kad-vrrp.fifo root root
  lvs_notify_fifo /run/kad-lvs.fifo
  lvs_notify_fifo_script /usr/local/bin/lvs-reader root:root
}
`,
    })
    // the FIFO reader scripts without enable_script_security: keepalived's -t exit 6, nothing else
    assert.deepEqual(t.diagnostics.map((d) => d.message), ['SECURITY VIOLATION - scripts are being executed but script_security not enabled.'])
    assert.equal(t.exitCode, 6)
    assert.deepEqual(t.model.sections['notifier-smtp'], {
      emails: ['a@example.com', 'b@example.com'],
      from: 'kad@example.com',
      server: { host: '192.0.2.25', port: 2525 },
      heloName: 'helo.example.com',
      connectTimeout: 7,
      alert: true,
      alertVrrp: true,
      alertChecker: false,
      noEmailFaults: true,
      noCheckerEmails: true,
      starttls: true,
      tls: false,
      tlsVerify: true,
      authUser: 'alerts',
      authPass: 'secret',
      authInsecure: false,
    })
    assert.deepEqual(t.model.sections['notifier-fifo'], {
      global: { path: '/run/kad-all.fifo', script: { command: '/usr/local/bin/reader --all', user: 'nobody' } },
      vrrp: { path: '/run/kad-vrrp.fifo', user: 'root', group: 'root' },
      lvs: { path: '/run/kad-lvs.fifo', script: { command: '/usr/local/bin/lvs-reader', user: 'root', group: 'root' } },
    })
  })

  it('a VRRP transition published through the container reaches the mail server and the FIFO', async () => {
    server = new TestSmtpServer()
    const port = await server.start()
    const fifo = join(dir, 'vrrp.fifo')
    t = await createTestHost({
      plugins: [smtpPlugin, fifoPlugin],
      role: 'vrrp',
      config: `global_defs {\n  router_id lb1\n  notification_email {\n    ops@example.com\n  }\n  notification_email_from kad@example.com\n  smtp_server 127.0.0.1 ${port}\n  smtp_alert\n  vrrp_notify_fifo ${fifo}\n}\n`,
    })
    assert.deepEqual(t.diagnostics.map((d) => d.message), [])
    await t.start()
    assert.ok(statSync(fifo).isFIFO())
    publish(t, { source: 'vrrp', kind: 'vrrp-instance', name: 'VI_1', from: 'BACKUP', to: 'MASTER', priority: 150, time: Date.now() })
    await drain(t)
    const deadline = Date.now() + 10_000
    while (server.mails.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.equal(server.mails.length, 1)
    assert.equal(server.mails[0].headers.subject, '[lb1] VRRP Instance VI_1 - Entering MASTER state')
    assert.deepEqual(server.mails[0].to, ['ops@example.com'])
    // the line waits in the pipe for a reader (kad holds the FIFO read-write, as keepalived)
    const { execFileSync } = await import('node:child_process')
    const line = execFileSync('timeout', ['2', 'head', '-n1', fifo], { encoding: 'utf8' })
    assert.equal(line, 'INSTANCE "VI_1" MASTER 150\n')
    await t.stop()
    t = undefined
    assert.equal(existsSync(fifo), false)
  })

  it('the STOP notices a publisher sends while shutting down are still mailed and written', async () => {
    server = new TestSmtpServer()
    const port = await server.start()
    const fifo = join(dir, 'stop.fifo')
    // a stand-in for VRRP: publishes STOP from its own shutdown tap (default stage, as plugins do)
    const fakeVrrp = definePlugin({
      meta: { name: 'fake-vrrp', version: '0.0.0', host: '^' + HOST_API_VERSION, roles: ['vrrp'] },
      register(ctx) {
        ctx.hooks.shutdown.tapPromise('fake-vrrp', async () => {
          const svc = (ctx.container.cradle as unknown as { notifications: { publish(n: Notification): void } }).notifications
          svc.publish({ source: 'vrrp', kind: 'vrrp-instance', name: 'VI_1', from: 'MASTER', to: 'STOP', priority: 0, time: Date.now() })
        })
      },
    })
    t = await createTestHost({
      plugins: [smtpPlugin, fifoPlugin, fakeVrrp],
      role: 'vrrp',
      config: `global_defs {\n  router_id lb1\n  notification_email {\n    ops@example.com\n  }\n  smtp_server 127.0.0.1 ${port}\n  smtp_alert\n  vrrp_notify_fifo ${fifo}\n}\n`,
    })
    await t.start()
    const { spawn } = await import('node:child_process')
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] })
    const exited = new Promise((r) => reader.once('exit', r))
    let got = ''
    reader.stdout!.on('data', (d: Buffer) => (got += d.toString()))
    // a first notice proves the reader is connected before the shutdown
    publish(t, { source: 'vrrp', kind: 'vrrp-instance', name: 'VI_1', from: 'BACKUP', to: 'MASTER', priority: 100, time: Date.now() })
    const deadline = Date.now() + 10_000
    while (!got.includes('MASTER') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    await t.stop()
    t = undefined
    await exited
    assert.equal(got, 'INSTANCE "VI_1" MASTER 100\nINSTANCE "VI_1" STOP 0\n')
    assert.deepEqual(server.mails.map((m) => m.headers.subject), ['[lb1] VRRP Instance VI_1 - Entering MASTER state', '[lb1] VRRP Instance VI_1 - Stopping'])
  })
})
