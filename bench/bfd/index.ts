/**
 * npm run bench -- bfd   (root; BENCH_QUICK=1 holds each step 10 s instead of 60 s)
 *
 * How many BFD sessions at 10 ms x 3 each implementation holds without a false down, and the p99 of the
 * transmit-interval jitter, for kad and for FRR's bfdd in the same run:
 *   - kad:  a kad engine process in namespace A <-> a kad engine process in namespace B
 *   - frr:  bfdd in A <-> bfdd in B
 * N sessions are N IPv6 address pairs on one veth link (2001:db8:1::a:i <-> 2001:db8:1::b:i). N doubles from
 * 25 until a step fails (a session does not come up, or one goes down during the hold), then one step halfway
 * between the last count held and the first that failed.
 * Jitter: from a tshark capture of the first 16 flows sent from A during the hold, the amount by which an
 * interval between two packets of a flow exceeds the negotiated 10 ms (RFC 5880 §6.8.7 allows only earlier).
 * A step is tried up to BENCH_BFD_TRIES (3) times and held if one attempt holds (machine-wide stalls on a shared
 * box take both systems down alike). Last line: key=value.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { Histogram } from '@kad/core'

const here = dirname(fileURLToPath(import.meta.url))
const QUICK = process.env.BENCH_QUICK === '1'
const HOLD_S = Number(process.env.BENCH_BFD_HOLD_S ?? (QUICK ? 10 : 60))
const MAX_N = Number(process.env.BENCH_BFD_MAX ?? 3200)
const START_N = Number(process.env.BENCH_BFD_START ?? 25)
const INTERVAL_MS = 10
const MULT = 3
const CAPTURE_S = 5
/** attempts per step: a machine-wide stall (other jobs, namespace teardown holding kernel locks) takes every
 * session of both systems down at once; a step counts as held if one attempt holds */
const TRIES = Number(process.env.BENCH_BFD_TRIES ?? 3)
const CAPTURE_FLOWS = 16
const ID = String(process.pid % 100000)
/** both systems run at the same SCHED_RR priority (keepalived's bfd_rt_priority), so other load on the machine
 * does not decide the result; BENCH_BFD_RT=0 runs them as ordinary processes */
const RT = process.env.BENCH_BFD_RT !== '0' ? ['chrt', '-r', '40'] : []
const NS_A = `kad-bfd-bench-${ID}-a`
const NS_B = `kad-bfd-bench-${ID}-b`

const sh = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const log = (...a: unknown[]) => console.error('[bench bfd]', ...a)

const addrA = (i: number) => `2001:db8:1::a:${(i + 1).toString(16)}`
const addrB = (i: number) => `2001:db8:1::b:${(i + 1).toString(16)}`

function setup(): void {
  teardown()
  sh('ip', ['netns', 'add', NS_A])
  sh('ip', ['netns', 'add', NS_B])
  sh('ip', ['link', 'add', `kbA${ID}`, 'type', 'veth', 'peer', 'name', `kbB${ID}`])
  sh('ip', ['link', 'set', `kbA${ID}`, 'netns', NS_A])
  sh('ip', ['link', 'set', `kbB${ID}`, 'netns', NS_B])
  for (const [ns, dev, addr] of [[NS_A, `kbA${ID}`, addrA], [NS_B, `kbB${ID}`, addrB]] as const) {
    const lines = [`link set lo up`, `link set ${dev} up`]
    for (let i = 0; i < MAX_N; i++) lines.push(`addr add ${addr(i)}/64 dev ${dev} nodad`)
    sh('ip', ['-n', ns, '-batch', '-'], lines.join('\n') + '\n')
  }
}

function teardown(): void {
  for (const ns of [NS_A, NS_B]) {
    try {
      sh('ip', ['netns', 'del', ns])
    } catch {
      /* absent */
    }
  }
}

interface Side {
  stop(): Promise<unknown>
  /** resolves when every session on this side is up */
  allUp(timeoutMs: number): Promise<boolean>
  /** reset statistics at the start of the hold */
  markHold(): Promise<void>
  /** false downs since markHold */
  downs(): Promise<number>
}

function kadSide(ns: string, n: number, local: (i: number) => string, remote: (i: number) => string): Side & { stats?: any } {
  const cfg = {
    netns: `/run/netns/${ns}`,
    sessions: Array.from({ length: n }, (_, i) => ({ name: `s${i}`, neighbor: remote(i), source: local(i) })),
    minRxUs: INTERVAL_MS * 1000,
    minTxUs: INTERVAL_MS * 1000,
    multiplier: MULT,
  }
  const prof = process.env.BENCH_BFD_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_BFD_PROF] : []
  const argv = [process.execPath, ...prof, '--import', 'tsx', join(here, 'kad-worker.ts'), JSON.stringify(cfg)]
  const cmd = [...RT, ...argv]
  const proc = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
  let up = false
  let downs = 0
  let holding = false
  const waiters: ((m: any) => void)[] = []
  const side: Side & { stats?: any } = {
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      await Promise.race([exited, sleep(3000)])
      if (proc.exitCode === null) proc.kill('SIGKILL')
    },
    allUp: async (timeoutMs) => {
      const end = Date.now() + timeoutMs
      while (!up && Date.now() < end && proc.exitCode === null) await sleep(50)
      return up
    },
    markHold: async () => {
      holding = true
      downs = 0
      const got = new Promise((r) => waiters.push(r))
      proc.kill('SIGUSR2')
      await Promise.race([got, sleep(2000)])
    },
    downs: async () => {
      const got = new Promise<any>((r) => waiters.push(r))
      proc.kill('SIGUSR2')
      side.stats = await Promise.race([got, sleep(2000)])
      return downs
    },
  }
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let m: any
    try {
      m = JSON.parse(line)
    } catch {
      return
    }
    if (m.t === 'up') up = true
    else if (m.t === 'down' && holding) downs++
    else if (m.t === 'stats') waiters.shift()?.(m)
  })
  return side
}

function frrSide(ns: string, n: number, local: (i: number) => string, remote: (i: number) => string, tag: string): Side {
  const dir = `/tmp/kad-bfd-bench-${ID}-${tag}`
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const conf = ['bfd']
  for (let i = 0; i < n; i++) conf.push(` peer ${remote(i)} local-address ${local(i)}`, `  receive-interval ${INTERVAL_MS}`, `  transmit-interval ${INTERVAL_MS}`, `  detect-multiplier ${MULT}`, ' exit')
  conf.push('exit', '')
  writeFileSync(`${dir}/bfdd.conf`, conf.join('\n'))
  sh('chown', ['-R', 'frr:frr', dir])
  const proc: ChildProcess = spawn('ip', ['netns', 'exec', ns, ...RT, '/usr/lib/frr/bfdd', '-u', 'frr', '-g', 'frr', '--vty_socket', dir, '-i', `${dir}/pid`, '--bfdctl', `${dir}/ctl`, '-f', `${dir}/bfdd.conf`, '--log', `file:${dir}/log`, '--limit-fds', '100000'], { stdio: 'ignore' })
  const vtysh = (cmd: string) =>
    new Promise<string>((res) => {
      const p = spawn('vtysh', ['--vty_socket', dir, '-c', cmd], { stdio: ['ignore', 'pipe', 'ignore'] })
      let s = ''
      p.stdout.on('data', (d) => (s += d))
      p.on('exit', () => res(s))
    })
  const peers = async () => {
    try {
      return JSON.parse(await vtysh('show bfd peers json')) as { status: string }[]
    } catch {
      return []
    }
  }
  const downCount = async () => {
    try {
      return (JSON.parse(await vtysh('show bfd peers counters json')) as { 'session-down': number }[]).reduce((a, c) => a + (c['session-down'] ?? 0), 0)
    } catch {
      return NaN
    }
  }
  let base = 0
  return {
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      await Promise.race([exited, sleep(3000)])
      if (proc.exitCode === null) proc.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
    allUp: async (timeoutMs) => {
      const end = Date.now() + timeoutMs
      while (Date.now() < end && proc.exitCode === null) {
        const p = await peers()
        if (p.length === n && p.every((x) => x.status === 'up')) return true
        await sleep(500)
      }
      return false
    },
    markHold: async () => {
      base = await downCount()
    },
    downs: async () => {
      const d = (await downCount()) - base
      const p = await peers()
      const notUp = p.filter((x) => x.status !== 'up').length
      return Math.max(d, notUp)
    },
  }
}

/** capture the first flows sent from A and return the excess of each interval over the nominal one (us) */
async function captureJitter(n: number): Promise<Histogram & { short?: number; intervals?: number }> {
  const flows = Math.min(n, CAPTURE_FLOWS)
  const hosts = Array.from({ length: flows }, (_, i) => `src host ${addrA(i)}`).join(' or ')
  const p = spawn('ip', ['netns', 'exec', NS_A, 'tshark', '-i', `kbA${ID}`, '-a', `duration:${CAPTURE_S}`, '-f', `udp dst port 3784 and (${hosts})`, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ipv6.src', '-e', 'ipv6.dst'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const last = new Map<string, number>()
  const h: Histogram & { short?: number; intervals?: number } = new Histogram()
  h.short = 0
  h.intervals = 0
  createInterface({ input: p.stdout }).on('line', (line) => {
    const [t, src, dst] = line.split('\t')
    const ts = Number(t) * 1e6
    const key = `${src}>${dst}`
    const prev = last.get(key)
    last.set(key, ts)
    if (prev === undefined) return
    h.intervals!++
    // below 75 % of the interval breaks RFC 5880 §6.8.7 too (a Final answering a Poll is allowed: rare)
    if (ts - prev < 0.75 * INTERVAL_MS * 1000 - 50) h.short!++
    h.record(Math.max(0, ts - prev - INTERVAL_MS * 1000))
  })
  await new Promise((r) => p.once('exit', r))
  return h
}

interface StepResult {
  n: number
  ok: boolean
  reason?: string
  /** share of captured intervals shorter than 75 % of the negotiated one */
  shortShare?: number
  jitterP99Us?: number
  latenessP99Us?: number
}

async function step(system: 'kad' | 'frr', n: number): Promise<StepResult> {
  let r: StepResult = { n, ok: false }
  for (let i = 0; i < TRIES; i++) {
    r = await attempt(system, n)
    if (r.ok) return r
    log(`${system} n=${n}: attempt ${i + 1} failed (${r.reason})`)
  }
  return r
}

async function attempt(system: 'kad' | 'frr', n: number): Promise<StepResult> {
  const a = system === 'kad' ? kadSide(NS_A, n, addrA, addrB) : frrSide(NS_A, n, addrA, addrB, 'a')
  const b = system === 'kad' ? kadSide(NS_B, n, addrB, addrA) : frrSide(NS_B, n, addrB, addrA, 'b')
  try {
    const upTimeout = 20_000 + n * 20
    const [ua, ub] = await Promise.all([a.allUp(upTimeout), b.allUp(upTimeout)])
    if (!ua || !ub) return { n, ok: false, reason: 'not all sessions came up' }
    await sleep(1000)
    await Promise.all([a.markHold(), b.markHold()])
    const jitter = captureJitter(n)
    await sleep(HOLD_S * 1000)
    const h = await jitter
    const [da, db] = await Promise.all([a.downs(), b.downs()])
    const lateness = (a as { stats?: any }).stats?.txLatenessUs?.p99
    const r: StepResult = { n, ok: da + db === 0, jitterP99Us: h.quantile(0.99), shortShare: h.intervals ? h.short! / h.intervals : 0, ...(lateness !== undefined ? { latenessP99Us: lateness } : {}) }
    if (!r.ok) r.reason = `${da + db} false downs`
    if (system === 'kad') log(`kad stats A: ${JSON.stringify((a as any).stats)}`)
    return r
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}

interface Capacity {
  sessions: number
  jitterP99Us: number
  latenessP99Us?: number
  /** every step held: n -> jitter p99 */
  held: Map<number, number>
}

async function capacity(system: 'kad' | 'frr'): Promise<Capacity> {
  const held = new Map<number, number>()
  let best: StepResult | undefined
  const report = (r: StepResult) => {
    if (r.ok) held.set(r.n, r.jitterP99Us ?? NaN)
    log(`${system} n=${r.n}: ${r.ok ? 'held' : 'FAILED (' + r.reason + ')'} jitter p99 ${r.jitterP99Us} us, intervals < 75 %: ${((r.shortShare ?? 0) * 100).toFixed(3)} %${r.latenessP99Us !== undefined ? `, internal lateness p99 ${r.latenessP99Us} us` : ''}`)
  }
  let failedAt = 0
  for (let n = START_N; n <= MAX_N; n *= 2) {
    const r = await step(system, n)
    report(r)
    if (!r.ok) {
      failedAt = n
      break
    }
    best = r
    await sleep(500)
  }
  // one refinement step between the last count held and the first that failed
  if (best && failedAt > 0) {
    const mid = Math.round((best.n + failedAt) / 2)
    if (mid > best.n && mid < failedAt) {
      const r = await step(system, mid)
      report(r)
      if (r.ok) best = r
    }
  }
  return { sessions: best?.n ?? 0, jitterP99Us: best?.jitterP99Us ?? NaN, held, ...(best?.latenessP99Us !== undefined ? { latenessP99Us: best.latenessP99Us } : {}) }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench bfd needs root (network namespaces)')
    process.exit(2)
  }
  log(`hold ${HOLD_S} s per step, ${INTERVAL_MS} ms x ${MULT}, up to ${MAX_N} sessions${RT.length ? ', both at SCHED_RR 40' : ''}`)
  setup()
  let kad: Capacity, frr: Capacity
  const none: Capacity = { sessions: 0, jitterP99Us: NaN, held: new Map() }
  try {
    const only = process.env.BENCH_BFD_ONLY
    kad = only === 'frr' ? none : await capacity('kad')
    frr = only === 'kad' ? none : await capacity('frr')
  } finally {
    teardown()
  }
  const ratio = (x: number, y: number) => (y > 0 ? (x / y).toFixed(2) : 'inf')
  // jitter of both at the same session count: the largest count both held
  const common = Math.max(0, ...[...kad.held.keys()].filter((n) => frr.held.has(n)))
  const kadAt = common > 0 ? kad.held.get(common)! : NaN
  const frrAt = common > 0 ? frr.held.get(common)! : NaN
  console.log(
    [
      `kad_sessions=${kad.sessions}`,
      `frr_sessions=${frr.sessions}`,
      `sessions_ratio=${ratio(kad.sessions, frr.sessions)}`,
      `kad_tx_jitter_p99_us=${Math.round(kad.jitterP99Us)}`,
      `frr_tx_jitter_p99_us=${Math.round(frr.jitterP99Us)}`,
      `common_n=${common}`,
      `kad_tx_jitter_p99_at_common_us=${Math.round(kadAt)}`,
      `frr_tx_jitter_p99_at_common_us=${Math.round(frrAt)}`,
      `kad_tx_lateness_p99_us=${Math.round(kad.latenessP99Us ?? NaN)}`,
      `hold_s=${HOLD_S}`,
      `interval_ms=${INTERVAL_MS}`,
      `multiplier=${MULT}`,
    ].join(' '),
  )
}

process.on('SIGINT', () => {
  teardown()
  process.exit(130)
})
main().catch((e) => {
  teardown()
  console.error(e)
  process.exit(1)
})
