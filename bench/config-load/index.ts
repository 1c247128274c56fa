/**
 * bench/config-load: parse and validate generated configurations with 1,000 / 10,000 / 50,000 real servers
 * (virtual_server blocks with real_server + TCP_CHECK) and compare with `keepalived -t -f` on the same files.
 *
 *   npm run bench -- config-load [SIZES...]        e.g. npm run bench -- config-load 1000 10000
 *   KAD_BENCH_RS_PER_VS=50 npm run bench -- config-load   (default: every real server in one virtual_server,
 *                                                          the shape where keepalived grows quadratically)
 *
 * kad's time is parseConfig alone (preprocess + tree walk + ajv validation + freeze), measured in a fresh child
 * process per size: `cold` is the first parse in the process (what `kad -t` pays, JIT warm-up included), `warm`
 * the best of two more (what a SIGHUP reload pays). Peak RSS is the child's after the cold parse. keepalived's is the wall time of `keepalived -t -f FILE`
 * (timeout 120 s, reported as `timeout`). Each figure is the best of KAD_BENCH_REPEAT (3) fresh runs. Last line: key=value pairs (ratioN = keepalived_s / kad_s).
 */
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { generateConfig } from './generate.js'

const here = nodePath.dirname(fileURLToPath(import.meta.url))
const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0)
const SIZES = sizes.length > 0 ? sizes : [1000, 10000, 50000]
const PER_VS = Number(process.env.KAD_BENCH_RS_PER_VS ?? 0) || Number.MAX_SAFE_INTEGER
const KEEPALIVED_TIMEOUT_MS = 120_000
/** fresh processes per size and tool; the best run counts (the machine may be shared) */
const REPEAT = Math.max(1, Number(process.env.KAD_BENCH_REPEAT ?? 3) || 3)

interface KadResult {
  seconds: number
  /** user + system CPU of the parse (GC threads included): stable when the machine is shared */
  cpuSeconds: number
  warmSeconds: number
  keywords: string
  exitCode: number
  diagnostics: number
  unknown: number
  firstDiagnostic?: string
  peakRssMb: number
  rssBeforeMb: number
  heapDeltaMb: number
}

function runChild(file: string): Promise<KadResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', nodePath.join(here, 'parse-one.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    c.stdout.on('data', (b: Buffer) => (out += b.toString()))
    c.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(line) as KadResult)
      } catch {
        reject(new Error(`parse-one exited ${code}: ${out}`))
      }
    })
  })
}

const HAVE_TIME = fs.existsSync('/usr/bin/time')

/** wall time of `keepalived -t -f FILE`, and its CPU time (with its reaped children) when /usr/bin/time exists */
function keepalivedTime(file: string): { seconds: number | 'timeout' | 'n/a'; cpuSeconds?: number; rc: number | null } {
  if (spawnSync('keepalived', ['--version']).error) return { seconds: 'n/a', rc: null }
  const t0 = performance.now()
  const r = HAVE_TIME
    ? spawnSync('/usr/bin/time', ['-f', 'KADCPU %U %S', 'keepalived', '-t', '-f', file], { timeout: KEEPALIVED_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'], killSignal: 'SIGKILL', maxBuffer: 64 << 20 })
    : spawnSync('keepalived', ['-t', '-f', file], { timeout: KEEPALIVED_TIMEOUT_MS, stdio: 'ignore', killSignal: 'SIGKILL' })
  const s = (performance.now() - t0) / 1000
  if (r.error || r.signal) return { seconds: 'timeout', rc: null }
  const m = HAVE_TIME ? /KADCPU ([\d.]+) ([\d.]+)/.exec(String(r.stderr)) : null
  const rc = HAVE_TIME && r.status !== null && r.status >= 1 && /Command exited with non-zero status (\d+)/.test(String(r.stderr)) ? Number(/Command exited with non-zero status (\d+)/.exec(String(r.stderr))![1]) : r.status
  return m ? { seconds: s, cpuSeconds: Number(m[1]) + Number(m[2]), rc } : { seconds: s, rc }
}

const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'kad-bench-config-'))
const rows: Array<{ rs: number; kad: KadResult; ka: ReturnType<typeof keepalivedTime>; bytes: number }> = []
try {
  for (const rs of SIZES) {
    const file = nodePath.join(dir, `rs${rs}.conf`)
    const text = generateConfig(rs, PER_VS)
    fs.writeFileSync(file, text)
    let kad = await runChild(file)
    for (let i = 1; i < REPEAT; i++) {
      const again = await runChild(file)
      const warmSeconds = Math.min(again.warmSeconds, kad.warmSeconds)
      const cpuSeconds = Math.min(again.cpuSeconds, kad.cpuSeconds)
      kad = again.seconds < kad.seconds ? { ...again, warmSeconds, cpuSeconds } : { ...kad, warmSeconds, cpuSeconds }
    }
    let ka = keepalivedTime(file)
    for (let i = 1; i < REPEAT && typeof ka.seconds === 'number' && ka.seconds < 10; i++) {
      const again = keepalivedTime(file)
      if (typeof again.seconds === 'number' && typeof ka.seconds === 'number') {
        const cpuSeconds = again.cpuSeconds !== undefined && ka.cpuSeconds !== undefined ? Math.min(again.cpuSeconds, ka.cpuSeconds) : (again.cpuSeconds ?? ka.cpuSeconds)
        ka = { ...(again.seconds < ka.seconds ? again : ka), ...(cpuSeconds !== undefined ? { cpuSeconds } : {}) }
      }
    }
    rows.push({ rs, kad, ka, bytes: text.length })
    console.error(`rs=${rs}: kad ${kad.seconds.toFixed(3)} s (exit ${kad.exitCode}, ${kad.diagnostics} diagnostics), keepalived ${typeof ka.seconds === 'number' ? ka.seconds.toFixed(3) + ' s' : ka.seconds} (rc ${ka.rc})`)
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}

const fmt = (v: number | string): string => (typeof v === 'number' ? v.toFixed(3) : v)
console.log(`config-load: real servers per virtual_server = ${PER_VS === Number.MAX_SAFE_INTEGER ? 'all' : PER_VS}, keywords from ${rows[0]?.kad.keywords}`)
console.log('| real servers | file MB | kad parse s (cold) | kad CPU s (cold) | kad parse s (warm) | kad us/RS (cold) | kad peak RSS MB | kad exit | keepalived -t s | keepalived CPU s | keepalived rc | keepalived/kad (wall) | keepalived/kad (CPU) |')
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for (const r of rows) {
  const ratio = typeof r.ka.seconds === 'number' ? (r.ka.seconds / r.kad.seconds).toFixed(1) : r.ka.seconds
  const cpuRatio = r.ka.cpuSeconds !== undefined && r.ka.cpuSeconds > 0 ? (r.ka.cpuSeconds / r.kad.cpuSeconds).toFixed(1) : typeof r.ka.seconds === 'string' ? r.ka.seconds : '-'
  console.log(
    `| ${r.rs} | ${(r.bytes / 1048576).toFixed(1)} | ${fmt(r.kad.seconds)} | ${fmt(r.kad.cpuSeconds)} | ${fmt(r.kad.warmSeconds)} | ${((r.kad.seconds * 1e6) / r.rs).toFixed(1)} | ${r.kad.peakRssMb.toFixed(0)} | ${r.kad.exitCode} | ${fmt(r.ka.seconds)} | ${r.ka.cpuSeconds !== undefined ? fmt(r.ka.cpuSeconds) : '-'} | ${r.ka.rc ?? '-'} | ${ratio} | ${cpuRatio} |`,
  )
}
const kv: string[] = []
for (const r of rows) {
 kv.push(`rs${r.rs}_kad_s=${r.kad.seconds.toFixed(3)}`, `rs${r.rs}_kad_cpu_s=${r.kad.cpuSeconds.toFixed(3)}`, `rs${r.rs}_kad_warm_s=${r.kad.warmSeconds.toFixed(3)}`, `rs${r.rs}_kad_mb=${r.kad.peakRssMb.toFixed(0)}`, `rs${r.rs}_keepalived_s=${fmt(r.ka.seconds)}`)
  if (r.ka.cpuSeconds !== undefined) kv.push(`rs${r.rs}_keepalived_cpu_s=${r.ka.cpuSeconds.toFixed(3)}`)
}
for (const r of rows) kv.push(`ratio${r.rs}=${typeof r.ka.seconds === 'number' ? (r.ka.seconds / r.kad.seconds).toFixed(2) : r.ka.seconds}`)
console.log(kv.join(' '))
