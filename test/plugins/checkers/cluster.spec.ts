import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../../core/src/cli/main.js'

const vs = (algo: string, reals: string[], extra = '') => `virtual_server 198.51.100.10 80 {
  lb_algo ${algo}
  lb_kind NAT
  protocol TCP
${reals.map((r) => `  real_server ${r} 80 {\n    TCP_CHECK {\n    }\n  }`).join('\n')}
}
${extra}`

describe('checkers: kad config cluster compares the nodes\' virtual servers', () => {
  let dir = ''
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kad-cluster-vs-'))))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const run = async (a: string, b: string) => {
    writeFileSync(join(dir, 'a.conf'), a)
    writeFileSync(join(dir, 'b.conf'), b)
    const o = { out: '', err: '' }
    const code = await main(['config', 'cluster', '--json', join(dir, 'a.conf'), join(dir, 'b.conf')], { out: (s) => (o.out += s), err: (s) => (o.err += s) })
    return { code, ds: (JSON.parse(o.out) as { diagnostics: { code: string; message: string; loc?: { file: string; line: number } }[] }).diagnostics.filter((d) => d.code.startsWith('KAD_CLUSTER_VS')) }
  }
  it('the same virtual servers: nothing to say', async () => {
    const r = await run(vs('rr', ['192.0.2.5', '192.0.2.6']), vs('rr', ['192.0.2.6', '192.0.2.5']))
    assert.deepEqual([r.code, r.ds], [0, []])
  })
  it('another scheduler, other real servers, a virtual server one node lacks: warnings at the virtual server', async () => {
    const extra = 'virtual_server 198.51.100.11 443 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 192.0.2.8 443 {\n  }\n}\n'
    const r = await run(vs('rr', ['192.0.2.5', '192.0.2.6']), vs('wrr', ['192.0.2.5', '192.0.2.7'], extra))
    assert.equal(r.code, 0, 'warnings only')
    assert.deepEqual(r.ds.map((d) => d.code), ['KAD_CLUSTER_VS_SHAPE', 'KAD_CLUSTER_VS_REALS', 'KAD_CLUSTER_VS_MISSING'])
    assert.match(r.ds[1].message, /only on .*b\.conf: \[192\.0\.2\.7\]:80; only on .*a\.conf: \[192\.0\.2\.6\]:80/)
    assert.deepEqual(r.ds[2].loc, { file: join(dir, 'b.conf'), line: 14 })
  })
})
