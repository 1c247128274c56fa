import { childProcess } from './child-process.js'
import { readFileSync, statSync, realpathSync, constants as fsc } from 'node:fs'
import { isAbsolute, dirname, sep } from 'node:path'
import type { Logger } from './log.js'
import { KadError } from './errors.js'

/** How to run one script (notify_*, vrrp_script, MISC_CHECK, quorum_up, …). */
export interface ScriptSpec {
  /** keepalived's form: a path, or a quoted "path arg1 arg2" string; `'` groups words */
  readonly command: string | readonly string[]
  /** run as this user (name or uid) and group; default script_user */
  readonly user?: string
  readonly group?: string
  /** ms; on expiry SIGTERM, then SIGKILL 1 s later, to the whole process group */
  readonly timeoutMs?: number
  readonly env?: Readonly<Record<string, string>>
  /** extra arguments appended (notify: INSTANCE name state prio) */
  readonly extraArgs?: readonly string[]
  /** collect stdout (bounded to 64 KiB) */
  readonly captureOutput?: boolean
}

export interface ScriptResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly timedOut: boolean
  readonly durationMs: number
  readonly stdout?: string
}

export type SecurityVerdict = { readonly ok: true } | { readonly ok: false; readonly path: string; readonly reason: string }

export interface ScriptRunnerOptions {
  /** enable_script_security */
  readonly security: boolean
  /** script_user USER [GROUP]; default keepalived_script if it exists, else root */
  readonly defaultUser?: string
  readonly defaultGroup?: string
}

export interface ScriptRunnerDeps {
  log: Logger
}

interface Identity {
  uid: number
  gid: number
  name: string
}

/**
 * Split keepalived's script string into argv: whitespace separates, "..." and '...' group (quotes removed),
 * backslash escapes the next character.
 */
export function splitCommand(cmd: string): string[] {
  const out: string[] = []
  let cur = ''
  let inWord = false
  let quote: string | null = null
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]
    if (quote) {
      if (c === quote) quote = null
      else if (c === '\\' && quote === '"' && i + 1 < cmd.length) cur += cmd[++i]
      else cur += c
      continue
    }
    if (c === '"' || c === "'") {
      quote = c
      inWord = true
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i]
      inWord = true
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push(cur)
      cur = ''
      inWord = false
    } else {
      cur += c
      inWord = true
    }
  }
  if (inWord) out.push(cur)
  return out
}

function readDb(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'))
  } catch {
    return []
  }
}

/** getpwnam / getgrnam through /etc/passwd and /etc/group */
export function lookupUser(user: string, group?: string): Identity | undefined {
  const pw = readDb('/etc/passwd').find((f) => f[0] === user || f[2] === user)
  if (!pw) return undefined
  let gid = Number(pw[3])
  if (group !== undefined) {
    const gr = readDb('/etc/group').find((f) => f[0] === group || f[2] === group)
    if (!gr) return undefined
    gid = Number(gr[2])
  }
  return { uid: Number(pw[2]), gid, name: pw[0] }
}

/**
 * keepalived's check_script_secure(): a script run as root must not be modifiable by anyone else, so every
 * component of its path (the file and each directory above it) must be owned by root (or the running user) and
 * not writable by group or others (a sticky directory is allowed). The verdict names the first unsafe component.
 */
export function checkScriptSecurity(file: string, uid: number, stat: (p: string) => { uid: number; mode: number } = statSync): SecurityVerdict {
  if (!isAbsolute(file)) return { ok: false, path: file, reason: 'script path is not absolute' }
  let real: string
  try {
    real = realpathSync(file)
  } catch {
    return { ok: false, path: file, reason: 'script does not exist' }
  }
  const parts: string[] = []
  for (let p = real; ; p = dirname(p)) {
    parts.unshift(p)
    if (p === sep || dirname(p) === p) break
  }
  for (const p of parts) {
    let st: { uid: number; mode: number }
    try {
      st = stat(p)
    } catch {
      return { ok: false, path: p, reason: 'cannot stat' }
    }
    const isDir = (st.mode & fsc.S_IFMT) === fsc.S_IFDIR
    if (st.uid !== 0 && st.uid !== uid) return { ok: false, path: p, reason: `owned by uid ${st.uid}, not root` }
    const otherWritable = (st.mode & (fsc.S_IWGRP | fsc.S_IWOTH)) !== 0
    const sticky = isDir && (st.mode & 0o1000) !== 0
    if (otherWritable && !sticky) return { ok: false, path: p, reason: 'writable by group or others' }
  }
  const st = stat(real)
  if ((st.mode & (fsc.S_IXUSR | fsc.S_IXGRP | fsc.S_IXOTH)) === 0) return { ok: false, path: real, reason: 'not executable' }
  return { ok: true }
}

/** Runs scripts: fork/exec as the script user, in a new process group that a timeout kills as a whole. */
export class ScriptRunner {
  private readonly log: Logger
  private opts: ScriptRunnerOptions = { security: false }
  private readonly running = new Set<number>()

  constructor({ log }: ScriptRunnerDeps) {
    this.log = log.child({ svc: 'script' })
  }

  configure(opts: ScriptRunnerOptions): void {
    this.opts = opts
  }

  /** the identity a script with this spec runs as, or a KadError naming the missing user */
  identity(spec: Pick<ScriptSpec, 'user' | 'group'>): Identity {
    const user = spec.user ?? this.opts.defaultUser
    const group = spec.group ?? (spec.user === undefined ? this.opts.defaultGroup : undefined)
    if (user === undefined) {
      return lookupUser('keepalived_script') ?? { uid: 0, gid: 0, name: 'root' }
    }
    const id = lookupUser(user, group)
    if (!id) throw new KadError('KAD_ERR_SCRIPT_USER', `script user ${user}${group ? ':' + group : ''} does not exist`)
    return id
  }

  argv(spec: ScriptSpec): string[] {
    const base = typeof spec.command === 'string' ? splitCommand(spec.command) : [...spec.command]
    return [...base, ...(spec.extraArgs ?? [])]
  }

  /** check a script before it is ever run; with enable_script_security an unsafe script is refused */
  check(spec: ScriptSpec): SecurityVerdict {
    const argv = this.argv(spec)
    if (argv.length === 0) return { ok: false, path: '', reason: 'empty command' }
    if (!this.opts.security) return { ok: true }
    const id = this.identity(spec)
    return checkScriptSecurity(argv[0], id.uid)
  }

  async run(spec: ScriptSpec, signal?: AbortSignal): Promise<ScriptResult> {
    const argv = this.argv(spec)
    const started = performance.now()
    const verdict = this.check(spec)
    if (!verdict.ok) {
      throw new KadError('KAD_ERR_SCRIPT_INSECURE', `script ${argv[0] ?? ''} refused: ${verdict.path}: ${verdict.reason}`, { details: { ...verdict } })
    }
    const id = this.identity(spec)
    return new Promise((resolve) => {
      const child = childProcess().spawn(argv[0], argv.slice(1), {
        detached: true,
        stdio: ['ignore', spec.captureOutput ? 'pipe' : 'ignore', 'ignore'],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...(spec.env ?? {}) },
        ...(process.getuid?.() === 0 && id.uid !== 0 ? { uid: id.uid, gid: id.gid } : {}),
      })
      let out = ''
      child.stdout?.on('data', (d: Buffer) => {
        if (out.length < 65536) out += d.toString('utf8', 0, Math.min(d.length, 65536 - out.length))
      })
      let timedOut = false
      let killTimer: NodeJS.Timeout | undefined
      const killGroup = (sig: NodeJS.Signals) => {
        if (child.pid === undefined) return
        try {
          process.kill(-child.pid, sig)
        } catch {
          /* already gone */
        }
      }
      const onTimeout = () => {
        timedOut = true
        killGroup('SIGTERM')
        killTimer = setTimeout(() => killGroup('SIGKILL'), 1000)
      }
      const timer = spec.timeoutMs !== undefined ? setTimeout(onTimeout, spec.timeoutMs) : undefined
      const onAbort = () => onTimeout()
      signal?.addEventListener('abort', onAbort, { once: true })
      if (child.pid !== undefined) this.running.add(child.pid)
      const finish = (code: number | null, sig: NodeJS.Signals | null) => {
        if (timer) clearTimeout(timer)
        if (killTimer) clearTimeout(killTimer)
        signal?.removeEventListener('abort', onAbort)
        if (child.pid !== undefined) this.running.delete(child.pid)
        // anything left in the group goes with the script
        if (timedOut) killGroup('SIGKILL')
        resolve({ code, signal: sig, timedOut, durationMs: performance.now() - started, ...(spec.captureOutput ? { stdout: out } : {}) })
      }
      child.on('error', (e) => {
        this.log.limited(`spawn:${argv[0]}`, 'error', `cannot run script ${argv[0]}: ${e.message}`)
        finish(127, null)
      })
      child.on('exit', (code, sig) => finish(code, sig))
    })
  }

  /** kill every script still running (process shutdown) */
  killAll(): void {
    for (const pid of this.running) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
    this.running.clear()
  }
}
