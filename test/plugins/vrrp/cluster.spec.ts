import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeywordTree, parseConfigText, registerCoreKeywords } from '@kad/core'
import { installKeywords } from '../../../plugins/vrrp/src/keywords.js'
import { clusterCheckVrrp, masterDownSeconds } from '../../../plugins/vrrp/src/cluster.js'
import { main } from '../../../core/src/cli/main.js'

const tree = (() => {
  const t = new KeywordTree()
  registerCoreKeywords(t)
  installKeywords(t.forPlugin('vrrp'))
  return t
})()
/** another machine's configuration: its interfaces are not checked here */
const node = (file: string, text: string) => {
  const r = parseConfigText(text, tree, { file, forThisHost: false })
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), [], `${file} alone`)
  return { file, model: r.model }
}
const inst = (o: { name?: string; vrid?: number; prio: number; iface?: string; advert?: number; vips?: string[]; extra?: string }) => `vrrp_instance ${o.name ?? 'VI_1'} {
  interface ${o.iface ?? 'ens9'}
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.prio}
  advert_int ${o.advert ?? 1}
  ${o.extra ?? ''}
  virtual_ipaddress {
    ${(o.vips ?? ['192.0.2.100/24']).join('\n    ')}
  }
}
`
const codes = (ds: { code: string }[]) => ds.map((d) => d.code)

describe('vrrp: kad config cluster (several nodes checked together)', () => {
  it('a sound pair: no problem, and the failover predicted (3 x advert + skew of the backup)', () => {
    const ds = clusterCheckVrrp([node('a.conf', inst({ prio: 150 })), node('b.conf', inst({ prio: 100, iface: 'eth1' }))])
    assert.deepEqual(codes(ds), ['KAD_CLUSTER_FAILOVER'])
    assert.equal(ds[0].message, 'VRID 51 (IPv4) [192.0.2.100/24]: MASTER a.conf VI_1 (priority 150); if it fails, b.conf VI_1 (priority 100) takes over after 3.609 s (3 x 1 s + skew 0.609 s); after a clean stop (priority 0) after 0.609 s')
    assert.deepEqual(masterDownSeconds({ version: 3, advertInt: 0.1, priority: 100, downTimerAdverts: 3 }), { total: 0.3 + (156 * 0.1) / 256, skew: (156 * 0.1) / 256 })
  })
  it('different VIPs, versions, intervals, authentication or transport are errors at the instance\'s line', () => {
    const a = node('a.conf', inst({ prio: 150 }))
    const vips = clusterCheckVrrp([a, node('b.conf', '\n' + inst({ prio: 100, vips: ['192.0.2.101/24'] }))])
    assert.deepEqual(codes(vips), ['KAD_CLUSTER_VIPS', 'KAD_CLUSTER_FAILOVER'])
    assert.deepEqual(vips[0].loc, { file: 'b.conf', line: 2 })
    assert.deepEqual(codes(clusterCheckVrrp([a, node('b.conf', inst({ prio: 100, extra: 'version 3' }))])), ['KAD_CLUSTER_VERSION', 'KAD_CLUSTER_FAILOVER'])
    const v2 = clusterCheckVrrp([a, node('b.conf', inst({ prio: 100, advert: 2 }))])
    assert.deepEqual([v2[0].code, v2[0].severity], ['KAD_CLUSTER_ADVERT_INT', 'error'])
    const v3 = clusterCheckVrrp([node('a.conf', inst({ prio: 150, extra: 'version 3' })), node('b.conf', inst({ prio: 100, advert: 2, extra: 'version 3' }))])
    assert.deepEqual([v3[0].code, v3[0].severity], ['KAD_CLUSTER_ADVERT_INT', 'warning'], 'VRRPv3 backups follow the master\'s interval')
    assert.deepEqual(codes(clusterCheckVrrp([a, node('b.conf', inst({ prio: 100, extra: 'authentication {\n    auth_type PASS\n    auth_pass secret\n  }' }))])), ['KAD_CLUSTER_AUTH', 'KAD_CLUSTER_FAILOVER'])
    assert.deepEqual(codes(clusterCheckVrrp([a, node('b.conf', inst({ prio: 100, extra: 'unicast_peer {\n    192.0.2.1\n  }' }))])), ['KAD_CLUSTER_CAST', 'KAD_CLUSTER_FAILOVER'])
  })
  it('unicast peers that do not list each other; two owners; a priority tie; a VRID on one node only', () => {
    const uni = (src: string, peer: string, prio: number) => inst({ prio, extra: `unicast_src_ip ${src}\n  unicast_peer {\n    ${peer}\n  }` })
    const peers = clusterCheckVrrp([node('a.conf', uni('192.0.2.1', '192.0.2.2', 150)), node('b.conf', uni('192.0.2.2', '192.0.2.3', 100))])
    assert.deepEqual(codes(peers), ['KAD_CLUSTER_PEERS', 'KAD_CLUSTER_FAILOVER'])
    assert.match(peers[0].message, /b\.conf VI_1 does not list 192\.0\.2\.1 \(unicast_src_ip of a\.conf VI_1\)/)
    assert.deepEqual(codes(clusterCheckVrrp([node('a.conf', uni('192.0.2.1', '192.0.2.2', 150)), node('b.conf', uni('192.0.2.2', '192.0.2.1', 100))])), ['KAD_CLUSTER_FAILOVER'])
    assert.deepEqual(codes(clusterCheckVrrp([node('a.conf', inst({ prio: 255 })), node('b.conf', inst({ prio: 255 }))])), ['KAD_CLUSTER_OWNERS', 'KAD_CLUSTER_PRIORITY_TIE', 'KAD_CLUSTER_FAILOVER'])
    const tie = clusterCheckVrrp([node('a.conf', inst({ prio: 100 })), node('b.conf', inst({ prio: 100 }))])
    assert.deepEqual(codes(tie), ['KAD_CLUSTER_PRIORITY_TIE', 'KAD_CLUSTER_FAILOVER'])
    assert.match(tie[1].message, /MASTER a\.conf VI_1 or b\.conf VI_1, whichever has the higher primary address/)
    const alone = clusterCheckVrrp([node('a.conf', inst({ prio: 100 }) + inst({ name: 'VI_2', vrid: 52, prio: 100, vips: ['192.0.2.102/24'] })), node('b.conf', inst({ prio: 90 }))])
    assert.deepEqual(codes(alone), ['KAD_CLUSTER_FAILOVER', 'KAD_CLUSTER_ALONE'])
  })
  it('kad config cluster FILE FILE: each file alone first (interfaces not checked: another machine\'s), then together; exit 1 on an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kad-cluster-'))
    try {
      writeFileSync(join(dir, 'a.conf'), inst({ prio: 150, iface: 'nosuchif0' }))
      writeFileSync(join(dir, 'b.conf'), inst({ prio: 100, iface: 'nosuchif1' }))
      writeFileSync(join(dir, 'c.conf'), inst({ prio: 100, vips: ['192.0.2.9/24'] }))
      const run = async (...files: string[]) => {
        const o = { out: '', err: '' }
        const code = await main(['config', 'cluster', ...files.map((f) => (f.includes('=') ? f : join(dir, f)))], { out: (s) => (o.out += s), err: (s) => (o.err += s) })
        return { code, text: o.err }
      }
      const ok = await run('a.conf', 'b.conf')
      assert.equal(ok.code, 0, ok.text)
      assert.match(ok.text, /info: VRID 51 \(IPv4\) \[192\.0\.2\.100\/24\]: MASTER .*a\.conf VI_1 \(priority 150\)/)
      const bad = await run('a.conf', 'c.conf')
      assert.equal(bad.code, 1)
      assert.match(bad.text, /c\.conf:1: error: VRID 51 \(IPv4\): .*c\.conf VI_1 has VIPs \[192\.0\.2\.9\/24\]/)
      // one file shared by the nodes (@ID lines), with scripts that exist on the nodes only: ID=FILE, no local script checks
      writeFileSync(join(dir, 'shared.conf'), 'global_defs {\n  enable_script_security\n  script_user nobody\n}\n' +
        inst({ prio: 0, extra: '@lb1 priority 150\n  @lb2 priority 100\n  notify_master /opt/only-on-the-nodes.sh' }).replace('priority 0\n', ''))
      const shared = await run('lb1=' + join(dir, 'shared.conf'), 'lb2=' + join(dir, 'shared.conf'))
      assert.equal(shared.code, 0, shared.text)
      assert.match(shared.text, /MASTER .*shared\.conf@lb1 VI_1 \(priority 150\); if it fails, .*shared\.conf@lb2 VI_1 \(priority 100\)/)
      const o = { out: '', err: '' }
      assert.equal(await main(['config', 'cluster', '--json', join(dir, 'a.conf'), join(dir, 'b.conf')], { out: (s) => (o.out += s), err: (s) => (o.err += s) }), 0)
      assert.equal((JSON.parse(o.out) as { diagnostics: { code: string }[] }).diagnostics.filter((d) => d.code === 'KAD_CLUSTER_FAILOVER').length, 1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
