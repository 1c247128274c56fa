/**
 * Runs INSIDE the UML guest: real TCP connections through IPVS (NAT) reach the backends in the weight
 * proportions and stop reaching a backend once the topology drops it or inhibits it (weight 0).
 * Tolerance: wrr is deterministic, so each backend's share must be within 5 percentage points of weight/sum.
 */
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { IpvsBackend } from '../../../../plugins/ipvs/src/backend.js'
import { NetlinkIpvs } from '../../../../plugins/ipvs/src/kernel.js'
import { testLogger } from '../helpers.js'
import { createLab, sh, type Lab } from './netlab.js'
import { rs, vs } from './topology.js'

const VIP = '192.0.2.100'
const TOLERANCE = 0.05

describe('IPVS traffic in the UML kernel (NAT)', function () {
  this.timeout(120_000)
  let lab: Lab
  let backend: IpvsBackend
  let k: NetlinkIpvs
  let gen = 0
  const topo = (weights: Record<string, number>, sched = 'wrr', extra: Record<string, unknown> = {}) => ({
    generation: ++gen,
    virtualServers: [vs(VIP, 80, lab.backends.filter((b) => b.name in weights).map((b) => rs(b.address, 8080, weights[b.name])), { scheduler: sched, ...extra })],
  })

  before(async () => {
    execFileSync('ipvsadm', ['-C'])
    lab = await createLab('kad-ipvs-', 3)
    sh(`ip link add kad-ipvs-vip type dummy && ip addr add ${VIP}/32 dev kad-ipvs-vip && ip link set kad-ipvs-vip up`)
    k = (await NetlinkIpvs.open())!
    backend = new IpvsBackend({ kernel: k, log: testLogger() })
  })
  after(async () => {
    await backend?.stop({ release: true })
    k?.close()
    lab?.destroy()
    sh('ip link del kad-ipvs-vip 2>/dev/null || true')
  })

  it('connections reach the backends in the weight proportions (wrr 1:2:3, within 5 points)', async () => {
    await backend.apply(topo({ b1: 1, b2: 2, b3: 3 }))
    const n = 180
    const got = await lab.connect(VIP, 80, n)
    console.log(`      ${JSON.stringify(got)}`)
    for (const [name, w] of [['b1', 1], ['b2', 2], ['b3', 3]] as const) {
      assert.ok(Math.abs((got[name] ?? 0) / n - w / 6) <= TOLERANCE, `${name}: ${got[name]} of ${n}, expected ~${(n * w) / 6}`)
    }
  })

  it('a backend removed from the topology gets no more connections', async () => {
    await backend.apply(topo({ b1: 1, b2: 1 }))
    const got = await lab.connect(VIP, 80, 40)
    assert.equal(got.b3 ?? 0, 0, JSON.stringify(got))
    assert.equal((got.b1 ?? 0) + (got.b2 ?? 0), 40, JSON.stringify(got))
  })

  it('an inhibited backend (weight 0) gets no new connections', async () => {
    await backend.apply(topo({ b1: 0, b2: 1, b3: 1 }))
    const got = await lab.connect(VIP, 80, 40)
    assert.equal(got.b1 ?? 0, 0, JSON.stringify(got))
    assert.equal((got.b2 ?? 0) + (got.b3 ?? 0), 40, JSON.stringify(got))
  })

  it('persistence_timeout: one client keeps reaching the same backend under rr', async () => {
    await backend.apply(topo({ b1: 1, b2: 1, b3: 1 }, 'rr', { persistence: { timeout: 60 } }))
    const got = await lab.connect(VIP, 80, 20)
    assert.equal(Object.keys(got).length, 1, JSON.stringify(got))
    assert.equal(Object.values(got)[0], 20)
  })
})
