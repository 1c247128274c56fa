import { execFile, fork, type ChildProcess } from 'node:child_process'
import { setPriority } from 'node:os'
import { writeFileSync, unlinkSync, mkdirSync, rmdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Host } from '../host.js'
import type { Logger } from '../log.js'
import type { ConfigModel, ConfigDiagnostic } from '../config/types.js'
import { PID_DIR, type DaemonOptions } from '../options.js'
import type { ProcessRole } from '../plugin/contract.js'
import { isChildToParent, type ChildToParent, type ParentToChild } from '../ipc.js'
import { rolesToRun, pidFileOf, dumpFileOf, writeDumpFile, SIGFUNC_JSON, SIGFUNC_STATS_CLEAR } from './roles.js'
import { getCoreSection, formatConfigDiagnostic } from '../config/index.js'
import { asValue } from 'awilix/browser'
import type { ChildStatus, Supervision } from '../supervision.js'

type ChildRole = Exclude<ProcessRole, 'parent'>

interface ChildSlot {
  role: ChildRole
  proc?: ChildProcess
  startedAt: number
  restarts: number
  backoffMs: number
  timer?: NodeJS.Timeout
  wanted: boolean
  /** the scheduling tools (prlimit, chrt, taskset) applied to the current process, in order */
  tuning?: Promise<void>
}

const CHILD_ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'child.js')
const BACKOFF_FIRST_MS = 100
const BACKOFF_MAX_MS = 30_000
const STABLE_MS = 60_000
/** the RLIMIT_RTTIME hard limit (SIGKILL) is never below 1 s of CPU without a blocking call */
const RTTIME_HARD_MIN_US = 1_000_000
/** RLIMIT_RTTIME while a realtime child starts (module loading, the first compilations and GCs) */
const RTTIME_STARTUP_US = 10_000_000

/**
 * V8 flags per child.
 *  - V8's memory reducer (full mark-compact GCs, 5-15 ms pauses, started ~8 s after start-up and again whenever
 *    the process looks idle) is off in the VRRP child, whose timers are kept to tens of microseconds at 10 ms
 *    adverts (a VRRP child at advert_int 1 always looks idle), and in the checker child, which allocates little
 *    per check and so looks idle too: at 1,000 servers two such GCs in a row cost ~7 ms of CPU a second, a sixth
 *    of what the checks cost. Both heaps are small and steady.
 *  - The VRRP child's GC runs on its own thread only: under vrrp_rt_priority the main thread is SCHED_RR but V8's
 *    GC helper threads are not, and a main thread joining a helper that a loaded machine has preempted waited
 *    10-40 ms (a priority inversion); alone, a scavenge of its small young generation takes well under a
 *    millisecond.
 *  - The VRRP child has `gc()` exposed so that it collects its start-up and reload garbage at once (child.ts):
 *    once the adverts allocate little, V8 otherwise got to it tens of seconds later, in one 5-10 ms scavenge
 *    that delayed an advert.
 */
export function childExecArgv(role: ChildRole, base: readonly string[] = process.execArgv): string[] {
  if (role === 'vrrp') return [...base, '--no-memory-reducer', '--single-threaded-gc', '--expose-gc']
  if (role === 'check') return [...base, '--no-memory-reducer']
  return [...base]
}

/**
 * keepalived's parent (watchdog): forks the children the config and flags call for, restarts a child that dies
 * (with back-off, unless -R), routes events between children, and turns signals into reload / stop / dumps.
 */
export class Supervisor implements Supervision {
  private readonly children = new Map<ChildRole, ChildSlot>()
  readonly self = { pid: process.pid, startedAt: Date.now() }
  private queryId = 0
  /** start, reloads and stop of the parent's own plugins, one after another */
  private parentOps: Promise<void> = Promise.resolve()
  private readonly answers = new Map<number, (a: Extract<ChildToParent, { t: 'answer' }>) => void>()
  private model!: ConfigModel
  private stopping = false
  private readonly log: Logger
  private resolveDone!: (code: number) => void
  readonly done: Promise<number>

  constructor(private readonly host: Host, private readonly options: DaemonOptions) {
    this.log = host.log
    this.done = new Promise((r) => (this.resolveDone = r))
  }

  /**
   * Parse, validate, log the diagnostics; undefined when kad cannot run this config. At start, like keepalived, only
   * fatal problems stop kad (errors are logged); on reload any error keeps the running config (what keepalived's
   * reload_check_config does). --strict refuses any warning in both cases.
   */
  load(forReload = false): ConfigModel | undefined {
    const res = this.host.parse({ file: this.options.configFile })
    for (const d of res.diagnostics) {
      const line = formatConfigDiagnostic(d)
      if (d.severity === 'fatal' || d.severity === 'error') this.log.error(line)
      else if (d.severity !== 'info') this.log.warn(line)
    }
    const fatal =
      res.diagnostics.some((d) => d.severity === 'fatal' || (forReload && d.severity === 'error')) || (this.options.strict && res.exitCode !== 0)
    return fatal ? undefined : res.model
  }

  async start(model: ConfigModel): Promise<void> {
    this.model = model
    writePid(this.options.pidFile, process.pid)
    this.installSignals()
    for (const role of rolesToRun(model, this.options)) this.spawn(role)
    if (this.children.size === 0) this.log.warn('nothing to run: the configuration has no vrrp, virtual_server or bfd section (use --all to start every child)')
    // the plugins that run in the parent (roles: ['parent']) start with the supervision service at hand; one that
    // fails is logged and the daemon goes on (its children are already running)
    this.host.container.register('supervision', asValue(this as Supervision))
    await this.parentOp('start', () => this.host.start(model))
  }

  private parentOp(what: string, op: () => Promise<void>): Promise<void> {
    this.parentOps = this.parentOps.then(op).catch((e: Error) => this.log.error(`parent plugins: ${what} failed: ${e.message}`))
    return this.parentOps
  }

  /** Supervision: each wanted child, asked for its JSON (keepalived_<role>.json) over IPC, at most timeoutMs */
  async query(timeoutMs = 1000): Promise<ChildStatus[]> {
    return Promise.all([...this.children.values()].filter((s) => s.wanted).map((s) => this.queryOne(s, timeoutMs)))
  }

  private queryOne(s: ChildSlot, timeoutMs: number): Promise<ChildStatus> {
    const base: ChildStatus = { role: s.role, pid: s.proc?.pid, up: s.proc?.connected === true, restarts: s.restarts, startedAt: s.startedAt }
    if (!base.up) return Promise.resolve({ ...base, error: 'not running' })
    const id = ++this.queryId
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.answers.delete(id)
        resolve({ ...base, error: `no answer within ${timeoutMs} ms` })
      }, timeoutMs)
      this.answers.set(id, (a) => {
        clearTimeout(timer)
        this.answers.delete(id)
        resolve({ ...base, json: a.json, loop: a.loop })
      })
      this.sendTo(s.role, { t: 'query', id })
    })
  }

  pids(): Partial<Record<ChildRole, number>> {
    const out: Partial<Record<ChildRole, number>> = {}
    for (const [r, s] of this.children) if (s.proc?.pid) out[r] = s.proc.pid
    return out
  }

  private slot(role: ChildRole): ChildSlot {
    let s = this.children.get(role)
    if (!s) {
      s = { role, startedAt: 0, restarts: 0, backoffMs: BACKOFF_FIRST_MS, wanted: true }
      this.children.set(role, s)
    }
    return s
  }

  private spawn(role: ChildRole): void {
    const s = this.slot(role)
    s.wanted = true
    s.timer = undefined
    const proc = fork(CHILD_ENTRY, [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv: childExecArgv(role) })
    s.proc = proc
    s.startedAt = Date.now()
    if (proc.pid) {
      writePid(pidFileOf(role, this.options), proc.pid)
      this.tune(role, proc.pid, 'spawn')
    }
    proc.on('message', (m: unknown) => this.onMessage(role, m))
    proc.on('exit', (code, sig) => this.onExit(s, proc, code, sig))
    proc.on('error', (e) => this.log.error(`child ${role}: ${e.message}`))
    this.log.info(`starting ${role} child process, pid ${proc.pid}`)
  }

  /**
   * keepalived's per-child scheduling: `<role>_priority` (nice), `<role>_rt_priority` (SCHED_RR, with
   * `<role>_rlimit_rttime`, default 10000 us as keepalived), `<role>_cpu_affinity`. Node has no sched_setscheduler,
   * so the util-linux tools apply them; a failure is logged, never fatal.
   *
   * nice and affinity are set at fork. The realtime class once the child is 'ready' (its handlers installed), with a
   * generous RLIMIT_RTTIME while it starts: Node's start-up (module loading, compiling, the first GCs) runs well
   * over 10 ms of CPU without a blocking call and the configured limit would SIGKILL it in a restart loop; but it
   * must already be realtime when its instances start, or a loaded machine delays its first adverts past the
   * master-down interval. Once 'started', the soft limit is the configured one (SIGXCPU, which the child logs) and
   * the hard limit, which kills, at least 1 s, as a V8 full GC or a reload of a large config can run more than 10 ms
   * without blocking where keepalived's C would not.
   */
  private tune(role: ChildRole, pid: number, when: 'spawn' | 'ready' | 'started'): void {
    const core = getCoreSection(this.model)
    const t = role === 'vrrp' ? core.vrrp : role === 'check' ? core.checker : core.bfd
    if (!t) return
    // one tool at a time per child, in order: the start-up limit must not land after the running one
    const slot = this.slot(role)
    const run = (cmd: string, args: string[]) => {
      slot.tuning = (slot.tuning ?? Promise.resolve()).then(
        () =>
          new Promise<void>((done) =>
            execFile(cmd, args, (err) => {
              if (err) this.log.warn(`${role} child: ${cmd} ${args.join(' ')} failed: ${err.message.split('\n')[0]}`)
              done()
            }),
          ),
      )
    }
    if (when !== 'spawn') {
      if (t.rtPriority === undefined) return
      const soft = t.rlimitRttime ?? 10000
      const hard = Math.max(soft, RTTIME_HARD_MIN_US)
      if (when === 'ready') {
        run('prlimit', ['--pid', String(pid), `--rttime=${RTTIME_STARTUP_US}:${RTTIME_STARTUP_US}`])
        run('chrt', ['-r', '-p', String(t.rtPriority), String(pid)])
      } else run('prlimit', ['--pid', String(pid), `--rttime=${soft}:${hard}`])
      return
    }
    if (t.nice !== undefined) {
      try {
        setPriority(pid, t.nice)
      } catch (e) {
        this.log.warn(`${role} child: cannot set priority ${t.nice}: ${(e as Error).message}`)
      }
    }
    if (t.cpuAffinity?.length) run('taskset', ['-a', '-p', '-c', t.cpuAffinity.join(','), String(pid)])
  }

  private onMessage(role: ChildRole, m: unknown): void {
    if (!isChildToParent(m)) return
    switch (m.t) {
      case 'ready':
      case 'started': {
        if (m.t === 'ready') this.sendTo(role, { t: 'start', model: this.model, options: this.options })
        const pid = this.children.get(role)?.proc?.pid
        if (pid) this.tune(role, pid, m.t)
        break
      }
      case 'event':
        for (const [r, c] of this.children) {
          if (r === role || (m.to && !m.to.includes(r))) continue
          if (c.proc?.connected) c.proc.send({ t: 'event', channel: m.channel, payload: m.payload, from: role } satisfies ParentToChild)
        }
        break
      case 'fatal':
        this.log.error(`child ${role} reported: ${m.error.split('\n')[0]}`)
        break
      case 'reloaded':
        if (!m.ok) this.log.error(`child ${role} failed to reload: ${m.error}`)
        break
      case 'answer':
        this.answers.get(m.id)?.(m)
        break
    }
  }

  private onExit(s: ChildSlot, proc: ChildProcess, code: number | null, sig: NodeJS.Signals | null): void {
    if (s.proc !== proc) return
    s.proc = undefined
    removePid(pidFileOf(s.role, this.options))
    if (this.stopping || !s.wanted) {
      this.checkAllStopped()
      return
    }
    const how = sig ? `signal ${sig}` : `code ${code}`
    if (this.options.dontRespawn) {
      this.log.error(`${s.role} child (pid ${proc.pid}) exited with ${how}; not restarting (-R)`)
      return
    }
    if (Date.now() - s.startedAt > STABLE_MS) s.backoffMs = BACKOFF_FIRST_MS
    const delay = s.backoffMs
    s.backoffMs = Math.min(s.backoffMs * 2, BACKOFF_MAX_MS)
    s.restarts++
    this.log.error(`${s.role} child (pid ${proc.pid}) exited with ${how}; restarting in ${delay} ms (restart ${s.restarts})`)
    s.timer = setTimeout(() => this.spawn(s.role), delay)
  }

  private sendTo(role: ChildRole, m: ParentToChild): void {
    const p = this.children.get(role)?.proc
    if (p?.connected) p.send(m)
  }

  private broadcast(m: ParentToChild, roles?: readonly ChildRole[]): void {
    for (const [r] of this.children) if (!roles || roles.includes(r)) this.sendTo(r, m)
  }

  /** SIGHUP: re-parse; a config that fails keeps the running one */
  reload(): void {
    if (this.stopping) return
    this.log.info('reloading configuration')
    const next = this.load(true)
    if (!next) {
      this.log.error('reload: the new configuration has errors; keeping the running one')
      return
    }
    this.model = next
    const want = new Set(rolesToRun(next, this.options))
    for (const [role, s] of this.children) {
      if (!want.has(role)) {
        s.wanted = false
        if (s.timer) clearTimeout(s.timer)
        this.sendTo(role, { t: 'stop' })
      } else if (s.proc) this.sendTo(role, { t: 'reload', model: next })
    }
    for (const role of want) if (!this.children.get(role)?.proc && !this.children.get(role)?.timer) this.spawn(role)
    void this.parentOp('reload', () => this.host.reload(next))
  }

  dump(kind: 'data' | 'stats' | 'stats-clear' | 'json'): void {
    if (kind === 'data') {
      const lines = [`------< Parent >------`, ` pid = ${process.pid}`, ` config = ${this.options.configFile}`]
      for (const [r, s] of this.children) lines.push(` child ${r}: pid ${s.proc?.pid ?? '-'} restarts ${s.restarts}`)
      writeDumpFile(dumpFileOf('parent', 'data'), lines.join('\n') + '\n')
      this.broadcast({ t: 'dump', kind })
    } else if (kind === 'json') this.broadcast({ t: 'dump', kind })
    else this.broadcast({ t: 'dump', kind }, ['vrrp'])
  }

  /** SIGTERM / SIGINT: children first (child_wait_time), then the parent */
  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    // as keepalived's parent: SIGTERM to each child at once (a synchronous kill(), where an IPC message waits for
    // this loop to write it and the child's to read and decode it); the VRRP child's priority-0 advert is on the
    // wire sooner. The child stops as on 'stop'. Log after.
    for (const [, s] of this.children) {
      if (s.timer) clearTimeout(s.timer)
      s.timer = undefined
      if (!s.proc?.kill('SIGTERM') && s.proc?.connected) s.proc.send({ t: 'stop' } satisfies ParentToChild)
    }
    this.log.info('stopping')
    const wait = (getCoreSection(this.model).childWaitTime ?? 5) * 1000
    const killer = setTimeout(() => {
      for (const [, s] of this.children) s.proc?.kill('SIGKILL')
    }, wait)
    await new Promise<void>((r) => {
      this.allStopped = r
      this.checkAllStopped()
    })
    clearTimeout(killer)
    await this.parentOp('stop', () => this.host.stop('signal'))
    for (const [role] of this.children) removePid(pidFileOf(role, this.options))
    removePid(this.options.pidFile)
    // keepalived's pid directory (namespace, instance, use_pid_dir: options.ts) goes once empty
    if (this.options.pidFile.startsWith(`${PID_DIR}/`)) for (const d of [dirname(this.options.pidFile), PID_DIR]) removeEmptyDir(d)
    this.resolveDone(0)
  }

  private allStopped?: () => void
  private checkAllStopped(): void {
    if (this.stopping && [...this.children.values()].every((s) => !s.proc)) this.allStopped?.()
  }

  private installSignals(): void {
    process.on('SIGHUP', () => this.reload())
    process.on('SIGTERM', () => void this.stop())
    if (!this.options.ignoreSigint) process.on('SIGINT', () => void this.stop())
    process.on('SIGUSR1', () => this.dump('data'))
    process.on('SIGUSR2', () => this.dump('stats'))
    process.on('SIGPIPE', () => undefined)
    // realtime signals (JSON = 36, STATS_CLEAR = 63) need the addon: Node's process.on cannot take them
    void import('@kad/native')
      .then((n) => {
        n.watchSignal(SIGFUNC_JSON, () => this.dump('json'))
        n.watchSignal(SIGFUNC_STATS_CLEAR, () => this.dump('stats-clear'))
      })
      .catch((e: Error) => this.log.warn(`JSON and STATS_CLEAR signals unavailable: ${e.message}`))
  }
}

export function writePid(file: string, pid: number): void {
  try {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${pid}\n`)
  } catch {
    /* a pid file we cannot write is not fatal */
  }
}

function removeEmptyDir(dir: string): void {
  try {
    rmdirSync(dir)
  } catch {
    /* not empty, or gone */
  }
}

export function removePid(file: string): void {
  try {
    unlinkSync(file)
  } catch {
    /* already gone */
  }
}
