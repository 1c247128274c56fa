/**
 * Runs INSIDE the UML guest: the whole checker process (checkers framework + TCP_CHECK + ipvs plugin) against the
 * real IPVS kernel and node backends in namespaces. A stopped backend leaves the table (or goes to weight 0 with
 * inhibit_on_failure) within delay_loop + connect_timeout (+ a slack measured from the cost of one ipvsadm poll,
 * at least 1 s), comes back when healthy, and
 * quorum loss installs the sorry server.
 */
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { createTestHost, type TestHost } from '@kad/core/testing'
import checkers from '../../../../plugins/checkers/src/index.js'
import checkerTcp from '../../../../plugins/checker-tcp/src/index.js'
import ipvs from '../../../../plugins/ipvs/src/index.js'
import { createLab, type Lab } from './netlab.js'

const SPEC_MS = 1000 /* delay_loop */ + 1000 /* connect_timeout */
/** slack for observing the table: 1 s plus four times what one `ipvsadm -Sn` poll costs in this (maybe loaded) guest */
let BOUND_MS = SPEC_MS + 1500
const CONF = `
virtual_server 192.0.2.100 80 {
  delay_loop 1
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
  quorum 3
  sorry_server 198.51.100.200 80
  real_server 203.0.113.6 8080 {
    weight 1
    TCP_CHECK { connect_timeout 1 retry 0 }
  }
  real_server 203.0.113.10 8080 {
    weight 2
    inhibit_on_failure
    TCP_CHECK { connect_timeout 1 retry 0 }
  }
  real_server 203.0.113.14 8080 {
    weight 3
    TCP_CHECK { connect_timeout 1 retry 0 }
  }
}
`
const reals = (): string[] => execFileSync('ipvsadm', ['-Sn'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('-a -t 192.0.2.100:80')).map((l) => l.replace('-a -t 192.0.2.100:80 -r ', '')).sort()

async function waitFor(what: string, want: string[], limitMs: number): Promise<number> {
  const t0 = Date.now()
  for (;;) {
    const got = reals()
    if (JSON.stringify(got) === JSON.stringify([...want].sort())) return Date.now() - t0
    if (Date.now() - t0 > limitMs) assert.fail(`${what}: after ${limitMs} ms the table has ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('checkers + TCP_CHECK + ipvs in the UML kernel', function () {
  this.timeout(180_000)
  let lab: Lab
  let t: TestHost

  before(async () => {
    execFileSync('ipvsadm', ['-C'])
    lab = await createLab('kad-ipvc-', 3)
    t = await createTestHost({ plugins: [checkers, checkerTcp, ipvs], config: CONF })
    assert.deepEqual(t.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal'), [])
    await t.start()
    const t0 = performance.now()
    for (let i = 0; i < 3; i++) reals()
    BOUND_MS = SPEC_MS + 1000 + Math.round((4 * (performance.now() - t0)) / 3)
    console.log(`      bound: ${BOUND_MS} ms (delay_loop 1 s + connect_timeout 1 s + observation slack)`)
  })
  after(async () => {
    await t?.stop()
    lab?.destroy()
  })

  it('all healthy: the three real servers with their weights', async () => {
    await waitFor('start', ['203.0.113.6:8080 -m -w 1', '203.0.113.10:8080 -m -w 2', '203.0.113.14:8080 -m -w 3'], 5000)
  })

  it('a stopped backend is removed within delay_loop + connect_timeout', async () => {
    lab.stopBackend('b3')
    const ms = await waitFor('b3 down', ['203.0.113.6:8080 -m -w 1', '203.0.113.10:8080 -m -w 2'], BOUND_MS)
    console.log(`      removed after ${ms} ms`)
  })

  it('with inhibit_on_failure it goes to weight 0; quorum (3) lost installs the sorry server', async () => {
    lab.stopBackend('b2')
    const ms = await waitFor('b2 down', ['203.0.113.10:8080 -m -w 0', '198.51.100.200:80 -m -w 1'], BOUND_MS)
    console.log(`      inhibited + sorry server after ${ms} ms`)
  })

  it('healthy again: back with their weights, the sorry server leaves', async () => {
    await lab.startBackend('b2')
    await lab.startBackend('b3')
    const ms = await waitFor('back', ['203.0.113.6:8080 -m -w 1', '203.0.113.10:8080 -m -w 2', '203.0.113.14:8080 -m -w 3'], BOUND_MS + 1000)
    console.log(`      restored after ${ms} ms`)
  })

  it('stop removes the service', async () => {
    await t.stop()
    assert.deepEqual(reals(), [])
  })
})
