// npm run bench -- checks [sizes=1000,5000,10000] [window=8]
// kad's check framework with TCP_CHECK and HTTP_GET at delay_loop 1 against a local fleet, beside HAProxy
// checking the same fleet (`check inter 1s`) in the same run. Runs inside its own network namespace so that
// every 127.x.y.z address is a distinct real server and nothing touches the host's interfaces.
import { execFileSync, spawn, fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childExecArgv } from '@kad/core'

const here = dirname(fileURLToPath(import.meta.url))
const sizes = (process.argv[2] ?? process.env.KAD_BENCH_SIZES ?? '1000,5000,10000').split(',').map(Number)
const windowS = Number(process.argv[3] ?? process.env.KAD_BENCH_WINDOW ?? 8)
const NS = `kad-bench-checks-${process.pid}`

function addr(i: number): string {
  return `127.${1 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`
}

async function main(): Promise<void> {
  if (!process.env.KAD_BENCH_IN_NS) {
    if (process.getuid?.() !== 0) throw new Error('bench/checks needs root (it runs in its own network namespace)')
    execFileSync('ip', ['netns', 'add', NS])
    try {
      execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up'])
      const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
        stdio: 'inherit',
        env: { ...process.env, KAD_BENCH_IN_NS: '1' },
      })
      const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)))
      process.exitCode = code
    } finally {
      execFileSync('ip', ['netns', 'del', NS])
    }
    return
  }
  try {
    execFileSync('sh', ['-c', 'ulimit -n 65536'], { stdio: 'ignore' })
  } catch {
    /* keep the limit we have */
  }
  const fleet = fork(join(here, 'fleet.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ports = await new Promise<{ tcpPort: number; httpPort: number }>((r) => fleet.once('message', (m) => r(m as never)))
  const ask = () =>
    new Promise<{ tcp: number; http: number }>((r) => {
      fleet.once('message', (m) => r(m as never))
      fleet.send('get')
    })
  const rows: Record<string, number | string>[] = []
  const kv: string[] = []
  try {
    for (const n of sizes) {
      for (const type of ['TCP_CHECK', 'HTTP_GET'] as const) {
        const port = type === 'HTTP_GET' ? ports.httpPort : ports.tcpPort
        const kad = await kadPhase(n, type, port)
        const ha = await haproxyPhase(n, type, port, fleet, ask)
        const short = type === 'HTTP_GET' ? 'http' : 'tcp'
        const row = {
          servers: n,
          check: type,
          kad_checks_s: round(kad.checksPerSec),
          kad_cpu_ms_per_1000: round(kad.cpuMsPer1000, 2),
          kad_peak_rss_mb: round(kad.peakRssMb),
          kad_fail: kad.failures,
          kad_late_p99_ms: round(kad.lateP99Ms, 1),
          haproxy_checks_s: round(ha.checksPerSec),
          haproxy_cpu_ms_per_1000: round(ha.cpuMsPer1000, 2),
          haproxy_rss_mb: round(ha.rssMb),
          cpu_ratio_kad_over_haproxy: round(kad.cpuMsPer1000 / ha.cpuMsPer1000, 2),
          coverage: round(kad.checksPerSec / n, 3),
        }
        rows.push(row)
        console.log(JSON.stringify(row))
        kv.push(
          `${short}_${n}_kad_cps=${row.kad_checks_s}`,
          `${short}_${n}_kad_cpu_ms_per_1k=${row.kad_cpu_ms_per_1000}`,
          `${short}_${n}_kad_rss_mb=${row.kad_peak_rss_mb}`,
          `${short}_${n}_haproxy_cps=${row.haproxy_checks_s}`,
          `${short}_${n}_haproxy_cpu_ms_per_1k=${row.haproxy_cpu_ms_per_1000}`,
          `${short}_${n}_cpu_ratio=${row.cpu_ratio_kad_over_haproxy}`,
          `${short}_${n}_coverage=${row.coverage}`,
        )
      }
    }
  } finally {
    fleet.send('exit')
  }
  console.log('\nservers check       kad checks/s  kad cpu ms/1k  kad rss MB  haproxy checks/s  haproxy cpu ms/1k  ratio  coverage')
  for (const r of rows) {
    console.log(
      `${String(r.servers).padEnd(8)}${String(r.check).padEnd(12)}${String(r.kad_checks_s).padStart(13)}${String(r.kad_cpu_ms_per_1000).padStart(15)}${String(r.kad_peak_rss_mb).padStart(12)}${String(r.haproxy_checks_s).padStart(18)}${String(r.haproxy_cpu_ms_per_1000).padStart(19)}${String(r.cpu_ratio_kad_over_haproxy).padStart(7)}${String(r.coverage).padStart(10)}`,
    )
  }
  console.log(`window_s=${windowS} ${kv.join(' ')}`)
}

function round(v: number, d = 0): number {
  const f = 10 ** d
  return Math.round(v * f) / f
}

interface KadResult {
  checksPerSec: number
  cpuMsPer1000: number
  peakRssMb: number
  failures: number
  lateP99Ms: number
}

async function kadPhase(n: number, type: string, port: number): Promise<KadResult> {
  // with the V8 flags kad's supervisor gives its checker child
  const child = spawn(process.execPath, [...childExecArgv('check', ['--import', 'tsx']), join(here, 'kad-phase.ts'), String(n), type, String(port), String(windowS)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const code = await new Promise((r) => {
    child.on('error', (e) => r(e.message))
    child.on('close', r)
  })
  try {
    return JSON.parse(out.trim().split('\n').pop()!) as KadResult
  } catch {
    throw new Error(`kad phase failed (${String(code)}): ${err.slice(0, 2000)}`)
  }
}

function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
  // fields 14 and 15 (utime, stime) in clock ticks; rest[0] is field 3
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100
}

/**
 * connections opened in this namespace (Tcp ActiveOpens): during the HAProxy phase only HAProxy connects, so this
 * counts its checks — its pure TCP check answers the SYN-ACK with a reset, so the fleet never accepts them
 */
function activeOpens(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'))
  const names = lines[0].split(/\s+/)
  const vals = lines[1].split(/\s+/)
  return Number(vals[names.indexOf('ActiveOpens')])
}

function procRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : 0
}

async function haproxyPhase(n: number, type: string, port: number, fleet: ChildProcess, ask: () => Promise<{ tcp: number; http: number }>) {
  const dir = mkdtempSync(join(tmpdir(), 'kad-bench-haproxy-'))
  const lines = [
    'global',
    '  maxconn 1000',
    '  nbthread 1',
    '  spread-checks 0',
    'defaults',
    `  mode ${type === 'HTTP_GET' ? 'http' : 'tcp'}`,
    '  timeout connect 3s',
    '  timeout client 10s',
    '  timeout server 10s',
    '  timeout check 3s',
    'frontend fe',
    '  bind 127.0.0.1:18999',
    '  default_backend fleet',
    'backend fleet',
    ...(type === 'HTTP_GET' ? ['  option httpchk GET /ok', '  http-check expect status 200'] : []),
    '  default-server inter 1s fall 1 rise 1',
  ]
  for (let i = 0; i < n; i++) lines.push(`  server s${i} ${addr(i)}:${port} check`)
  writeFileSync(join(dir, 'haproxy.cfg'), lines.join('\n') + '\n')
  const ha = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let haErr = ''
  ha.stderr!.on('data', (d) => (haErr += d))
  try {
    await new Promise((r) => setTimeout(r, 2000))
    if (ha.exitCode !== null) throw new Error(`haproxy exited: ${haErr.slice(0, 1000)}`)
    fleet.send('reset')
    const p0 = activeOpens()
    const c0 = procCpuMs(ha.pid!)
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, windowS * 1000))
    const counts = await ask()
    const c1 = procCpuMs(ha.pid!)
    const secs = (performance.now() - t0) / 1000
    const checks = type === 'HTTP_GET' ? counts.http : activeOpens() - p0
    return { checksPerSec: checks / secs, cpuMsPer1000: ((c1 - c0) / Math.max(1, checks)) * 1000, rssMb: procRssMb(ha.pid!) }
  } finally {
    if (ha.exitCode === null && ha.signalCode === null) {
      const gone = new Promise((r) => ha.on('exit', r))
      ha.kill('SIGKILL')
      await gone
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
