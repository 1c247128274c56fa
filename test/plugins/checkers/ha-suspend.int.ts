// ha_suspend with real rtnetlink address events: the VIP is added to and removed from a namespace with `ip addr`,
// and the TCP_CHECKs of the virtual server (against a local node server) stop and start, counted by the
// framework's attempt statistics (TCP_CHECK resets right after the handshake, before node's server accepts).
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { createNetworking, type Networking } from '@kad/native'
import { rtnlLocalAddresses } from '@kad/plugin-checkers'
import { createTestHost } from '@kad/core/testing'
import { captureLog, createHost, type TestHost } from './helpers/host.js'
import { ALL_CHECKER_PLUGINS } from './helpers/all-plugins.js'

const NS = `kad-chk2-hasusp-${process.pid}`
const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('ha_suspend follows the VIP through rtnetlink address events', function () {
  this.timeout(30000)
  let server: Server
  let port: number
  let net: Networking
  let host: TestHost
  before(async function () {
    if (process.getuid?.() !== 0) this.skip() // namespaces need root; CI runs as root
    ip('netns', 'add', NS)
    ip('-n', NS, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1')
    ip('-n', NS, 'link', 'set', 'veth1', 'up')
    ip('-n', NS, 'link', 'set', 'veth0', 'up')
    server = createServer((s) => {
      s.on('error', () => undefined)
      s.destroy()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as { port: number }).port
    net = createNetworking({ netns: `/run/netns/${NS}` })
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  after(() => {
    net?.close()
    server?.close()
    try {
      ip('netns', 'del', NS)
    } catch {
      /* not created */
    }
  })

  it('no check while 192.0.2.50 is absent, checks when it is added, none again when it is deleted', async () => {
    const lines: string[] = []
    const text = `
virtual_server 192.0.2.50 80 {
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  ha_suspend
  real_server 127.0.0.1 ${port} {
    weight 3
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}`
    const run = await host.run(text, { addresses: rtnlLocalAddresses(net.rtnl), log: captureLog(lines) })
    const attempts = () => run.fw.stats().attempts
    try {
      await sleep(1000)
      assert.equal(attempts(), 0)
      // the VIP arrives (as a VRRP master would add it): checks start within a delay_loop
      ip('-n', NS, 'addr', 'add', '192.0.2.50/32', 'dev', 'veth0')
      await sleep(1200)
      const during = attempts()
      assert.ok(during >= 3, `only ${during} checks in 1.2 s with the VIP present`)
      assert.equal(run.fw.stats().failures, 0)
      assert.ok(lines.some((l) => l.startsWith('Activating healthchecker for service [127.0.0.1]:tcp:')), lines.join('\n'))
      assert.equal(run.latest()?.virtualServers[0].realServers[0].weight, 3)
      // the VIP goes (backup): checks stop, the real server keeps its state
      ip('-n', NS, 'addr', 'del', '192.0.2.50/32', 'dev', 'veth0')
      await sleep(300)
      const stopped = attempts()
      await sleep(1000)
      assert.equal(attempts(), stopped)
      assert.ok(lines.some((l) => l.startsWith('Suspending healthchecker for service [127.0.0.1]:tcp:')))
      assert.equal(run.latest()?.virtualServers[0].realServers[0].weight, 3)
      const j: Record<string, any> = {}
      run.fw.dumpJson({ json: (k, v) => (j[k] = v), section: () => undefined })
      assert.equal(j.checkers.virtualServers[0].suspended, true)
      // and back
      ip('-n', NS, 'addr', 'add', '192.0.2.50/32', 'dev', 'veth0')
      await sleep(800)
      assert.ok(attempts() > stopped)
    } finally {
      await run.stop()
    }
  })

  it("in core's host: the checker plugin watches the networking service's namespace (-s / net_namespace)", async () => {
    const conf = `
virtual_server 192.0.2.60 80 {
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  ha_suspend
  real_server 127.0.0.1 ${port} {
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}`
    const t = await createTestHost({ plugins: ALL_CHECKER_PLUGINS, config: conf, role: 'check', options: { namespace: NS } })
    assert.equal(t.exitCode, 0, JSON.stringify(t.diagnostics))
    const dump = () => {
      const j: Record<string, any> = {}
      t.hooks.dumpJson.call({ json: (k: string, v: unknown) => (j[k] = v), section: () => undefined } as never)
      const vs = j.checkers.virtualServers[0]
      return { suspended: vs.suspended as boolean, attempts: vs.realServers[0].checkers[0].attempts as number }
    }
    await t.start()
    try {
      await sleep(800)
      assert.deepEqual(dump(), { suspended: true, attempts: 0 })
      ip('-n', NS, 'addr', 'add', '192.0.2.60/32', 'dev', 'veth0')
      await sleep(800)
      const d = dump()
      assert.equal(d.suspended, false)
      assert.ok(d.attempts >= 2, JSON.stringify(d))
      assert.ok(t.logs.some((l) => /Activating healthchecker for service \[127.0.0.1\]:tcp:\d+ for VS \[192.0.2.60\]:tcp:80/.test(l.msg)))
    } finally {
      await t.stop()
    }
  })
})
