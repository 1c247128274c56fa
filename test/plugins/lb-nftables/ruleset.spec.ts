import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import sinon from 'sinon'
import type { DesiredRealServer, DesiredTopology, DesiredVirtualServer } from '@kad/core'
import { buildBatch, mapNameOf, planNft, ruleOf, totalWeight } from '../../../plugins/lb-nftables/src/ruleset.js'
import { NftLbBackend } from '../../../plugins/lb-nftables/src/backend.js'
import { testLogger } from '../ipvs/helpers.js'

const rs = (address: string, port: number, weight = 1, extra: Partial<DesiredRealServer> = {}): DesiredRealServer => ({
  id: `[${address}]:${port}`, family: address.includes(':') ? 6 : 4, address, port, weight, method: 'NAT', ...extra,
})
const vs = (address: string, port: number, realServers: DesiredRealServer[], extra: Partial<DesiredVirtualServer> = {}): DesiredVirtualServer => ({
  id: `TCP:[${address}]:${port}`, family: address.includes(':') ? 6 : 4, protocol: 'TCP', address, port, scheduler: 'wrr', schedulerFlags: [], realServers, quorumUp: true, ...extra,
})
const topo = (...v: DesiredVirtualServer[]): DesiredTopology => ({ generation: 1, virtualServers: v })

describe('lb-nftables ruleset', () => {
  it('weights become intervals of a numgen map; weight 0 and DR/TUN servers are left out', () => {
    const skipped: string[] = []
    const p = planNft(topo(vs('192.0.2.100', 80, [rs('203.0.113.6', 8080, 1), rs('203.0.113.10', 8080, 2), rs('203.0.113.14', 8080, 0), rs('203.0.113.18', 80, 1, { method: 'DR' })])), (id) => skipped.push(id))
    const s = p.get('TCP:[192.0.2.100]:80')!
    assert.equal(totalWeight(s), 3)
    assert.equal(ruleOf(s), `ip daddr 192.0.2.100 meta l4proto tcp th dport 80 dnat ip to numgen inc mod 3 map @${s.mapName}`)
    assert.ok(buildBatch(undefined, p).includes(`add element inet kad ${s.mapName} { 0-0 : 203.0.113.6 . 8080, 1-2 : 203.0.113.10 . 8080 }`))
    assert.deepEqual(skipped, ['TCP:[192.0.2.100]:80 [203.0.113.18]:80'])
  })
  it('selectors: rr/wrr inc, sh/mh/persistence jhash of the source, others random; fwmark and IPv6 rules', () => {
    const sel = (extra: Partial<DesiredVirtualServer>) => planNft(topo(vs('192.0.2.1', 80, [rs('203.0.113.6', 80)], extra))).values().next().value!.selector
    assert.equal(sel({ scheduler: 'rr' }), 'inc')
    assert.equal(sel({ scheduler: 'sh' }), 'jhash')
    assert.equal(sel({ scheduler: 'wlc', persistence: { timeout: 300 } }), 'jhash')
    assert.equal(sel({ scheduler: 'lc' }), 'random')
    const f = planNft(topo({ id: 'FWM:6:9', family: 6, protocol: null, fwmark: 9, scheduler: 'sh', schedulerFlags: [], realServers: [rs('2001:db8::10', 0)], quorumUp: true }))
    assert.equal(ruleOf(f.get('FWM:6:9')!), `meta mark 9 meta nfproto ipv6 dnat ip6 to jhash ip6 saddr mod 1 seed 0x6b6164 map @${mapNameOf('FWM:6:9', 6, false)}`)
    const u = planNft(topo(vs('2001:db8::1', 53, [rs('2001:db8::10', 53)], { protocol: 'UDP', id: 'UDP:[2001:db8::1]:53' })))
    assert.match(buildBatch(undefined, u), /typeof numgen inc mod 1 : ip6 daddr \. udp dport/)
  })
  it('a change of one service touches only its map; a removed service deletes its map; the first batch replaces the table', () => {
    const a = planNft(topo(vs('192.0.2.1', 80, [rs('203.0.113.6', 80, 1)]), vs('192.0.2.2', 80, [rs('203.0.113.10', 80, 1)])))
    const b = planNft(topo(vs('192.0.2.1', 80, [rs('203.0.113.6', 80, 5)]), vs('192.0.2.2', 80, [rs('203.0.113.10', 80, 1)])))
    const first = buildBatch(undefined, a)
    assert.match(first, /^add table inet kad\ndelete table inet kad\nadd table inet kad\n/)
    const inc = buildBatch(a, b)
    const m1 = mapNameOf('TCP:[192.0.2.1]:80', 4, true)
    assert.deepEqual(inc.split('\n').filter((l) => / map | element /.test(l) && !l.startsWith('add rule')), [
      `flush map inet kad ${m1}`, `add element inet kad ${m1} { 0-4 : 203.0.113.6 . 80 }`,
    ])
    const c = planNft(topo(vs('192.0.2.1', 80, [rs('203.0.113.6', 80, 5)])))
    assert.ok(buildBatch(b, c).endsWith(`delete map inet kad ${mapNameOf('TCP:[192.0.2.2]:80', 4, true)}\n`))
  })
  it('fuzz: any topology gives a batch whose names are safe and whose intervals cover 0..sum-1', () => {
    const rsArb = fc.record({ a: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }), w: fc.integer({ min: 0, max: 1000 }), m: fc.constantFrom('NAT', 'NAT', 'DR', 'TUN') })
    fc.assert(fc.property(fc.array(fc.record({ id: fc.string(), a: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }), sched: fc.constantFrom('rr', 'wrr', 'sh', 'lc'), rss: fc.array(rsArb, { maxLength: 6 }) }), { maxLength: 6 }), (vss) => {
      const t = topo(...vss.map((v) => vs(v.a, v.port, v.rss.map((r) => rs(r.a, r.port, r.w, { method: r.m as 'NAT' })), { id: v.id, scheduler: v.sched })))
      const p = planNft(t)
      for (const s of p.values()) {
        assert.match(s.mapName, /^[A-Za-z0-9_]+$/)
        assert.ok(s.mapName.length < 256)
        let next = 0
        for (const b of s.backends) { assert.ok(b.weight > 0); next += b.weight }
        assert.equal(next, totalWeight(s))
      }
      assert.equal(new Set([...p.values()].map((s) => s.mapName)).size, p.size, 'map names are unique')
      const batch = buildBatch(undefined, p)
      assert.ok(!/[;{}]\s*[;{}]{2}/.test(batch.replace(/\{ type nat[^}]*\}/g, '')))
    }), { numRuns: 300 })
  })
})

describe('lb-nftables backend', () => {
  it('one transaction per change, coalesced; a failed transaction is retried as a whole-table replacement', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const batches: string[] = []
      let fail = 0
      const b = new NftLbBackend({ log: testLogger(), minBackoffMs: 500, run: async (x) => { batches.push(x); if (fail-- > 0) throw new Error('Error: Could not process rule') } })
      await Promise.all([1, 2, 3].map((w) => b.apply(topo(vs('192.0.2.1', 80, [rs('203.0.113.6', 80, w)])))))
      assert.equal(batches.length, 2, 'first, then the newest of the coalesced two')
      assert.match(batches[1], /0-2 : 203\.0\.113\.6/)
      fail = 1
      await b.apply(topo(vs('192.0.2.1', 80, [rs('203.0.113.6', 80, 7)])))
      assert.equal(b.stats.failures, 1)
      await clock.tickAsync(500)
      assert.equal(batches.length, 4)
      assert.match(batches[3], /^add table inet kad\ndelete table inet kad/)
      await b.stop(true)
      assert.equal(batches[4], 'add table inet kad\ndelete table inet kad\n')
    } finally {
      clock.restore()
    }
  })
})
