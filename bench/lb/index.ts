/**
 * npm run bench -- lb [services] [reals]
 *
 * Inside the UML guest (booted by this script when run on the host): time to program 1,000 services x 10 real
 * servers and to apply one weight change, through kad's IPVS backend (batched generic netlink) and through
 * `ipvsadm --restore` / `ipvsadm -e`, in the same run, and check that both produce the same table.
 * Last line: key=value figures.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { DesiredTopology, DesiredVirtualServer, Logger } from '@kad/core'

const [svcArg, rsArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const SERVICES = Number(svcArg ?? 1000)
const REALS = Number(rsArg ?? 10)

async function host(): Promise<void> {
  const { runInUml, umlUnavailableReason } = await import('../../test/uml/index.js')
  const why = umlUnavailableReason()
  if (why) {
    console.log(`bench lb needs the UML guest: ${why}`)
    console.log('skipped=1')
    return
  }
  const r = await runInUml([process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--in-guest', String(SERVICES), String(REALS)], { timeoutMs: 600_000, mem: '1536M' })
  process.stdout.write(r.output)
  if (r.status !== 0) process.exit(r.status)
}

const silent: Logger = { fatal() {}, error: (m) => console.error(m), warn() {}, info() {}, debug() {}, child: () => silent, limited: (_k, _l, m) => console.error(m) }

function topology(gen: number, weightOf: (s: number, r: number) => number): DesiredTopology {
  const vss: DesiredVirtualServer[] = []
  for (let s = 0; s < SERVICES; s++) {
    const vip = `10.${(s >> 8) & 255}.${s & 255}.1`
    vss.push({
      id: `TCP:[${vip}]:80`, family: 4, protocol: 'TCP', address: vip, port: 80, scheduler: 'wrr', schedulerFlags: [], quorumUp: true,
      realServers: Array.from({ length: REALS }, (_, r) => ({ id: `r${r}`, family: 4 as const, address: `172.16.${(s >> 4) & 255}.${((s & 15) << 4) + r + 1}`, port: 8080, weight: weightOf(s, r), method: 'NAT' as const })),
    })
  }
  return { generation: gen, virtualServers: vss }
}

function restoreText(t: DesiredTopology): string {
  const L: string[] = []
  for (const v of t.virtualServers) {
    L.push(`-A -t ${v.address}:${v.port} -s ${v.scheduler}`)
    for (const r of v.realServers) L.push(`-a -t ${v.address}:${v.port} -r ${r.address}:${r.port} -m -w ${r.weight}`)
  }
  return L.join('\n') + '\n'
}

const table = (): string[] => execFileSync('ipvsadm', ['-Sn'], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n').sort()
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]

async function guest(): Promise<void> {
  const { IpvsBackend } = await import('../../plugins/ipvs/src/backend.js')
  const { NetlinkIpvs } = await import('../../plugins/ipvs/src/kernel.js')
  const base = topology(1, (_s, r) => 1 + (r % 3))

  // ipvsadm --restore
  execFileSync('ipvsadm', ['-C'])
  const text = restoreText(base)
  let t0 = performance.now()
  const rr = spawnSync('ipvsadm', ['-R'], { input: text, maxBuffer: 64 << 20 })
  const ipvsadmBulk = performance.now() - t0
  if (rr.status !== 0) throw new Error(`ipvsadm -R failed: ${rr.stderr}`)
  const viaIpvsadm = table()
  const ipvsadmSingle: number[] = []
  for (let i = 0; i < 10; i++) {
    t0 = performance.now()
    execFileSync('ipvsadm', ['-e', '-t', '10.0.7.1:80', '-r', `172.16.0.${(7 << 4) + 1}:8080`, '-m', '-w', String(10 + i)])
    ipvsadmSingle.push(performance.now() - t0)
  }

  // kad
  execFileSync('ipvsadm', ['-C'])
  const k = (await NetlinkIpvs.open())!
  const b = new IpvsBackend({ kernel: k, log: silent })
  t0 = performance.now()
  await b.apply(base)
  const kadBulk = performance.now() - t0
  const viaKad = table()
  const same = viaKad.length === viaIpvsadm.length && viaKad.every((l, i) => l === viaIpvsadm[i])
  const kadSingle: number[] = []
  for (let i = 0; i < 20; i++) {
    const t = topology(2 + i, (s, r) => (s === 7 && r === 0 ? 10 + i : 1 + (r % 3)))
    t0 = performance.now()
    await b.apply(t)
    kadSingle.push(performance.now() - t0)
  }
  // the single change alone, without building the 10,000-entry plan (what a checker verdict costs on the wire)
  const { encodeDest, IPVS_CMD, FWD, PROTO } = await import('../../plugins/ipvs/src/codec/ipvs.js')
  const wire: number[] = []
  for (let i = 0; i < 20; i++) {
    const msg = encodeDest(IPVS_CMD.SET_DEST, { af: 4, protocol: PROTO.TCP, address: '10.0.7.1', port: 80 }, { af: 4, address: '172.16.0.113', port: 8080, fwdMethod: FWD.MASQ, weight: 30 + i, uThreshold: 0, lThreshold: 0 })
    t0 = performance.now()
    await k.exec([msg])
    wire.push(performance.now() - t0)
  }
  // a restart: a fresh backend reads the 1,000-service table back and finds nothing to do
  const k2 = (await NetlinkIpvs.open())!
  const b2 = new IpvsBackend({ kernel: k2, log: silent })
  t0 = performance.now()
  await b2.apply(topology(100, (s, r) => (s === 7 && r === 0 ? 30 + 19 : 1 + (r % 3))))
  const kadRestart = performance.now() - t0
  const restartOps = b2.stats.ops
  k2.close()
  await b.stop({ release: true })
  k.close()
  console.log(`services ${SERVICES} x reals ${REALS}: ipvsadm --restore ${ipvsadmBulk.toFixed(0)} ms, kad ${kadBulk.toFixed(0)} ms; single change: kad apply median ${median(kadSingle).toFixed(2)} ms (netlink round trip ${median(wire).toFixed(2)} ms), ipvsadm -e median ${median(ipvsadmSingle).toFixed(2)} ms; tables identical: ${same}; restart read-back and converge ${kadRestart.toFixed(0)} ms with ${restartOps} commands`)
  console.log(
    `services=${SERVICES} reals=${SERVICES * REALS} kad_bulk_ms=${kadBulk.toFixed(1)} ipvsadm_restore_ms=${ipvsadmBulk.toFixed(1)} ` +
      `kad_single_ms=${median(kadSingle).toFixed(2)} kad_single_max_ms=${Math.max(...kadSingle).toFixed(2)} kad_single_wire_ms=${median(wire).toFixed(2)} ` +
      `ipvsadm_single_ms=${median(ipvsadmSingle).toFixed(2)} kad_restart_converge_ms=${kadRestart.toFixed(1)} kad_restart_ops=${restartOps} same_table=${same ? 1 : 0}`,
  )
}

if (process.argv.includes('--in-guest')) await guest()
else await host()
