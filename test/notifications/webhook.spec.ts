import { strict as assert } from 'node:assert'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import webhook from '../../examples/kad-plugin-webhook/index.js'
import type { Notification } from '@kad/core'
import { makeHost, waitFor, type TestHost } from './harness.js'

describe('examples/kad-plugin-webhook: a third-party notifier end to end', function () {
  this.timeout(20_000)
  let server: Server
  let host: TestHost | undefined
  const bodies: Notification[] = []
  let failFirst = 0

  beforeEach(async () => {
    bodies.length = 0
    server = createServer((req, res) => {
      let d = ''
      req.on('data', (c) => (d += c))
      req.on('end', () => {
        if (failFirst > 0) {
          failFirst--
          res.writeHead(503).end()
          return
        }
        assert.equal(req.method, 'POST')
        assert.equal(req.headers['content-type'], 'application/json')
        bodies.push(JSON.parse(d))
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  })
  afterEach(async () => {
    await host?.stop()
    host = undefined
    await new Promise<void>((r) => server.close(() => r()))
  })

  const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const ev = (to: string): Notification => ({ source: 'vrrp', kind: 'vrrp-instance', name: 'VI_1', to, priority: 100, time: 1700000000000 })

  it('POSTs each notification as JSON, in order', async () => {
    host = await makeHost([webhook], 'vrrp')
    host.load(`global_defs {\n  webhook_url ${url()}\n  webhook_timeout 2\n}\n`)
    assert.deepEqual(host.diagnostics, [])
    await host.start()
    host.notifications.publish(ev('BACKUP'))
    host.notifications.publish(ev('MASTER'))
    await waitFor(() => bodies.length >= 2, 5000, 10, 'two POSTs')
    assert.deepEqual(bodies, [ev('BACKUP'), ev('MASTER')])
  })

  it('retries while the endpoint fails', async () => {
    failFirst = 2
    host = await makeHost([webhook], 'check', { options: { webhook: { retryBaseMs: 50 } } })
    host.load(`global_defs {\n  webhook_url ${url()}\n}\n`)
    await host.start()
    host.notifications.publish(ev('FAULT'))
    await waitFor(() => bodies.length >= 1, 5000, 10, 'POST after retries')
    // The server records the body before it answers, so the client's counters settle a moment later.
    let stats: Record<string, number> = {}
    const read = () => host!.hooks.dumpJson.call({ section: () => {}, json: (_k, v) => void (stats = v as Record<string, number>) })
    await waitFor(() => (read(), stats.sent === 1), 5000, 10, 'sent counted')
    assert.equal(stats.retries, 2)
    assert.equal(stats.sent, 1)
  })

  it('rejects a webhook_url that is not http(s)', async () => {
    host = await makeHost([webhook], 'vrrp')
    host.load('global_defs {\n  webhook_url ftp://x\n}\n')
    assert.equal(host.diagnostics.length, 1)
    assert.match(host.diagnostics[0].message, /http:\/\/ or https:\/\//)
  })
})
