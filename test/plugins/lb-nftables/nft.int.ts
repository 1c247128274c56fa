/**
 * lb-nftables on this machine's kernel, in namespaces: a client, a router running the nft table, and three
 * backends with node TCP servers. Connections to the VIP reach the backends in the weight proportions and stop
 * reaching a backend removed from the topology; `nft -j list table` reads back exactly the rules kad wrote.
 * Tolerances: numgen inc (rr/wrr) is deterministic, so shares must be within 5 points of weight/sum; numgen random
 * over 400 connections at 25 % has a standard deviation of ~2.2 points, so 9 points (4 sd).
 */
import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import type { DesiredRealServer, DesiredVirtualServer } from '@kad/core'
import { NftLbBackend, nftRunner } from '../../../plugins/lb-nftables/src/backend.js'
import { mapNameOf } from '../../../plugins/lb-nftables/src/ruleset.js'
import { createLab, sh, type Lab } from '../ipvs/guest/netlab.js'
import { testLogger } from '../ipvs/helpers.js'

const ROUTER = 'kad-nft-r'
const VIP = '192.0.2.100'
const ID = `TCP:[${VIP}]:80`

const rs = (address: string, weight: number): DesiredRealServer => ({ id: `[${address}]:8080`, family: 4, address, port: 8080, weight, method: 'NAT' })
const vs = (realServers: DesiredRealServer[], scheduler = 'wrr'): DesiredVirtualServer => ({
  id: ID, family: 4, protocol: 'TCP', address: VIP, port: 80, scheduler, schedulerFlags: [], realServers, quorumUp: true,
})

describe('lb-nftables in namespaces (host kernel)', function () {
  this.timeout(60_000)
  let lab: Lab
  let backend: NftLbBackend
  const nft = nftRunner({ netns: ROUTER })
  let gen = 0
  const apply = (weights: Record<string, number>, sched = 'wrr') =>
    backend.apply({ generation: ++gen, virtualServers: [vs(lab.backends.filter((b) => b.name in weights).map((b) => rs(b.address, weights[b.name])), sched)] })
  const share = (got: Record<string, number>, name: string, n: number) => (got[name] ?? 0) / n

  before(async function () {
    if (process.getuid?.() !== 0) this.skip() // namespaces and nft need root; CI runs as root
    sh(`ip netns del ${ROUTER} 2>/dev/null || true; ip netns add ${ROUTER} && ip -n ${ROUTER} link set lo up`)
    lab = await createLab('kad-nft-', 3, ROUTER)
    backend = new NftLbBackend({ run: nft.run, log: testLogger() })
  })
  after(async () => {
    await backend?.stop(true)
    lab?.destroy()
    sh(`ip netns del ${ROUTER} 2>/dev/null || true`)
  })

  it('wrr 1:2:3 (numgen inc): connections reach the backends in the weight proportions', async () => {
    await apply({ b1: 1, b2: 2, b3: 3 })
    const n = 180
    const got = await lab.connect(VIP, 80, n)
    console.log(`      ${JSON.stringify(got)}`)
    for (const [name, w] of [['b1', 1], ['b2', 2], ['b3', 3]] as const) assert.ok(Math.abs(share(got, name, n) - w / 6) <= 0.05, JSON.stringify(got))
  })

  it('nft -j list table reads back exactly the rules and map kad wrote', async () => {
    const j = JSON.parse(await nft.read(['list', 'table', 'inet', 'kad'])) as { nftables: Record<string, any>[] }
    const map = mapNameOf(ID, 4, true)
    const maps = j.nftables.filter((o) => o.map).map((o) => o.map)
    assert.deepEqual(maps.map((m) => [m.name, m.type, m.map, m.flags, m.elem]), [[map, 'integer', 'ipv4_addr . inet_service', ['interval'], [
      [0, { concat: ['203.0.113.6', 8080] }], [{ range: [1, 2] }, { concat: ['203.0.113.10', 8080] }], [{ range: [3, 5] }, { concat: ['203.0.113.14', 8080] }],
    ]]])
    const rules = j.nftables.filter((o) => o.rule).map((o) => ({ chain: o.rule.chain, expr: o.rule.expr }))
    const expr = [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: VIP } },
      { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 80 } },
      { dnat: { family: 'ip', addr: { map: { key: { numgen: { mode: 'inc', mod: 6, offset: 0 } }, data: `@${map}` } } } },
    ]
    assert.deepEqual(rules, [{ chain: 'prerouting', expr }, { chain: 'output', expr }])
    const chains = j.nftables.filter((o) => o.chain).map((o) => [o.chain.name, o.chain.type, o.chain.hook, o.chain.prio])
    assert.deepEqual(chains, [['prerouting', 'nat', 'prerouting', -100], ['output', 'nat', 'output', -100]])
  })

  it('a backend removed from the topology gets no more connections', async () => {
    await apply({ b1: 1, b2: 1 })
    const got = await lab.connect(VIP, 80, 40)
    assert.equal(got.b3 ?? 0, 0, JSON.stringify(got))
    assert.equal((got.b1 ?? 0) + (got.b2 ?? 0), 40, JSON.stringify(got))
  })

  it('weighted random (lc -> numgen random) 1:3 within 9 points', async () => {
    await apply({ b1: 1, b3: 3 }, 'lc')
    const n = 400
    const got = await lab.connect(VIP, 80, n)
    console.log(`      ${JSON.stringify(got)}`)
    assert.ok(Math.abs(share(got, 'b1', n) - 0.25) <= 0.09, JSON.stringify(got))
    assert.equal((got.b1 ?? 0) + (got.b3 ?? 0), n)
  })

  it('sh (jhash of the source): one client always reaches the same backend', async () => {
    await apply({ b1: 1, b2: 1, b3: 1 }, 'sh')
    const got = await lab.connect(VIP, 80, 30)
    assert.equal(Object.keys(got).length, 1, JSON.stringify(got))
  })

  it('stop deletes the table', async () => {
    await backend.stop(true)
    assert.throws(() => sh(`ip netns exec ${ROUTER} nft list table inet kad 2>&1`))
  })
})

describe('lb-nftables plugin: backend selection (host kernel, namespace)', function () {
  this.timeout(30_000)
  const NS = 'kad-nft-p'
  before(function () {
    if (process.getuid?.() !== 0) this.skip() // namespaces and nft need root; CI runs as root
    sh(`ip netns del ${NS} 2>/dev/null || true; ip netns add ${NS}`)
  })
  after(() => sh(`ip netns del ${NS} 2>/dev/null || true`))

  const hasTable = (): boolean => { try { sh(`ip netns exec ${NS} nft list table inet kad 2>/dev/null`); return true } catch { return false } }
  const topo = { generation: 1, virtualServers: [vs([rs('203.0.113.6', 1)])] }

  it('probeIpvs answers from the kernel (generic netlink family IPVS)', async () => {
    const { probeIpvs } = await import('../../../plugins/ipvs/src/index.js')
    const there = await probeIpvs()
    assert.equal(there, existsSync('/proc/net/ip_vs'))
  })

  for (const [conf, ipvsThere, expected] of [
    ['lb_backend auto', false, true], ['lb_backend auto', true, false], ['lb_backend nftables', true, true], ['lb_backend ipvs', false, false],
  ] as const) {
    it(`${conf}, IPVS ${ipvsThere ? 'present' : 'absent'}: ${expected ? 'programs' : 'leaves'} table inet kad`, async () => {
      const { createTestHost } = await import('@kad/core/testing')
      const { default: nftPlugin } = await import('../../../plugins/lb-nftables/src/index.js')
      const { default: ipvsPlugin } = await import('../../../plugins/ipvs/src/index.js')
      const t = await createTestHost({
        plugins: [{ ...ipvsPlugin, parseOptions: () => ({ openKernel: async () => undefined }) }, { ...nftPlugin, parseOptions: () => ({ netns: NS, probeIpvs: async () => ipvsThere }) }],
        config: `global_defs {\n ${conf}\n}\n`,
      })
      await t.start()
      await t.hooks.topologyChanged.promise(topo)
      assert.equal(hasTable(), expected)
      await t.stop()
      assert.equal(hasTable(), false, 'stop removes the table')
    })
  }
})

describe('the kad daemon with lb-nftables in a router namespace (host kernel, TCP_CHECK)', function () {
  this.timeout(90_000)
  const R = 'kad-nftd-r'
  let lab: Lab
  let dir = ''
  let kad: import('node:child_process').ChildProcess | undefined
  let log = ''
  // auto selects nftables on a kernel without IPVS; on one with IPVS the test asks for nftables explicitly
  const CONF = `
global_defs {
  lb_backend ${existsSync('/proc/net/ip_vs') ? 'nftables' : 'auto'}
}
virtual_server ${VIP} 80 {
  delay_loop 1
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
  real_server 203.0.113.6 8080 {
    weight 1
    TCP_CHECK { connect_timeout 1 retry 0 }
  }
  real_server 203.0.113.10 8080 {
    weight 1
    TCP_CHECK { connect_timeout 1 retry 0 }
  }
  real_server 203.0.113.14 8080 {
    weight 2
    TCP_CHECK { connect_timeout 1 retry 0 }
  }
}
`
  before(async function () {
    if (process.getuid?.() !== 0) this.skip() // namespaces and nft need root; CI runs as root
    const { mkdtempSync, writeFileSync } = await import('node:fs')
    const { spawn } = await import('node:child_process')
    const { join } = await import('node:path')
    sh(`ip netns del ${R} 2>/dev/null || true; ip netns add ${R} && ip -n ${R} link set lo up`)
    lab = await createLab('kad-nftd-', 3, R)
    dir = mkdtempSync('/tmp/kad-nftd-')
    writeFileSync(join(dir, 'keepalived.conf'), CONF)
    kad = spawn('ip', ['netns', 'exec', R, process.execPath, 'bin/kad.js', '-n', '-l', '-C', '-f', join(dir, 'keepalived.conf'), '-p', join(dir, 'kad.pid'), '-c', join(dir, 'c.pid')], { stdio: ['ignore', 'pipe', 'pipe'] })
    kad.stdout!.on('data', (b) => (log += b))
    kad.stderr!.on('data', (b) => (log += b))
  })
  after(async () => {
    if (kad && kad.exitCode === null) {
      const done = new Promise((r) => kad!.once('exit', r))
      kad.kill('SIGTERM')
      await done
    }
    lab?.destroy()
    sh(`ip netns del ${R} 2>/dev/null || true`)
    if (dir) sh(`rm -rf ${dir}`)
  })

  const hasTable = (): boolean => { try { sh(`ip netns exec ${R} nft list table inet kad 2>/dev/null`); return true } catch { return false } }
  const waitUntil = async (what: string, ok: () => Promise<boolean> | boolean, ms: number): Promise<number> => {
    const t0 = Date.now()
    while (!(await ok())) {
      if (Date.now() - t0 > ms) assert.fail(`${what} not within ${ms} ms\n${log}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    return Date.now() - t0
  }

  it('IPVS absent: kad programs the nftables table and traffic follows the weights', async () => {
    await waitUntil('table inet kad', hasTable, 30_000)
    await waitUntil('all three backends in the map', () => /203\.0\.113\.14/.test(sh(`ip netns exec ${R} nft list table inet kad`)), 10_000)
    const got = await lab.connect(VIP, 80, 80)
    assert.deepEqual([got.b1, got.b2, got.b3], [20, 20, 40], JSON.stringify(got))
  })

  it('a backend whose check fails stops receiving connections within delay_loop + connect_timeout (+1 s + polling cost)', async () => {
    // bound: delay_loop 1 s + connect_timeout 1 s + 1 s, plus four times the cost of one poll (a loaded machine)
    const t0 = performance.now()
    for (let i = 0; i < 3; i++) sh(`ip netns exec ${R} nft list table inet kad`)
    const bound = 3000 + Math.round((4 * (performance.now() - t0)) / 3)
    lab.stopBackend('b3')
    const ms = await waitUntil('b3 out of the map', () => !/203\.0\.113\.14/.test(sh(`ip netns exec ${R} nft list table inet kad`)), bound)
    console.log(`      removed after ${ms} ms`)
    const got = await lab.connect(VIP, 80, 40)
    assert.deepEqual([got.b1, got.b2, got.b3 ?? 0], [20, 20, 0], JSON.stringify(got))
  })

  it('stop deletes the table', async () => {
    const done = new Promise((r) => kad!.once('exit', r))
    kad!.kill('SIGTERM')
    await done
    assert.equal(hasTable(), false)
  })
})
