import { strict as assert } from 'node:assert'
import sinon from 'sinon'
import type { DesiredRealServer, DesiredTopology, DesiredVirtualServer } from '@kad/core'
import { IpvsBackend } from '../../../plugins/ipvs/src/backend.js'
import { FWD, IPVS_CMD, PROTO, SVC_F, TUN_TYPE, TUN_FLAG } from '../../../plugins/ipvs/src/codec/ipvs.js'
import { IncrementalPlanner, netmaskOf, planOf, SCHEDULERS, serviceOf, destOf } from '../../../plugins/ipvs/src/model.js'
import { FakeIpvsKernel } from './fake-kernel.js'
import { testLogger } from './helpers.js'

const rs = (address: string, port: number, weight = 1, extra: Partial<DesiredRealServer> = {}): DesiredRealServer => ({
  id: `[${address}]:${port}`, family: address.includes(':') ? 6 : 4, address, port, weight, method: 'NAT', ...extra,
})
const vs = (address: string, port: number, realServers: DesiredRealServer[], extra: Partial<DesiredVirtualServer> = {}): DesiredVirtualServer => ({
  id: `TCP:[${address}]:${port}`, family: address.includes(':') ? 6 : 4, protocol: 'TCP', address, port, scheduler: 'wrr', schedulerFlags: [], realServers, quorumUp: true, ...extra,
})
let gen = 0
const topo = (...virtualServers: DesiredVirtualServer[]): DesiredTopology => ({ generation: ++gen, virtualServers })

describe('ipvs model: topology -> IPVS', () => {
  it('maps every scheduler and scheduler flag', () => {
    for (const s of SCHEDULERS) assert.equal(serviceOf(vs('192.0.2.1', 80, [], { scheduler: s })).scheduler, s)
    const f = (flags: string[], scheduler = 'sh') => serviceOf(vs('192.0.2.1', 80, [], { scheduler, schedulerFlags: flags })).flags
    assert.equal(f(['sh-port']), SVC_F.SCHED2)
    assert.equal(f(['sh-fallback']), SVC_F.SCHED1)
    assert.equal(f(['mh-port', 'mh-fallback'], 'mh'), SVC_F.SCHED1 | SVC_F.SCHED2)
    assert.equal(f(['flag-1', 'flag-2', 'flag-3'], 'rr'), SVC_F.SCHED1 | SVC_F.SCHED2 | SVC_F.SCHED3)
    assert.equal(f(['ops'], 'rr'), SVC_F.ONEPACKET)
  })
  it('maps persistence, granularity, engine, fwmark and IPv6', () => {
    const s = serviceOf(vs('192.0.2.1', 5060, [], { protocol: 'UDP', persistence: { timeout: 300, granularity: '255.255.255.0', engine: 'sip' } }))
    assert.deepEqual([s.flags, s.timeout, s.netmask, s.peName, s.protocol], [SVC_F.PERSISTENT, 300, 0xffffff00, 'sip', PROTO.UDP])
    const f = serviceOf({ id: 'FWM:6:9', family: 6, protocol: null, fwmark: 9, scheduler: 'rr', schedulerFlags: [], realServers: [], quorumUp: true, persistence: { timeout: 60, granularity: '64' } })
    assert.deepEqual([f.af, f.fwmark, f.protocol, f.netmask, f.address], [6, 9, 0, 64, undefined])
    assert.equal(serviceOf(vs('2001:DB8:0::1', 443, [])).address, '2001:db8::1')
    assert.equal(netmaskOf(4, '24'), 0xffffff00)
    assert.equal(netmaskOf(4, undefined), 0xffffffff)
  })
  it('maps forwarding methods, tunnels, thresholds, inhibited weight', () => {
    assert.equal(destOf(rs('192.0.2.10', 80)).fwdMethod, FWD.MASQ)
    assert.equal(destOf(rs('192.0.2.10', 80, 1, { method: 'DR' })).fwdMethod, FWD.DROUTE)
    const t = destOf(rs('192.0.2.10', 80, 0, { method: 'TUN', tunnel: { type: 'gue', port: 6080, checksum: 'remcsum' }, uthreshold: 100, lthreshold: 10 }))
    assert.deepEqual([t.fwdMethod, t.tunType, t.tunPort, t.tunFlags, t.weight, t.uThreshold, t.lThreshold], [FWD.TUNNEL, TUN_TYPE.gue, 6080, TUN_FLAG.remcsum, 0, 100, 10])
    const g = destOf(rs('192.0.2.10', 80, 1, { method: 'TUN', tunnel: { type: 'gre', checksum: 'csum' } }))
    assert.deepEqual([g.tunType, g.tunPort, g.tunFlags], [TUN_TYPE.gre, 0, TUN_FLAG.csum])
  })
  it('the incremental planner re-plans only virtual servers that changed', () => {
    const p = new IncrementalPlanner()
    const a = vs('192.0.2.1', 80, [rs('192.0.2.10', 80)])
    const b = vs('192.0.2.2', 80, [rs('192.0.2.20', 80)])
    assert.deepEqual([...p.update(topo(a, b)).changed], ['TCP:[192.0.2.1]:80', 'TCP:[192.0.2.2]:80'])
    assert.deepEqual([...p.update(topo(a, { ...b })).changed], [], 'same object or same content: nothing')
    assert.deepEqual([...p.update(topo(a, vs('192.0.2.2', 80, [rs('192.0.2.20', 80, 4)]))).changed], ['TCP:[192.0.2.2]:80'])
    const r = p.update(topo(a))
    assert.deepEqual([...r.changed], ['TCP:[192.0.2.2]:80'])
    assert.equal(r.plan.size, 1)
  })
  it('skips entries with bad addresses and reports them', () => {
    const bad: string[] = []
    const p = planOf(topo(vs('192.0.2.1', 80, [rs('not-an-ip', 1)]), vs('999.1.1.1', 80, [])), (id) => bad.push(id))
    assert.equal(p.size, 1)
    assert.equal(bad.length, 2)
  })
})

describe('ipvs backend: reconciliation against a fake kernel', () => {
  const unrelated = { af: 4 as const, protocol: PROTO.TCP, address: '203.0.113.9', port: 22, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff }
  const unrelatedRs = { af: 4 as const, address: '203.0.113.10', port: 22, fwdMethod: FWD.DROUTE, weight: 1, uThreshold: 0, lThreshold: 0 }

  it('start converges from the kernel table without dropping entries that stay, and leaves unrelated services', async () => {
    const k = new FakeIpvsKernel()
    k.add(unrelated, [unrelatedRs])
    // a service of the config is already there with one of its real servers (e.g. kad restarted with -I)
    k.add({ af: 4, protocol: PROTO.TCP, address: '192.0.2.1', port: 80, scheduler: 'wrr', flags: 0, timeout: 0, netmask: 0xffffffff },
      [{ af: 4, address: '192.0.2.10', port: 80, fwdMethod: FWD.MASQ, weight: 2, uThreshold: 0, lThreshold: 0 }])
    const b = new IpvsBackend({ kernel: k, log: testLogger() })
    await b.start()
    await b.apply(topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80, 2), rs('192.0.2.11', 80, 3)]), vs('192.0.2.2', 443, [rs('192.0.2.20', 443)])))
    assert.deepEqual(k.log, [`${IPVS_CMD.NEW_DEST} TCP:[192.0.2.1]:80 [192.0.2.11]:80`, `${IPVS_CMD.NEW_SERVICE} TCP:[192.0.2.2]:443`, `${IPVS_CMD.NEW_DEST} TCP:[192.0.2.2]:443 [192.0.2.20]:443`])
    assert.equal(k.services.size, 3)
    assert.equal(k.services.get('TCP:[203.0.113.9]:22')!.dests.size, 1)
  })

  it('a change of one real server sends exactly one command', async () => {
    const k = new FakeIpvsKernel()
    const b = new IpvsBackend({ kernel: k, log: testLogger() })
    const base = (w: number, extra: DesiredRealServer[] = []) => topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80, 1), rs('192.0.2.11', 80, w), ...extra]), vs('192.0.2.2', 80, [rs('192.0.2.20', 80)]))
    await b.apply(base(1))
    k.log.length = 0
    await b.apply(base(5))
    assert.deepEqual(k.log, [`${IPVS_CMD.SET_DEST} TCP:[192.0.2.1]:80 [192.0.2.11]:80`])
    k.log.length = 0
    await b.apply(topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80, 1)]), vs('192.0.2.2', 80, [rs('192.0.2.20', 80)])))
    assert.deepEqual(k.log, [`${IPVS_CMD.DEL_DEST} TCP:[192.0.2.1]:80 [192.0.2.11]:80`])
    k.log.length = 0
    await b.apply(topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80, 1)])))
    assert.deepEqual(k.log, [`${IPVS_CMD.DEL_SERVICE} TCP:[192.0.2.2]:80`])
    k.log.length = 0
    await b.apply(topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80, 1)], { scheduler: 'sh', schedulerFlags: ['sh-port'] })))
    assert.deepEqual(k.log, [`${IPVS_CMD.SET_SERVICE} TCP:[192.0.2.1]:80`])
  })

  it('stop removes only what kad owns; -I keeps it; lvs_flush_on_stop flushes', async () => {
    for (const [opts, left] of [[{ release: true }, 1], [{ release: false }, 3], [{ release: true, flush: 'full' as const }, 0]] as const) {
      const k = new FakeIpvsKernel()
      k.add(unrelated, [unrelatedRs])
      const b = new IpvsBackend({ kernel: k, log: testLogger() })
      await b.apply(topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80)]), vs('2001:db8::1', 80, [rs('2001:db8::10', 80)])))
      assert.equal(k.services.size, 3)
      await b.stop(opts)
      assert.equal(k.services.size, left, JSON.stringify(opts))
      if (left === 1) assert.ok(k.services.has('TCP:[203.0.113.9]:22'))
    }
  })

  it('kernel failures are logged with the service and errno and retried with backoff', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const k = new FakeIpvsKernel()
      let fails = 2
      k.failWith = (cmd) => (cmd === IPVS_CMD.NEW_DEST && fails-- > 0 ? 'ENOMEM' : undefined)
      const lines: string[] = []
      const b = new IpvsBackend({ kernel: k, log: testLogger(lines), minBackoffMs: 1000 })
      await b.apply(topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80)])))
      assert.equal(k.services.get('TCP:[192.0.2.1]:80')!.dests.size, 0)
      assert.match(lines.join('\n'), /add real server \[192\.0\.2\.10\]:80 of TCP 192\.0\.2\.1:80 failed: ENOMEM/)
      await clock.tickAsync(1000)
      assert.equal(k.services.get('TCP:[192.0.2.1]:80')!.dests.size, 0, 'second attempt fails too')
      await clock.tickAsync(1999)
      assert.equal(k.services.get('TCP:[192.0.2.1]:80')!.dests.size, 0, 'backoff doubled to 2 s')
      await clock.tickAsync(1)
      assert.equal(k.services.get('TCP:[192.0.2.1]:80')!.dests.size, 1)
      assert.equal(b.stats.failures, 2)
    } finally {
      clock.restore()
    }
  })

  it('a service added by hand meanwhile (EEXIST) is resynchronised', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const k = new FakeIpvsKernel()
      const b = new IpvsBackend({ kernel: k, log: testLogger(), minBackoffMs: 100 })
      await b.apply(topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80)])))
      k.add({ af: 4, protocol: PROTO.TCP, address: '192.0.2.3', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff })
      await b.apply(topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80)]), vs('192.0.2.3', 80, [rs('192.0.2.30', 80)])))
      await clock.tickAsync(100)
      const s = k.services.get('TCP:[192.0.2.3]:80')!
      assert.equal(s.service.scheduler, 'wrr')
      assert.equal(s.dests.size, 1)
    } finally {
      clock.restore()
    }
  })

  it('coalesces topologies that arrive during a convergence', async () => {
    const k = new FakeIpvsKernel()
    const b = new IpvsBackend({ kernel: k, log: testLogger() })
    const ps = [1, 2, 3, 4, 5].map((w) => b.apply(topo(vs('192.0.2.1', 80, [rs('192.0.2.10', 80, w)]))))
    await Promise.all(ps)
    assert.ok(k.execCalls <= 2, `exec calls ${k.execCalls}`)
    assert.equal([...k.services.get('TCP:[192.0.2.1]:80')!.dests.values()][0].weight, 5)
  })
})
