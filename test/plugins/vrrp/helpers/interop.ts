import assert from 'node:assert/strict'
import { Lab, instance, waitFor, type Daemon } from './lab.js'

export interface Scenario {
  version: 2 | 3
  family: 4 | 6
  advert: number
  auth?: string
  authType?: 'PASS' | 'AH'
  unicast?: boolean
}

/** kad log lines for a rejected advert */
export const KAD_REJECT = /rejected advert/
/** keepalived log lines reporting a packet it refused */
export const KA_REJECT = /invalid|Invalid|wrong version|interval mismatch|too short|too long|unexpected ip number|not present in MASTER|not a unicast peer|Expected (un|mult)icast|auth, expecting|invalid passwd|TTL/

/**
 * kad and keepalived on one segment, both directions and both signals:
 * kad MASTER / keepalived BACKUP; SIGKILL kad -> keepalived MASTER; kad back (preempts); SIGTERM kad -> keepalived;
 * kad as BACKUP; SIGKILL keepalived -> kad MASTER; keepalived back (preempts); SIGTERM keepalived -> kad MASTER.
 */
export async function interopScenario(lab: Lab, s: Scenario): Promise<{ failovers: Record<string, number> }> {
  try {
    return await scenario(lab, s)
  } catch (e) {
    if (process.env.VRRP_TEST_LOGS) for (const d of lab.daemons) console.error(`---- ${d.name}\n${d.log}`)
    throw e
  }
}

async function scenario(lab: Lab, s: Scenario): Promise<{ failovers: Record<string, number> }> {
  const a = lab.host('a', 1)
  const b = lab.host('b', 2)
  const vip = s.family === 4 ? '192.0.2.100' : '2001:db8::100'
  const peerOf = (me: number) => (s.family === 4 ? `192.0.2.${3 - me}` : `2001:db8::${3 - me}`)
  const srcOf = (me: number) => (s.family === 4 ? `192.0.2.${me}` : `2001:db8::${me}`)
  const extra = (me: number) =>
    [
      s.auth ? `authentication {\n    auth_type ${s.authType ?? 'PASS'}\n    auth_pass ${s.auth}\n  }` : '',
      s.unicast ? `unicast_src_ip ${srcOf(me)}\n  unicast_peer {\n    ${peerOf(me)}\n  }` : '',
    ].join('\n  ')
  const conf = (me: number, prio: number) => instance({ priority: prio, advert: s.advert, version: s.version, vips: [s.family === 4 ? `${vip}/24` : `${vip}/64`], extra: extra(me) })
  const master = (ns: string) => lab.hasAddr(ns, vip)
  const failovers: Record<string, number> = {}
  // after a SIGKILL the dead router keeps its VIP (as keepalived's does): only the new master is checked
  const timed = async (name: string, ns: string, other: string) => {
    const t0 = Date.now()
    const killed = name.includes('SIGKILL')
    await waitFor(`${name}: VIP on ${ns}`, () => master(ns) && (killed || !master(other)), 20000, 5)
    failovers[name] = Date.now() - t0
  }
  const logs: Daemon[] = []

  let ka = lab.keepalived(b, 'ka1', conf(2, 100))
  logs.push(ka)
  let kad = lab.kad(a, 'kad1', conf(1, 150))
  logs.push(kad)
  await waitFor('kad MASTER, keepalived BACKUP', () => master(a) && !master(b) && ka.has(/Entering BACKUP STATE/) && kad.has(/Entering MASTER STATE/), 20000)
  await new Promise((r) => setTimeout(r, s.advert * 3000))
  assert.ok(master(a) && !master(b), 'kad stays MASTER')

  await kad.kill9()
  await timed('kad SIGKILL', b, a)
  kad = lab.kad(a, 'kad2', conf(1, 150))
  logs.push(kad)
  await waitFor('kad preempts keepalived', () => master(a) && !master(b), 20000)
  await kad.term()
  assert.ok(!master(a), 'kad removed its VIP on SIGTERM')
  await timed('kad SIGTERM', b, a)

  kad = lab.kad(a, 'kad3', conf(1, 50))
  logs.push(kad)
  await waitFor('kad BACKUP under keepalived', () => kad.has(/Entering BACKUP STATE/), 20000)
  await new Promise((r) => setTimeout(r, s.advert * 4000))
  assert.ok(master(b) && !master(a), 'keepalived stays MASTER over a lower kad')
  await ka.kill9()
  await timed('keepalived SIGKILL', a, b)
  ka = lab.keepalived(b, 'ka2', conf(2, 100))
  logs.push(ka)
  await waitFor('keepalived preempts kad', () => master(b) && !master(a), 20000)
  await ka.term()
  await timed('keepalived SIGTERM', a, b)
  await kad.term()
  assert.ok(!master(a), 'kad removed its VIP on stop')

  for (const d of logs) {
    const bad = d.out.filter((l) => (d.name.startsWith('kad') ? KAD_REJECT : KA_REJECT).test(l))
    assert.deepEqual(bad, [], `${d.name} logged rejected packets`)
  }
  return { failovers }
}
