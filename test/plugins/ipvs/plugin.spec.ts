import { strict as assert } from 'node:assert'
import { createTestHost } from '@kad/core/testing'
import ipvsPlugin, { ipvsSection } from '../../../plugins/ipvs/src/index.js'
import { ipvsNamespace } from '../../../plugins/ipvs/src/plugin.js'
import { IPVS_CMD, PROTO } from '../../../plugins/ipvs/src/codec/ipvs.js'
import type { IpvsKernel } from '../../../plugins/ipvs/src/kernel.js'
import { FakeIpvsKernel } from './fake-kernel.js'

const withKernel = (k: IpvsKernel | undefined) => ({ ...ipvsPlugin, parseOptions: () => ({ openKernel: async () => k }) })

const CONF = `
global_defs {
  lvs_flush
  lvs_timeouts tcp 900 tcpfin 120 udp 300
  lvs_sync_daemon lo VI_1 id 5 port 8848 maxlen 1400 ttl 2 group 224.0.0.81
  lvs_flush_on_stop VS
  lb_backend ipvs
}
`
const topo = {
  generation: 1,
  virtualServers: [{
    id: 'TCP:[192.0.2.1]:80', family: 4 as const, protocol: 'TCP' as const, address: '192.0.2.1', port: 80, scheduler: 'rr', schedulerFlags: [], quorumUp: true,
    realServers: [{ id: '[192.0.2.10]:80', family: 4 as const, address: '192.0.2.10', port: 80, weight: 1, method: 'NAT' as const }],
  }],
}

describe('ipvs plugin: keywords and lifecycle', () => {
  it('net_namespace_ipvs: NAME is /run/netns/NAME, no NAME the default namespace, absent the daemon\'s own', () => {
    assert.equal(ipvsNamespace('lvs'), '/run/netns/lvs')
    assert.equal(ipvsNamespace(''), '/proc/1/ns/net')
    assert.equal(ipvsNamespace(undefined), undefined)
  })

  it('parses lvs_flush, lvs_timeouts, lvs_sync_daemon, lvs_flush_on_stop and lb_backend into its section', async () => {
    const t = await createTestHost({ plugins: [withKernel(new FakeIpvsKernel())], config: CONF })
    assert.deepEqual(t.diagnostics.filter((d) => d.severity !== 'info'), [])
    assert.deepEqual(ipvsSection(t.model), {
      backend: 'ipvs', flush: true, flushOnStop: 'vs',
      timeouts: { tcp: 900, tcpFin: 120, udp: 300 },
      syncDaemon: { ifname: 'lo', instance: 'VI_1', syncId: 5, port: 8848, maxLen: 1400, ttl: 2, group: '224.0.0.81' },
    })
    await t.stop()
  })

  it('reports bad values with the keyword', async () => {
    const t = await createTestHost({ plugins: [withKernel(new FakeIpvsKernel())], config: 'global_defs {\n lb_backend foo\n lvs_timeouts tcp x\n lvs_sync_daemon lo VI_1 bogus 1\n}\n' })
    const msgs = t.diagnostics.map((d) => `${d.loc?.line} ${d.message}`).join('\n')
    assert.match(msgs, /^2 .*foo/m)
    assert.match(msgs, /^3 /m)
    assert.match(msgs, /^4 .*bogus/m)
    await t.stop()
  })

  it('start flushes, sets timeouts, starts the sync daemon; topologies are programmed; stop removes kad services', async () => {
    const k = new FakeIpvsKernel()
    k.add({ af: 4, protocol: PROTO.TCP, address: '203.0.113.9', port: 22, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff })
    const cmds: number[] = []
    const exec = k.exec.bind(k)
    k.exec = async (p) => { for (const b of p) cmds.push(b[0]); return exec(p) }
    const t = await createTestHost({ plugins: [withKernel(k)], config: CONF })
    await t.start()
    assert.deepEqual(cmds, [IPVS_CMD.FLUSH, IPVS_CMD.SET_CONFIG, IPVS_CMD.NEW_DAEMON])
    assert.equal(k.services.size, 0, 'lvs_flush emptied the table')
    await t.hooks.topologyChanged.promise(topo)
    assert.deepEqual([...k.services.keys()], ['TCP:[192.0.2.1]:80'])
    await t.stop()
    assert.equal(k.services.size, 0)
    assert.ok(k.closed)
  })

  it('-I (dontReleaseIpvs) leaves the table on stop', async () => {
    const k = new FakeIpvsKernel()
    const t = await createTestHost({ plugins: [withKernel(k)], config: '', options: { dontReleaseIpvs: true } })
    await t.start()
    await t.hooks.topologyChanged.promise(topo)
    await t.stop()
    assert.equal(k.services.size, 1)
  })

  it('without IPVS in the kernel it says so once and stays idle', async () => {
    const t = await createTestHost({ plugins: [withKernel(undefined)], config: '' })
    await t.start()
    await t.hooks.topologyChanged.promise(topo)
    await t.stop()
    const lines = t.logs.map((l) => JSON.stringify(l)).filter((l) => /IPVS is not available/.test(l))
    assert.equal(lines.length, 1)
  })

  it('lb_backend nftables keeps the IPVS backend idle', async () => {
    const k = new FakeIpvsKernel()
    const t = await createTestHost({ plugins: [withKernel(k)], config: 'global_defs {\n lb_backend nftables\n}\n' })
    await t.start()
    await t.hooks.topologyChanged.promise(topo)
    await t.stop()
    assert.equal(k.services.size, 0)
  })

  it('reload applies new lvs_timeouts and restarts a changed lvs_sync_daemon', async () => {
    const k = new FakeIpvsKernel()
    const sent: string[] = []
    const exec = k.exec.bind(k)
    k.exec = async (p) => {
      for (const b of p) {
        const d = (await import('../../../plugins/ipvs/src/codec/ipvs.js')).decodeIpvsMessage(b)
        if (d.ok) sent.push(`${d.message.cmd}${d.message.daemon ? ` ${d.message.daemon.state} ${d.message.daemon.ifname}/${d.message.daemon.syncId}` : ''}${d.message.timeouts ? ` ${JSON.stringify(d.message.timeouts)}` : ''}`)
      }
      return exec(p)
    }
    const t = await createTestHost({ plugins: [withKernel(k)], config: 'global_defs {\n lvs_timeouts tcp 900\n lvs_sync_daemon lo id 5\n}\n' })
    await t.start()
    sent.length = 0
    await t.reload('global_defs {\n lvs_timeouts tcp 600\n lvs_sync_daemon lo id 6\n}\n')
    assert.deepEqual(sent, [`${IPVS_CMD.SET_CONFIG} {"tcp":600}`, `${IPVS_CMD.DEL_DAEMON} 1 /0`, `${IPVS_CMD.DEL_DAEMON} 2 /0`, `${IPVS_CMD.NEW_DAEMON} 2 lo/6`])
    sent.length = 0
    await t.reload('global_defs {\n lvs_timeouts tcp 600\n lvs_sync_daemon lo id 6\n}\n')
    assert.deepEqual(sent, [], 'nothing changed')
    await t.stop()
  })
})
