// The checker plugins inside core's real host (@kad/core/testing): config parsed by the real parser, the framework
// started by hooks.start, a real TCP listener checked, the topology and notifications published through the host,
// reload keeping state.
import { strict as assert } from 'node:assert'
import { createServer, type Server, type AddressInfo } from 'node:net'
import { createTestHost } from '@kad/core/testing'
import { ALL_CHECKER_PLUGINS } from './helpers/all-plugins.js'

const conf = (port: number, extra = '') => `
virtual_server 192.0.2.1 80 {
  delay_loop 0.2
  lb_algo wrr
  lb_kind DR
  protocol TCP
  quorum 2
  sorry_server 203.0.113.9 80
  real_server 127.0.0.1 ${port} {
    weight 2
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  real_server 127.0.0.1 1 {
    weight 3
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  ${extra}
}`

describe('checkers in the real host', function () {
  this.timeout(20000)
  let srv: Server
  let port: number
  before(async () => {
    srv = createServer((s) => s.destroy())
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    port = (srv.address() as AddressInfo).port
  })
  after(() => srv.close())

  it('publishes the topology, quorum and notifications; reload keeps state', async () => {
    const t = await createTestHost({ plugins: ALL_CHECKER_PLUGINS, config: conf(port), role: 'check' })
    assert.equal(t.exitCode, 0, JSON.stringify(t.diagnostics))
    await t.start()
    try {
      const deadline = Date.now() + 5000
      const ok = () => {
        const last = t.topologies.at(-1)
        const rs = last?.virtualServers[0]?.realServers ?? []
        return rs.length === 1 && rs[0].id === `[127.0.0.1]:${port}` && rs[0].weight === 2
      }
      while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      assert.ok(ok(), JSON.stringify(t.topologies.at(-1)))
      // live weight 2 >= quorum 2: quorum holds, no sorry server
      assert.equal(t.topologies.at(-1)!.virtualServers[0].quorumUp, true)
      await new Promise((r) => setTimeout(r, 300))
      assert.ok(t.notifications.some((n) => n.kind === 'real-server' && n.name === '[127.0.0.1]:tcp:1' && n.to === 'DOWN'))
      const gen = t.topologies.at(-1)!.generation
      await t.reload(conf(port, 'hysteresis 0'))
      await new Promise((r) => setTimeout(r, 100))
      const after = t.topologies.at(-1)!
      assert.ok(after.generation > gen)
      assert.deepEqual(after.virtualServers[0].realServers.map((r) => r.id), [`[127.0.0.1]:${port}`])
    } finally {
      await t.stop()
    }
  })
})
