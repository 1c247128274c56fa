import { strict as assert } from 'node:assert'
import { createTestHost } from '@kad/core/testing'
import bfdPlugin, { bfdSection, trackEffect, effectiveTrack, type BfdSection } from '../../../plugins/bfd/src/index.js'
import checkersPlugin from '../../../plugins/checkers/src/index.js'
import vrrpPlugin from '../../../plugins/vrrp/src/index.js'

const ALL = [bfdPlugin, checkersPlugin, vrrpPlugin]

async function parse(config: string, plugins: any[] = ALL) {
  const t = await createTestHost({ plugins, config, role: 'parent' })
  await t.stop()
  return t
}

const messages = (t: { diagnostics: readonly { message: string }[] }) => t.diagnostics.map((d) => d.message)

describe('bfd keywords', () => {
  it('bfd_instance with keepalived defaults', async () => {
    const t = await parse('bfd_instance b1 {\n neighbor_ip 192.0.2.2\n}\n')
    assert.deepEqual(messages(t), [])
    const s = bfdSection(t.model)
    assert.equal(s.instances.length, 1)
    const i = s.instances[0]
    assert.equal(i.name, 'b1')
    assert.equal(i.family, 4)
    assert.equal(i.neighbor, '192.0.2.2')
    assert.equal(i.minRxUs, 10_000)
    assert.equal(i.minTxUs, 10_000)
    assert.equal(i.idleTxUs, 1_000_000)
    assert.equal(i.multiplier, 5)
    assert.equal(i.passive, false)
    assert.equal(i.multihop, false)
    assert.equal(i.ttl, 255)
    assert.equal(i.maxHops, 0)
    assert.equal(i.weight, 0)
    assert.equal(i.reverse, false)
    assert.equal(i.toVrrp, true)
    assert.equal(i.toChecker, true)
  })

  it('every keyword', async () => {
    const t = await parse(`bfd_instance b2 {
  neighbour_ip 2001:db8:0:0::2
  source_ip 2001:db8::1
  min_rx 3.312
  min_tx 20
  idle_tx 2000
  multiplier 3
  passive
  hoplimit 200
  max_hops 10
  multihop
  weight -20 reverse
  vrrp
}
`)
    assert.deepEqual(messages(t), [])
    const i = bfdSection(t.model).instances[0]
    assert.equal(i.neighbor, '2001:db8::2')
    assert.equal(i.source, '2001:db8::1')
    assert.equal(i.family, 6)
    assert.equal(i.minRxUs, 3312)
    assert.equal(i.minTxUs, 20_000)
    assert.equal(i.idleTxUs, 2_000_000)
    assert.equal(i.multiplier, 3)
    assert.equal(i.passive, true)
    assert.equal(i.ttl, 200)
    assert.equal(i.maxHops, 10)
    assert.equal(i.multihop, true)
    assert.equal(i.weight, -20)
    assert.equal(i.reverse, true)
    assert.equal(i.toVrrp, true)
    assert.equal(i.toChecker, false)
  })

  it('multihop defaults to no TTL check', async () => {
    const t = await parse('bfd_instance m {\n neighbor_ip 198.51.100.2\n multihop\n}\n')
    assert.equal(bfdSection(t.model).instances[0].maxHops, 255)
  })

  it("reports keepalived's messages for bad values and keeps the defaults", async () => {
    const t = await parse(`bfd_instance b3 {
  neighbor_ip 192.0.2.3
  min_rx 0
  min_tx 1001
  idle_tx 500
  multiplier 11
  ttl 0
  max_hops 300
  weight 254
}
`)
    const m = messages(t)
    assert.ok(m.includes('Configuration error: BFD instance b3 min_rx value 0 is not valid (must be in range [1-1000]), ignoring'), m.join('\n'))
    assert.ok(m.includes('Configuration error: BFD instance b3 min_tx value 1001 is not valid (must be in range [1-1000]), ignoring'))
    assert.ok(m.includes('Configuration error: BFD instance b3 idle_tx value 500 is not valid (must be in range [1000-10000]), ignoring'))
    assert.ok(m.includes('Configuration error: BFD instance b3 multiplier value 11 not valid (must be in range [1-10]), ignoring'))
    assert.ok(m.some((x) => x.includes('ttl/hoplimit value 0 not valid')))
    assert.ok(m.some((x) => x.includes('max_hops value 300 not valid')))
    assert.ok(m.some((x) => x.includes('weight value 254 not valid')))
    const i = bfdSection(t.model).instances[0]
    assert.equal(i.minRxUs, 10_000)
    assert.equal(i.multiplier, 5)
    assert.notEqual(t.exitCode, 0)
  })

  it('disables an instance without a neighbor, with a bad neighbor, or with mixed families', async () => {
    const t = await parse(`bfd_instance n1 {
  min_rx 10
}
bfd_instance n2 {
  neighbor_ip 192.0.2.300
}
bfd_instance n3 {
  neighbor_ip 192.0.2.3
  source_ip 2001:db8::1
}
bfd_instance ok {
  neighbor_ip 192.0.2.4
}
bfd_instance ok {
  neighbor_ip 192.0.2.5
}
bfd_instance dup {
  neighbor_ip 192.0.2.4
}
`)
    const m = messages(t)
    assert.ok(m.includes('Configuration error: BFD instance n1 has no neighbor address set, disabling instance'), m.join('\n'))
    assert.ok(m.includes('Configuration error: BFD instance n2 has malformed neighbor address 192.0.2.300, ignoring instance'))
    assert.ok(m.some((x) => x.startsWith('Configuration error: BFD instance n3 source address 2001:db8::1 and neighbor address 192.0.2.3 are not of the same family')))
    assert.ok(m.includes('Configuration error: BFD instance ok already configured - ignoring'))
    assert.ok(m.includes('Configuration error: BFD instance dup has duplicate neighbor address 192.0.2.4, ignoring instance'))
    assert.deepEqual(bfdSection(t.model).instances.map((i) => i.name), ['ok'])
  })

  it('max_hops above ttl is clamped', async () => {
    const t = await parse('bfd_instance c {\n neighbor_ip 192.0.2.9\n ttl 100\n max_hops 120\n}\n')
    assert.ok(messages(t).includes('BFD instance c: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit'))
    assert.equal(bfdSection(t.model).instances[0].maxHops, 100)
  })

  it('the section is plain JSON', async () => {
    const t = await parse('bfd_instance j {\n neighbor_ip 192.0.2.9\n}\n')
    const s = bfdSection(t.model)
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s)
  })

  it('BFD_CHECK in a real server', async () => {
    const t = await parse(`bfd_instance b {
  neighbor_ip 192.0.2.20
}
virtual_server 192.0.2.10 80 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  real_server 192.0.2.20 80 {
    BFD_CHECK {
      name b
    }
  }
  real_server 192.0.2.21 80 {
    BFD_CHECK {
      name nosuch
    }
  }
}
`)
    const m = messages(t)
    assert.ok(!m.some((x) => x.includes('Unknown keyword')), m.join('\n'))
    assert.ok(m.includes('BFD_CHECK for real server [192.0.2.21]:80: BFD instance nosuch not found'), m.join('\n'))
    assert.deepEqual(bfdSection(t.model).checks, { '[192.0.2.20]:80': ['b'], '[192.0.2.21]:80': ['nosuch'] })
    const vs = (t.model.sections.checkers as any).virtualServers[0]
    assert.deepEqual(vs.realServers[0].checkers.map((c: any) => [c.type, c.options.name]), [['BFD_CHECK', 'b']])
  })

  describe('track_bfd arithmetic', () => {
    it('weight 0: FAULT while down (while up with reverse)', () => {
      assert.deepEqual(trackEffect(false, 0, false), { fault: true, delta: 0 })
      assert.deepEqual(trackEffect(true, 0, false), { fault: false, delta: 0 })
      assert.deepEqual(trackEffect(true, 0, true), { fault: true, delta: 0 })
      assert.deepEqual(trackEffect(false, 0, true), { fault: false, delta: 0 })
    })
    it('positive adds while up, negative subtracts while down, reverse swaps', () => {
      assert.equal(trackEffect(true, 10, false).delta, 10)
      assert.equal(trackEffect(false, 10, false).delta, 0)
      assert.equal(trackEffect(false, -10, false).delta, -10)
      assert.equal(trackEffect(true, -10, false).delta, 0)
      assert.equal(trackEffect(true, 10, true).delta, -10)
      assert.equal(trackEffect(false, 10, true).delta, 0)
      assert.equal(trackEffect(false, -10, true).delta, 10)
    })
    it('track_bfd overrides the instance default', () => {
      const inst = { weight: 5, reverse: true } as BfdSection['instances'][number]
      assert.deepEqual(effectiveTrack({ name: 'x', loc: '' }, inst), { weight: 5, reverse: true })
      assert.deepEqual(effectiveTrack({ name: 'x', weight: -3, reverse: false, loc: '' }, inst), { weight: -3, reverse: false })
    })
  })
})
