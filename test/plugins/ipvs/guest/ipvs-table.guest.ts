/**
 * Runs INSIDE the UML guest (test/plugins/ipvs/ipvs.int.ts boots it): the IPVS backend against the real kernel,
 * checked with ipvsadm.
 */
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { IpvsBackend } from '../../../../plugins/ipvs/src/backend.js'
import { NetlinkIpvs, type IpvsKernel, type OpResult } from '../../../../plugins/ipvs/src/kernel.js'
import { decodeIpvsMessage } from '../../../../plugins/ipvs/src/codec/ipvs.js'
import { testLogger } from '../helpers.js'
import { scenario } from './topology.js'

const ipvsadm = (...args: string[]): string => execFileSync('ipvsadm', args, { encoding: 'utf8' })
const saved = (): string[] => ipvsadm('-Sn').trim().split('\n').filter(Boolean).sort()

/** counts the commands that reach the kernel */
class Counting implements IpvsKernel {
  cmds: number[] = []
  constructor(readonly k: NetlinkIpvs) {}
  exec(p: readonly Buffer[]): Promise<OpResult[]> {
    for (const b of p) { const d = decodeIpvsMessage(b); this.cmds.push(d.ok ? d.message.cmd : -1) }
    return this.k.exec(p)
  }
  dump(p: Buffer): Promise<Buffer[]> { return this.k.dump(p) }
  close(): void { this.k.close() }
}

const EXPECTED = [
  '-A -f 1 -s sh -p 300 -M 255.255.255.0 -b sh-fallback,sh-port',
  '-a -f 1 -r 198.51.100.30:0 -g -w 1',
  '-A -f 2 -6 -s mh -b mh-port',
  '-a -f 2 -6 -r [2001:db8::30]:0 -g -w 1',
  '-A -t [2001:db8::1]:443 -s wlc',
  '-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 3',
  '-a -t [2001:db8::1]:443 -r [2001:db8::11]:443 -m -w 0',
  '-A -t 192.0.2.20:80 -s rr',
  '-a -t 192.0.2.20:80 -r 198.51.100.20:80 -g -w 5',
  '-A -t 192.0.2.21:80 -s rr',
  '-a -t 192.0.2.21:80 -r 198.51.100.21:80 -i -w 1 --tun-type ipip',
  '-a -t 192.0.2.21:80 -r 198.51.100.22:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
  '-a -t 192.0.2.21:80 -r 198.51.100.23:80 -i -w 1 --tun-type gre --tun-nocsum',
  '-A -u 192.0.2.30:53 -s rr',
  '-a -u 192.0.2.30:53 -r 198.51.100.40:53 -m -w 1',
  '-A --sctp-service 192.0.2.31:3868 -s rr',
  '-a --sctp-service 192.0.2.31:3868 -r 198.51.100.41:3868 -m -w 1',
  '-A -u 192.0.2.32:5060 -s rr -p 60 --pe sip',
  '-a -u 192.0.2.32:5060 -r 198.51.100.42:5060 -m -w 1',
  '-A -t 192.0.2.33:80 -s rr',
  '-a -t 192.0.2.33:80 -r 198.51.100.43:80 -m -w 1',
  '-A -t 203.0.113.9:22 -s rr',
  '-a -t 203.0.113.9:22 -r 203.0.113.10:22 -g -w 1',
  ...['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'].flatMap((s, i) => [
    `-A -t 192.0.2.${i + 1}:80 -s ${s}`,
    `-a -t 192.0.2.${i + 1}:80 -r 198.51.100.${i + 1}:8080 -m -w 1`,
    `-a -t 192.0.2.${i + 1}:80 -r 198.51.100.${i + 101}:8080 -m -w 2`,
  ]),
].sort()

describe('IPVS backend in the UML kernel', function () {
  let k: Counting
  let backend: IpvsBackend
  let gen = 0
  const lines: string[] = []

  before(async () => {
    execFileSync('ipvsadm', ['-C'])
    // an unrelated service added by hand
    ipvsadm('-A', '-t', '203.0.113.9:22', '-s', 'rr')
    ipvsadm('-a', '-t', '203.0.113.9:22', '-r', '203.0.113.10:22', '-g')
    const nk = await NetlinkIpvs.open()
    assert.ok(nk, 'IPVS family present in the guest')
    k = new Counting(nk)
    backend = new IpvsBackend({ kernel: k, log: testLogger(lines) })
    await backend.start()
  })
  after(() => k?.close())

  it('programs every scheduler, forwarding method, fwmark, IPv6 and persistence exactly', async () => {
    await backend.apply(scenario(++gen))
    assert.deepEqual(lines.filter((l) => l.startsWith('error')), [])
    const got = saved()
    if (process.env.KAD_PRINT) console.log(got.join('\n'))
    assert.deepEqual(got, EXPECTED)
  })

  it('ipvsadm -Ln shows the same table', () => {
    const ln = ipvsadm('-Ln')
    assert.match(ln, /TCP {2}192\.0\.2\.1:80 rr\n {2}-> 198\.51\.100\.1:8080 +Masq +1 /)
    assert.match(ln, /FWM {2}1 sh \(sh-fallback,sh-port\) persistent 300 mask 255\.255\.255\.0/)
    assert.match(ln, /UDP {2}192\.0\.2\.32:5060 rr persistent 60 pe sip/)
    // ipvsadm -S does not save thresholds; --thresholds lists them
    assert.match(ipvsadm('-Ln', '--thresholds'), /-> \[2001:db8::10\]:443 +100 +10 /)
    assert.match(ipvsadm('-Ln', '--tun-info'), /198\.51\.100\.22:80 +Tunnel +gue:6080:\+c +1 /)
  })

  it('a change of one real server changes only that entry, with one command', async () => {
    const before = saved()
    k.cmds = []
    const t0 = performance.now()
    await backend.apply(scenario(++gen, { weight11: 7 }))
    const ms = performance.now() - t0
    assert.deepEqual(k.cmds, [6 /* SET_DEST */])
    const after = saved()
    const removed = before.filter((l) => !after.includes(l))
    const added = after.filter((l) => !before.includes(l))
    assert.deepEqual(removed, ['-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 3'])
    assert.deepEqual(added, ['-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 7'])
    console.log(`      single change applied in ${ms.toFixed(2)} ms`)
  })

  it('a restart converges from the kernel table without touching entries that stay', async () => {
    const nk = await NetlinkIpvs.open()
    const k2 = new Counting(nk!)
    const b2 = new IpvsBackend({ kernel: k2, log: testLogger(lines) })
    await b2.apply(scenario(++gen, { weight11: 7 }))
    assert.deepEqual(k2.cmds, [], 'nothing to do: every entry stays')
    await b2.apply(scenario(++gen, { weight11: 4 }))
    assert.deepEqual(k2.cmds, [6])
    k2.close()
  })

  it('an unknown scheduler is logged with the service and errno; the rest goes on', async () => {
    const t = scenario(++gen, { weight11: 4 })
    const bad = { ...t.virtualServers[0], id: 'TCP:[192.0.2.99]:80', address: '192.0.2.99', scheduler: 'nosuch' }
    lines.length = 0
    await backend.apply({ generation: gen, virtualServers: [...t.virtualServers, bad] })
    assert.match(lines.join('\n'), /add service TCP 192\.0\.2\.99:80 failed: ENOENT/)
    assert.ok(!saved().some((l) => l.includes('192.0.2.99')))
    await backend.apply(scenario(++gen, { weight11: 3 }))
  })

  it('stop removes only what kad added; the hand-added service survives', async () => {
    await backend.stop({ release: true })
    assert.deepEqual(saved(), ['-A -t 203.0.113.9:22 -s rr', '-a -t 203.0.113.9:22 -r 203.0.113.10:22 -g -w 1'])
  })

  it('lvs_sync_daemon and lvs_timeouts: started, switched to master, stopped on release', async () => {
    const nk = (await NetlinkIpvs.open())!
    const b = new IpvsBackend({ kernel: nk, log: testLogger(lines), timeouts: { tcp: 901, tcpFin: 121, udp: 301 }, syncDaemon: { ifname: 'lo', syncId: 7 } })
    await b.start()
    assert.match(ipvsadm('-Ln', '--timeout'), /Timeout \(tcp tcpfin udp\): 901 121 301/)
    assert.match(ipvsadm('-Ln', '--daemon'), /backup sync daemon \(mcast=lo, syncid=7/)
    await b.setSyncState(true)
    const d = ipvsadm('-Ln', '--daemon')
    assert.match(d, /master sync daemon \(mcast=lo, syncid=7/)
    assert.doesNotMatch(d, /backup/)
    await b.stop({ release: true })
    assert.equal(ipvsadm('-Ln', '--daemon').trim(), '')
    nk.close()
  })
})
