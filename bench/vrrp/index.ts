/**
 * npm run bench -- vrrp [--quick] [--adv=1,0.1,0.01] [--checkers=10000] [--rt=50] [--rttime=N] [--impl=kad,keepalived]
 *
 * Failover time after SIGKILL and SIGTERM of the master, and the master's advert-interval error, for kad and
 * keepalived 2.2.7 in the same run on the same namespaces (two routers and an observer on one bridge), VRRPv3 at
 * advert_int 1, 0.1 and 0.01. Times are taken on the wire by an observer socket in a third namespace:
 *   - SIGKILL: first advert of the new master minus the last advert of the old one; overhead = that minus the
 *     RFC master-down interval (3 * interval + skew), the floor;
 *   - SIGTERM: first advert of the new master minus the old master's priority-0 advert (floor: the skew time);
 *     sigterm_to_prio0_ms is the old master's side, from kill(SIGTERM) by the bench (Date.now()) to its priority-0
 *     advert on the wire: only as exact as two clocks read a few syscalls apart;
 *   - jitter: |interval between two adverts of the master - advert_int| (p50 / p99 / max) and the drift (mean error),
 *     from the moment both daemons are up to the kill (the same window for both).
 * The capture is dumpcap's (kernel receive timestamps, microseconds), so neither daemon timestamps its own adverts.
 *
 * Same conditions for both daemons:
 *   - load: in each router's namespace, a kad checker process (`kad --check`, a separate daemon) runs
 *     `--checkers` real servers (default 10,000; 0 = none) under TCP_CHECK at delay_loop 1 against a local fleet
 *     (a TCP listener on 0.0.0.0 of that namespace, so every 127.1.x.y is a distinct real server). It runs during
 *     the kad runs and the keepalived runs alike (keepalived's own checker cannot run here: no IPVS in this kernel);
 *   - `vrrp_rt_priority` (`--rt`, default 50; 0 = off) in global_defs of both daemons' configs: keepalived's VRRP
 *     child and kad's both run SCHED_RR, with the default vrrp_rlimit_rttime (10000 us) unless `--rttime` sets one.
 *
 * Only a steady state is measured. keepalived sets RLIMIT_RTTIME to half / all of vrrp_rlimit_rttime (soft 5 ms
 * SIGXCPU, hard 10 ms SIGKILL by default); on this project's 2-vCPU machine (HZ=250: the limit is counted in 4 ms
 * ticks) its VRRP child at advert_int 0.01 is SIGKILLed by that limit as it enters MASTER, and respawned, again and
 * again, while the other router takes over. A run during which either daemon's VRRP child died, or the backup sent
 * adverts before the kill, has no steady state: its jitter and failover figures print n/a, vrrp_child_deaths and
 * the spurious adverts are counted, and a note under the table quotes the daemon's own words for the first death.
 * kad's hard limit is never below 1 s (supervisor.ts). `--rttime=100000` gives keepalived a limit it survives.
 * vrrp_child_cpu_pct is the master's VRRP child CPU over the jitter window.
 * The last line is key=value.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { cpus, loadavg } from 'node:os'
import { decodeIpv4Packet } from '../../plugins/vrrp/src/codec/index.js'
import { Daemon, Lab, ROOT, instance, sh, sleep, waitFor } from '../../test/plugins/vrrp/helpers/lab.js'
import { kadCommand } from '../../test/plugins/vrrp/helpers/runtime.js'

type Impl = 'kad' | 'keepalived'
interface Seen { t: number; src: string; prio: number }

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const quick = process.argv.includes('--quick')
const INTERVALS = arg('adv') ? arg('adv')!.split(',').map(Number) : quick ? [0.1, 0.01] : [1, 0.1, 0.01]
const CHECKERS = Number(arg('checkers') ?? 10000)
const RT = Number(arg('rt') ?? 50)
const RTTIME = arg('rttime')
const IMPLS = (arg('impl') ?? 'kad,keepalived').split(',') as Impl[]
const FLEET_PORT = 8080
const VIP = '192.0.2.100'

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

/** adverts in a classic pcap file (Ethernet): kernel timestamps in ms */
function readPcap(file: string): Seen[] {
  const out: Seen[] = []
  let b: Buffer
  try {
    b = readFileSync(file)
  } catch {
    return out
  }
  if (b.length < 24) return out
  const le = b.readUInt32LE(0) === 0xa1b2c3d4
  const nano = b.readUInt32LE(0) === 0xa1b23c4d
  const u32 = (o: number) => (le || nano ? b.readUInt32LE(o) : b.readUInt32BE(o))
  for (let o = 24; o + 16 <= b.length; ) {
    const sec = u32(o)
    const frac = u32(o + 4)
    const len = u32(o + 8)
    const frame = b.subarray(o + 16, o + 16 + len)
    o += 16 + len
    const d = decodeIpv4Packet(frame.subarray(14))
    if (d.ok) out.push({ t: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), src: d.ip.src, prio: d.advert.priority })
  }
  return out
}

async function capture(lab: Lab, ns: string, file: string): Promise<() => Promise<Seen[]>> {
  const p = spawn('ip', ['netns', 'exec', ns, 'dumpcap', '-q', '-P', '-i', 'eth0', '-f', 'ip proto 112', '-w', file], { stdio: 'ignore' })
  await waitFor('capture running', () => existsSync(file), 10000)
  await sleep(200)
  return async () => {
    await sleep(100)
    p.kill('SIGTERM')
    await new Promise((r) => p.once('exit', r))
    return readPcap(file)
  }
}

/** the checker load of one router namespace: a local TCP fleet and a checker-only kad with `n` real servers */
async function startLoad(lab: Lab, ns: string, n: number): Promise<{ stop: () => Promise<void>; cpuSeconds: () => number }> {
  const fleet = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
    `require('net').createServer((s) => { s.on('error', () => undefined); s.destroy() }).listen({ port: ${FLEET_PORT}, host: '0.0.0.0', backlog: 65535 })`,
  ], { stdio: 'ignore' })
  const rs: string[] = []
  for (let i = 0; i < n; i++) rs.push(`  real_server 127.1.${Math.floor(i / 256)}.${i % 256} ${FLEET_PORT} {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n`)
  const f = lab.file(`checker-${ns}.conf`, `virtual_server 192.0.2.200 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n${rs.join('')}}\n`)
  const pid = join(lab.dir, `checker-${ns}.pid`)
  const cpid = join(lab.dir, `checker-${ns}.check.pid`)
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, ...kadCommand(ROOT), '-C', '-n', '-l', '-D', '-f', f, '-p', pid, '-c', cpid], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: lab.dir },
  })
  const d = new Daemon(`checker-${ns}`, p, pid, cpid, lab.dir)
  await waitFor(`checker in ${ns}`, () => d.has(/started check child/) || d.exited, 30000, 50)
  if (d.exited) throw new Error(`checker in ${ns} exited:\n${d.out.slice(-10).join('\n')}`)
  const childPid = Number(readFileSync(cpid, 'utf8').trim())
  return {
    cpuSeconds: () => cpuSeconds(childPid),
    stop: async () => {
      await d.term().catch(() => d.kill9().catch(() => undefined))
      fleet.kill('SIGKILL')
    },
  }
}

/** a daemon's VRRP child dying (and being respawned by its parent), as each logs it */
const CHILD_DEATH: Record<Impl, RegExp> = { kad: /vrrp child \(pid \d+\) exited with/, keepalived: /VRRP child process\(\d+\) died/ }
/** the line that says why it died (keepalived logs the signal, and its guess, on the line before) */
const DEATH_CAUSE: Record<Impl, RegExp> = { kad: CHILD_DEATH.kad, keepalived: /pid \d+ exited/ }

/** CPU seconds (user + system) of a process so far; NaN when it is gone */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return NaN
  }
}

async function main(): Promise<void> {
  const lab = new Lab('kad-vrrp-bench')
  let stopLoads = async (): Promise<void> => undefined
  const cleanup = async () => lab.destroy()
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)))
  try {
    const a = lab.host('a', 1)
    const b = lab.host('b', 2)
    const c = lab.host('c', 3)
    const loads = CHECKERS > 0 ? [await startLoad(lab, a, CHECKERS), await startLoad(lab, b, CHECKERS)] : []
    stopLoads = async () => {
      for (const l of loads) await l.stop()
    }
    if (loads.length) await sleep(2500) // the checkers' first pass spreads over one delay_loop
    const cpu0 = loads.map((l) => l.cpuSeconds())
    const t0 = Date.now()
    const start = (impl: Impl, ns: string, name: string, prio: number, adv: number): Daemon => {
      const conf = `global_defs {\n  vrrp_garp_master_delay 0\n${RT > 0 ? `  vrrp_rt_priority ${RT}\n` : ''}${RTTIME ? `  vrrp_rlimit_rttime ${RTTIME}\n` : ''}}\n` +
        instance({ priority: prio, advert: adv, version: 3, vips: [`${VIP}/24`] })
      return impl === 'kad' ? lab.kad(ns, name, conf) : lab.keepalived(ns, name, conf)
    }
    const rows: Record<string, Record<string, number>> = {}
    const notes: Record<string, string[]> = {}
    let n = 0
    for (const adv of INTERVALS) {
      for (const impl of IMPLS) {
        const r: Record<string, number> = { vrrp_child_deaths: 0 }
        const why: string[] = (notes[`${impl}@${adv}`] = [])
        const skew = ((256 - 100) * adv * 1000) / 256
        const masterDown = 3 * adv * 1000 + skew
        for (const sig of ['SIGKILL', 'SIGTERM'] as const) {
          const lc = sig.toLowerCase()
          const stopCap = await capture(lab, c, join(lab.dir, `cap-${n}.pcap`))
          for (const ns of [a, b]) sh('ip', ['-n', ns, 'addr', 'del', `${VIP}/24`, 'dev', 'eth0'], { ignore: true })
          const m = start(impl, a, `${impl}-m${n++}`, 200, adv)
          await waitFor(`${impl} master`, () => lab.hasAddr(a, VIP) && m.has(/Entering MASTER STATE/), 20000, 50)
          const bk = start(impl, b, `${impl}-b${n++}`, 100, adv)
          await waitFor(`${impl} backup`, () => bk.has(/Entering BACKUP STATE/), 20000, 50)
          // steady state: both daemons up (the backup's start-up is heavy for kad, light for keepalived)
          const steadyFrom = Date.now()
          const cpuFrom = cpuSeconds(m.childPid())
          await sleep(Math.max(3000, adv * 6000))
          // kad only: its own timer lateness (SIGUSR1 data dump), outside the jitter window, which ends here for both
          const steadyTo = Date.now()
          if (sig === 'SIGKILL') r.vrrp_child_cpu_pct = ((cpuSeconds(m.childPid()) - cpuFrom) / ((steadyTo - steadyFrom) / 1000)) * 100
          if (impl === 'kad' && sig === 'SIGKILL') {
            const f = join(m.dir, 'keepalived.data')
            rmSync(f, { force: true })
            m.proc.kill('SIGUSR1')
            const late = await waitFor('kad data dump', () => existsSync(f) && /timer lateness us (\{.*\})/.exec(readFileSync(f, 'utf8')), 3000, 20).catch(() => null)
            const j = late ? (JSON.parse(late[1]) as { p99: number; max: number }) : undefined
            r.own_timer_late_p99_us = j?.p99 ?? NaN
            r.own_timer_late_max_us = j?.max ?? NaN
          } else if (sig === 'SIGKILL') await sleep(100)
          // the master's VRRP child deaths count until the kill (the bench's own kill may make its parent log one)
          const masterDeaths = m.out.filter((l) => CHILD_DEATH[impl].test(l))
          const killedAt = Date.now()
          if (sig === 'SIGKILL') await m.kill9()
          else await m.term()
          await waitFor(`${impl} backup takes over`, () => lab.hasAddr(b, VIP), 20000, 50)
          await sleep(Math.max(200, adv * 3000))
          const seen = await stopCap()
          const deaths = [...masterDeaths, ...bk.out.filter((l) => CHILD_DEATH[impl].test(l))]
          // under CPU starvation a backup can take over spuriously before the kill: those are counted, not timed
          const spurious = seen.filter((s) => s.src === '192.0.2.2' && s.prio > 0 && s.t < killedAt - 2).length
          r[`${lc}_spurious_adverts`] = spurious
          r.vrrp_child_deaths += deaths.length
          const firstNew = seen.find((s) => s.src === '192.0.2.2' && s.prio > 0 && s.t >= killedAt - 2)
          const old = seen.filter((s) => s.src === '192.0.2.1' && (!firstNew || s.t < firstNew.t))
          const lastOld = old[old.length - 1]
          // no steady state to time: a VRRP child died (and was respawned) or the backup took over before the kill
          const steady = deaths.length === 0 && spurious === 0
          if (!steady) {
            const first = [...m.out, ...bk.out].find((l) => DEATH_CAUSE[impl].test(l))?.replace(/^.*?\d{4}: /, '')
            const cause = deaths.length ? `${deaths.length} VRRP child death(s) (${first})` : ''
            why.push(`${sig} run: no steady state, figures n/a: ${[cause, spurious ? `the backup sent ${spurious} adverts before the kill` : ''].filter(Boolean).join('; ')}`)
          }
          const ms = steady && firstNew && lastOld ? firstNew.t - lastOld.t : NaN
          r[`${lc}_ms`] = ms
          r[`${lc}_overhead_ms`] = ms - (sig === 'SIGKILL' ? masterDown : skew)
          // SIGTERM to the parent -> the priority-0 advert on the wire (signal path, child stop, send)
          if (sig === 'SIGTERM') r.sigterm_to_prio0_ms = steady ? (old.find((s) => s.prio === 0 && s.t >= killedAt - 2)?.t ?? NaN) - killedAt : NaN
          if (sig === 'SIGKILL') {
            if (!steady) r.vrrp_child_cpu_pct = NaN
            // steady state: the master's adverts from the backup's start to the kill, the same window for both
            const ts = steady ? old.filter((s) => s.prio > 0 && s.t >= steadyFrom && s.t < steadyTo).map((s) => s.t) : []
            const err: number[] = []
            const signed: number[] = []
            for (let i = 1; i < ts.length; i++) {
              signed.push((ts[i] - ts[i - 1] - adv * 1000) * 1000)
              err.push(Math.abs(signed[signed.length - 1]))
            }
            r.jitter_p50_us = pct(err, 50)
            r.jitter_p99_us = pct(err, 99)
            r.jitter_max_us = err.length ? Math.max(...err) : NaN
            r.drift_us = signed.length ? signed.reduce((x, y) => x + y, 0) / signed.length : NaN
            r.samples = err.length
          }
          await bk.term()
          for (const d of lab.daemons) if (!d.exited) await d.kill9().catch(() => undefined)
          lab.daemons.length = 0
        }
        rows[`${impl}@${adv}`] = r
      }
    }
    const keys = ['sigkill_ms', 'sigkill_overhead_ms', 'sigterm_ms', 'sigterm_overhead_ms', 'sigterm_to_prio0_ms', 'jitter_p50_us', 'jitter_p99_us', 'jitter_max_us', 'drift_us', 'samples',
      'vrrp_child_cpu_pct', 'own_timer_late_p99_us', 'own_timer_late_max_us', 'sigkill_spurious_adverts', 'sigterm_spurious_adverts', 'vrrp_child_deaths']
    const cpuPct = loads.map((l, i) => ((l.cpuSeconds() - cpu0[i]) / ((Date.now() - t0) / 1000)) * 100)
    console.log(`\nload average: ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs (other work on the machine skews the tails)`)
    console.log(`both daemons: vrrp_rt_priority ${RT > 0 ? RT : 'off'}, vrrp_rlimit_rttime ${RTTIME ?? 'default (10000)'}; checker load: ${CHECKERS > 0 ? `kad --check with ${CHECKERS} TCP_CHECK real servers at delay_loop 1 in each router namespace (checker child CPU ${cpuPct.map((x) => x.toFixed(0) + '%').join(' / ')})` : 'none'}`)
    const f = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(Math.abs(v) < 10 ? 2 : 1) : 'n/a')
    const out: string[] = []
    for (const adv of INTERVALS) {
      console.log(`\nadvert_int ${adv}s (master-down floor ${(3 * adv * 1000 + ((156 * adv * 1000) / 256)).toFixed(2)} ms, skew ${((156 * adv * 1000) / 256).toFixed(2)} ms)`)
      console.log(`${'metric'.padEnd(24)}${'kad'.padStart(12)}${'keepalived'.padStart(12)}${'ratio'.padStart(9)}`)
      const k = rows[`kad@${adv}`] ?? {}
      const ka = rows[`keepalived@${adv}`] ?? {}
      for (const key of keys) {
        const ratio = ka[key] ? k[key] / ka[key] : NaN
        console.log(`${key.padEnd(24)}${f(k[key]).padStart(12)}${f(ka[key]).padStart(12)}${f(ratio).padStart(9)}`)
        const tag = String(adv).replace('.', 'p')
        if (key !== 'samples') for (const impl of IMPLS) out.push(`${impl}_${key}_${tag}=${f(rows[`${impl}@${adv}`][key])}`)
      }
      for (const impl of IMPLS) for (const w of notes[`${impl}@${adv}`]) console.log(`  ${impl}: ${w}`)
    }
    console.log(out.join(' '))
  } catch (e) {
    for (const d of lab.daemons) console.error(`---- ${d.name} exited=${d.exited} code=${d.code}\n${d.out.slice(-15).join('\n')}`)
    throw e
  } finally {
    await stopLoads()
    await cleanup()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
