/**
 * bench/config-load: parse and validate generated configurations with 1,000 / 10,000 / 50,000 real servers
 * (virtual_server blocks with real_server + TCP_CHECK) and compare with `keepalived -t -f` on the same files.
 *
 *   npm run bench -- config-load [SIZES...]        e.g. npm run bench -- config-load 1000 10000
 *   KAD_BENCH_RS_PER_VS=50 npm run bench -- config-load   (default: every real server in one virtual_server,
 *                                                          the shape where keepalived grows quadratically)
 *   KAD_BENCH_REPEAT=5                              fresh runs per figure, the best counts (default 3)
 *
 * What is timed, and why these are the fair comparisons (kad runs from its build, core/dist: `npm run build` first):
 *
 * - whole process: `kad -t -f FILE` (node bin/kad.js) and `keepalived -t -f FILE`, both wall time of the process
 *   measured the same way (spawnSync). This is what a user waits for. kad pays Node's start-up and the import and
 *   registration of every plugin here, whatever the size of the file.
 * - config cost: the same whole-process wall time minus the tool's own time for a minimal configuration
 *   (`global_defs { router_id bench }`), for both tools: what the configuration itself costs, each tool's fixed
 *   start-up taken out the same way.
 * - kad parse (in-process, cold): bench/config-load/parse-one.mjs does what `kad -t` does (parent Host with every
 *   discovered plugin, then host.parse) and times host.parse alone, first call in a fresh process, so JIT
 *   warm-up and anything compiled or loaded on first use (schemas) are included. `warm` is a second parse (a
 *   SIGHUP reload). There is no keepalived counterpart for this figure: compare it with "config cost".
 *
 * - Node alone: `node -e 0`, measured the same way, for reference only (the floor under kad's fixed start-up: what
 *   of kad's whole-process time no change to kad can remove). It changes no other figure.
 *
 * Every figure is the best of KAD_BENCH_REPEAT fresh runs (keepalived runs longer than 10 s are run once). When
 * `perf` works, each process also runs under `perf stat -e task-clock` and its CPU time (all threads) is reported
 * beside the wall time: on a shared, loaded machine CPU time moves much less. Last line: key=value pairs.
 */
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { generateConfig } from './generate.js'

const here = nodePath.dirname(fileURLToPath(import.meta.url))
const root = nodePath.resolve(here, '../..')
const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0)
const SIZES = sizes.length > 0 ? sizes : [1000, 10000, 50000]
const PER_VS = Number(process.env.KAD_BENCH_RS_PER_VS ?? 0) || Number.MAX_SAFE_INTEGER
const TIMEOUT_MS = 120_000
const REPEAT = Math.max(1, Number(process.env.KAD_BENCH_REPEAT ?? 3) || 3)
const KAD_BIN = nodePath.join(root, 'bin/kad.js')

interface ParseResult {
  seconds: number
  cpuSeconds: number
  warmSeconds: number
  startupSeconds: number
  plugins: number
  exitCode: number
  diagnostics: number
  unknown: number
  firstDiagnostic?: string
  peakRssMb: number
}

/** the build must be current, or the figures are those of older code */
function staleBuild(): string[] {
  const out: string[] = []
  const srcDir = nodePath.join(root, 'core/src/config')
  for (const f of [...fs.readdirSync(srcDir).map((n) => `config/${n}`), 'host.ts']) {
    if (!f.endsWith('.ts')) continue
    const src = nodePath.join(root, 'core/src', f)
    const dist = nodePath.join(root, 'core/dist', f.replace(/\.ts$/, '.js'))
    if (!fs.existsSync(dist) || fs.statSync(dist).mtimeMs < fs.statSync(src).mtimeMs) out.push(f)
  }
  return out
}

function parseOnce(file: string): Promise<ParseResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [nodePath.join(here, 'parse-one.mjs'), file], { stdio: ['ignore', 'pipe', 'inherit'], env: BENCH_ENV })
    let out = ''
    c.stdout.on('data', (b: Buffer) => (out += b.toString()))
    c.on('close', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as ParseResult)
      } catch {
        reject(new Error(`parse-one exited ${code}: ${out}`))
      }
    })
  })
}

async function bestParse(file: string): Promise<ParseResult> {
  let best = await parseOnce(file)
  for (let i = 1; i < REPEAT; i++) {
    const r = await parseOnce(file)
    const warmSeconds = Math.min(r.warmSeconds, best.warmSeconds)
    const cpuSeconds = Math.min(r.cpuSeconds, best.cpuSeconds)
    best = r.seconds < best.seconds ? { ...r, warmSeconds, cpuSeconds } : { ...best, warmSeconds, cpuSeconds }
  }
  return best
}

interface Wall {
  seconds: number | 'timeout' | 'n/a'
  rc: number | null
  /** CPU time of the process and its threads (perf stat task-clock, when perf works): steadier on a shared machine */
  cpuSeconds?: number
}

const HAVE_PERF = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', 'true'], { stdio: 'pipe' }).status === 0

/**
 * The environment both tools run in: this one without NODE_EXTRA_CA_CERTS. Some machines (this one) set it
 * system-wide; Node 20 then reads and parses that whole CA bundle while it starts, before any of kad's code runs
 * (~45 ms here: `node -e 0` 0.09-0.11 s with it, 0.05 s without). A daemon started by systemd does not have it,
 * and kad never uses it (its TLS checks do not verify certificates unless told to, with Node's own CA list).
 */
const BENCH_ENV: NodeJS.ProcessEnv = { ...process.env }
delete BENCH_ENV.NODE_EXTRA_CA_CERTS
const CA_CERTS_SET = process.env.NODE_EXTRA_CA_CERTS !== undefined

/**
 * One run of a process, measured the same way for both tools: wall time around a plain spawn; when perf works, a
 * second run under `perf stat -e task-clock` gives its CPU time (perf's own start-up stays out of the wall time).
 */
function wall(cmd: string, args: string[]): Wall {
  const t0 = performance.now()
  const r = spawnSync(cmd, args, { timeout: TIMEOUT_MS, stdio: 'ignore', killSignal: 'SIGKILL', env: BENCH_ENV })
  const s = (performance.now() - t0) / 1000
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return { seconds: 'n/a', rc: null }
  if (r.error || r.signal) return { seconds: 'timeout', rc: null }
  if (!HAVE_PERF || s > 10) return { seconds: s, rc: r.status }
  const p = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', cmd, ...args], { timeout: TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'], killSignal: 'SIGKILL', maxBuffer: 64 << 20, env: BENCH_ENV })
  const m = /^([\d.]+),msec,task-clock/m.exec(String(p.stderr))
  return m ? { seconds: s, rc: r.status, cpuSeconds: Number(m[1]) / 1000 } : { seconds: s, rc: r.status }
}

function bestWall(cmd: string, args: string[], repeat = REPEAT): Wall {
  let best = wall(cmd, args)
  for (let i = 1; i < repeat && typeof best.seconds === 'number' && best.seconds < 10; i++) {
    const w = wall(cmd, args)
    if (typeof w.seconds !== 'number') continue
    const cpuSeconds = w.cpuSeconds !== undefined && best.cpuSeconds !== undefined ? Math.min(w.cpuSeconds, best.cpuSeconds) : (w.cpuSeconds ?? best.cpuSeconds)
    best = { ...(w.seconds < (best.seconds as number) ? w : best), ...(cpuSeconds !== undefined ? { cpuSeconds } : {}) }
  }
  return best
}

const kadT = (file: string, repeat?: number): Wall => bestWall(process.execPath, [KAD_BIN, '-t', '-f', file], repeat)
const keepalivedT = (file: string, repeat?: number): Wall => bestWall('keepalived', ['-t', '-f', file], repeat)
const num = (w: Wall): number | undefined => (typeof w.seconds === 'number' ? w.seconds : undefined)
const fmt = (v: number | string | undefined, d = 3): string => (v === undefined ? '-' : typeof v === 'number' ? v.toFixed(d) : v)

const stale = staleBuild()
if (stale.length > 0) console.error(`config-load: WARNING core/dist is older than core/src for ${stale.join(', ')}: run \`npm run build\` first`)

const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'kad-bench-config-'))
interface Row {
  rs: number
  bytes: number
  parse: ParseResult
  kad: Wall
  ka: Wall
  kadConfig?: number
  kaConfig?: number
  kadConfigCpu?: number
  kaConfigCpu?: number
}
const rows: Row[] = []
let kadMin: Wall
let kaMin: Wall
let nodeBare: Wall
try {
  const minFile = nodePath.join(dir, 'minimal.conf')
  fs.writeFileSync(minFile, 'global_defs {\n  router_id bench\n}\n')
  // the fixed start-up of each tool (best of more runs: it is subtracted from every size)
  kadMin = kadT(minFile, REPEAT + 2)
  kaMin = keepalivedT(minFile, REPEAT + 2)
  // Node's own start-up, for reference: the part of kad's fixed start-up kad cannot remove
  nodeBare = bestWall(process.execPath, ['-e', '0'], REPEAT + 2)
  for (const rs of SIZES) {
    const file = nodePath.join(dir, `rs${rs}.conf`)
    const text = generateConfig(rs, PER_VS)
    fs.writeFileSync(file, text)
    const parse = await bestParse(file)
    const kad = kadT(file)
    const ka = keepalivedT(file)
    const row: Row = { rs, bytes: text.length, parse, kad, ka }
    if (num(kad) !== undefined && num(kadMin) !== undefined) row.kadConfig = num(kad)! - num(kadMin)!
    if (num(ka) !== undefined && num(kaMin) !== undefined) row.kaConfig = num(ka)! - num(kaMin)!
    if (kad.cpuSeconds !== undefined && kadMin.cpuSeconds !== undefined) row.kadConfigCpu = kad.cpuSeconds - kadMin.cpuSeconds
    if (ka.cpuSeconds !== undefined && kaMin.cpuSeconds !== undefined) row.kaConfigCpu = ka.cpuSeconds - kaMin.cpuSeconds
    rows.push(row)
    console.error(
      `rs=${rs}: kad -t ${fmt(kad.seconds)} s (rc ${kad.rc}), keepalived -t ${fmt(ka.seconds)} s (rc ${ka.rc}), kad parse ${fmt(parse.seconds)} s cold (exit ${parse.exitCode}, ${parse.diagnostics} diagnostics${parse.firstDiagnostic ? `: ${parse.firstDiagnostic}` : ''})`,
    )
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}

const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '-' : a <= 0 || b <= 0 ? 'noise' : (a / b).toFixed(1))
console.log(`config-load: real servers per virtual_server = ${PER_VS === Number.MAX_SAFE_INTEGER ? 'all' : PER_VS}; kad from core/dist with ${rows[0]?.parse.plugins ?? '?'} plugins; best of ${REPEAT} fresh runs`)
if (CA_CERTS_SET) console.log('NODE_EXTRA_CA_CERTS is set here: every process ran without it (as under systemd); Node 20 parses that bundle at start-up, ~45 ms on this machine')
console.log(`fixed start-up (minimal config, whole process): kad -t ${fmt(kadMin!.seconds)} s (CPU ${fmt(kadMin!.cpuSeconds)}), keepalived -t ${fmt(kaMin!.seconds)} s (CPU ${fmt(kaMin!.cpuSeconds)}), node -e 0 ${fmt(nodeBare!.seconds)} s (CPU ${fmt(nodeBare!.cpuSeconds)})${HAVE_PERF ? '' : '; no perf: no CPU figures for the processes'}`)
console.log('| real servers | file MB | kad -t s (process) | keepalived -t s (process) | keepalived/kad (process) | kad -t CPU s | keepalived -t CPU s | kad config cost s | keepalived config cost s | keepalived/kad (config cost) | kad config CPU s | keepalived config CPU s | kad parse s (in-process, cold) | kad parse CPU s | kad parse s (warm) | kad peak RSS MB | kad exit | keepalived rc |')
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for (const r of rows) {
  console.log(
    `| ${r.rs} | ${(r.bytes / 1048576).toFixed(1)} | ${fmt(r.kad.seconds)} | ${fmt(r.ka.seconds)} | ${ratio(num(r.ka), num(r.kad))} | ${fmt(r.kad.cpuSeconds)} | ${fmt(r.ka.cpuSeconds)} | ${fmt(r.kadConfig)} | ${fmt(r.kaConfig)} | ${ratio(r.kaConfig, r.kadConfig)} | ${fmt(r.kadConfigCpu)} | ${fmt(r.kaConfigCpu)} | ${fmt(r.parse.seconds)} | ${fmt(r.parse.cpuSeconds)} | ${fmt(r.parse.warmSeconds)} | ${r.parse.peakRssMb.toFixed(0)} | ${r.parse.exitCode} | ${r.ka.rc ?? '-'} |`,
  )
}
// the goal, read every way: never slower than keepalived at any size. Each miss names its size, both figures,
// the difference and the ratio; a config-cost difference at or below zero means the run was noisier than the
// config cost itself: no verdict from it.
interface Pair {
  rs: number
  kad: number | undefined
  ka: number | undefined
}
const misses = (pairs: Pair[]): { slower: string[]; noise: number[] } => {
  const slower: string[] = []
  const noise: number[] = []
  for (const p of pairs) {
    if (p.kad === undefined || p.ka === undefined) continue
    if (p.kad <= 0 || p.ka <= 0) noise.push(p.rs)
    else if (p.kad > p.ka) slower.push(`${p.rs} (kad ${p.kad.toFixed(3)} s, keepalived ${p.ka.toFixed(3)} s: +${(p.kad - p.ka).toFixed(3)} s, ${(p.kad / p.ka).toFixed(1)}x)`)
  }
  return { slower, noise }
}
const verdict = (pairs: Pair[]): string => {
  const { slower, noise } = misses(pairs)
  const met = pairs.filter((p) => p.kad !== undefined && p.ka !== undefined && p.kad > 0 && p.ka > 0 && p.kad <= p.ka).map((p) => p.rs)
  return [
    slower.length === 0 ? 'never slower' : `slower at ${slower.join('; ')}`,
    ...(met.length > 0 && slower.length > 0 ? [`not slower at ${met.join(', ')}`] : []),
    ...(noise.length > 0 ? [`not measurable at ${noise.join(', ')} (a difference <= 0: the machine was noisier than the config cost)`] : []),
  ].join('; ')
}
console.log('goal: never slower than keepalived at any size')
const nodeAlone = num(nodeBare!)
console.log(
  `whole process, wall time: ${verdict(rows.map((r) => ({ rs: r.rs, kad: num(r.kad), ka: num(r.ka) })))}` +
    (nodeAlone !== undefined ? ` [Node alone, \`node -e 0\`: ${nodeAlone.toFixed(3)} s; kad's own fixed start-up above it: ${fmt(num(kadMin!) !== undefined ? num(kadMin!)! - nodeAlone : undefined)} s]` : ''),
)
if (HAVE_PERF) console.log(`whole process, CPU time: ${verdict(rows.map((r) => ({ rs: r.rs, kad: r.kad.cpuSeconds, ka: r.ka.cpuSeconds })))}`)
console.log(`config cost, wall time: ${verdict(rows.map((r) => ({ rs: r.rs, kad: r.kadConfig, ka: r.kaConfig })))}`)
if (HAVE_PERF) console.log(`config cost, CPU time: ${verdict(rows.map((r) => ({ rs: r.rs, kad: r.kadConfigCpu, ka: r.kaConfigCpu })))}`)
console.log(`kad's in-process cold parse vs keepalived's config cost (wall): ${verdict(rows.map((r) => ({ rs: r.rs, kad: r.parse.seconds, ka: r.kaConfig })))}`)
// the other two goals: 50,000 real servers in at most 2 s, and linear growth (config cost per 1,000 real servers)
const big = rows.find((r) => r.rs === 50000)
if (big) console.log(`50,000 real servers in at most 2 s (kad -t, whole process): ${fmt(big.kad.seconds)} s, ${num(big.kad) !== undefined && num(big.kad)! <= 2 ? 'met' : 'NOT met'}`)
console.log(`growth: kad's cold parse per 1,000 real servers: ${rows.map((r) => `${r.rs} ${((r.parse.seconds / r.rs) * 1e6).toFixed(1)} ms`).join(', ')}; warm: ${rows.map((r) => `${r.rs} ${((r.parse.warmSeconds / r.rs) * 1e6).toFixed(1)} ms`).join(', ')}`)
const kv: string[] = [`kad_t_min_s=${fmt(kadMin!.seconds)}`, `keepalived_t_min_s=${fmt(kaMin!.seconds)}`, `node_bare_s=${fmt(nodeBare!.seconds)}`]
for (const r of rows) {
  kv.push(
    `rs${r.rs}_kad_s=${r.parse.seconds.toFixed(3)}`,
    `rs${r.rs}_kad_cpu_s=${r.parse.cpuSeconds.toFixed(3)}`,
    `rs${r.rs}_kad_warm_s=${r.parse.warmSeconds.toFixed(3)}`,
    `rs${r.rs}_kad_mb=${r.parse.peakRssMb.toFixed(0)}`,
    `rs${r.rs}_kad_t_s=${fmt(r.kad.seconds)}`,
    `rs${r.rs}_keepalived_s=${fmt(r.ka.seconds)}`,
    `rs${r.rs}_kad_config_s=${fmt(r.kadConfig)}`,
    `rs${r.rs}_keepalived_config_s=${fmt(r.kaConfig)}`,
  )
  if (r.kad.cpuSeconds !== undefined) kv.push(`rs${r.rs}_kad_t_cpu_s=${fmt(r.kad.cpuSeconds)}`)
  if (r.ka.cpuSeconds !== undefined) kv.push(`rs${r.rs}_keepalived_cpu_s=${fmt(r.ka.cpuSeconds)}`)
}
for (const r of rows) kv.push(`ratio${r.rs}_process=${ratio(num(r.ka), num(r.kad))}`, `ratio${r.rs}_config=${ratio(r.kaConfig, r.kadConfig)}`)
console.log(kv.join(' '))
