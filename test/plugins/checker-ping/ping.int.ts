import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import pingPlugin from '@kad/plugin-checker-ping'
import { createHost, type TestHost } from '../checkers/helpers/host.js'
import { ALL_CHECKER_PLUGINS } from '../checkers/helpers/all-plugins.js'

const A = `kad-chk-ping-a-${process.pid}`
const B = `kad-chk-ping-b-${process.pid}`
const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' })

describe('PING_CHECK with real ICMP between namespaces', function () {
  this.timeout(30000)
  let host: TestHost
  before(async function () {
    if (process.getuid?.() !== 0) this.skip() // raw ICMP sockets and namespaces need root; CI runs as root
    ip('netns', 'add', A)
    ip('netns', 'add', B)
    ip('-n', A, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', B)
    for (const [ns, dev, v4, v6] of [
      [A, 'veth0', '198.51.100.1/24', '2001:db8:5::1/64'],
      [B, 'veth1', '198.51.100.2/24', '2001:db8:5::2/64'],
    ]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      ip('-n', ns, 'addr', 'add', v4, 'dev', dev)
      ip('-n', ns, '-6', 'addr', 'add', v6, 'dev', dev, 'nodad')
      ip('-n', ns, 'link', 'set', dev, 'up')
    }
    // B answers 203.0.113.0/24 with ICMP administratively prohibited
    ip('-n', A, 'route', 'add', '203.0.113.0/24', 'via', '198.51.100.2')
    ip('-n', B, 'route', 'add', 'prohibit', '203.0.113.0/24')
    execFileSync('ip', ['netns', 'exec', B, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.icmp_ratelimit=0'])
    const plugins = ALL_CHECKER_PLUGINS.map((p) => (p.meta.name === pingPlugin.meta.name ? pingPlugin : p))
    host = await createHost(plugins, { 'checker-ping': { netns: `/run/netns/${A}` } })
  })
  after(() => {
    for (const ns of [A, B]) {
      try {
        ip('netns', 'del', ns)
      } catch {
        /* not created */
      }
    }
  })

  it('passes an answering host (v4 and v6), fails ICMP unreachable and silence', async () => {
    const check = 'PING_CHECK {\n connect_timeout 0.8\n retry 0\n }'
    const cases: [string, string, number | false][] = [
      ['198.51.100.2', check, 1],
      ['2001:db8:5::2', check, 1],
      ['203.0.113.5', check, false],
      ['198.51.100.77', check, false],
    ]
    const text = cases.map(([addr, c], i) => `virtual_server ${addr.includes(':') ? `2001:db8:99::${i + 1}` : `192.0.2.${i + 1}`} 80 {\n delay_loop 0.3\n lb_algo rr\n lb_kind DR\n protocol TCP\n alpha\n real_server ${addr} 80 {\n weight 1\n ${c}\n }\n}`).join('\n')
    const r = await host.run(text)
    try {
      await r.until((t) => JSON.stringify(t.virtualServers.map((v) => v.realServers.length === 1)) === '[true,true,false,false]', 5000)
      await new Promise((res) => setTimeout(res, 1200))
      const j: Record<string, any> = {}
      r.fw.dumpJson({ json: (k, v) => (j[k] = v), section: () => undefined })
      const reasons = j.checkers.virtualServers.map((v: any) => v.realServers[0].reason ?? '')
      assert.match(reasons[2], /ICMP error type 3 code 13/)
      assert.match(reasons[3], /timeout|no echo reply|ICMP error type 3/)
      assert.equal(JSON.stringify(r.latest()!.virtualServers.map((v) => v.realServers.length === 1)), '[true,true,false,false]')
    } finally {
      await r.stop()
    }
  })
})
