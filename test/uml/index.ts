/**
 * The UML harness from TypeScript: run a command (a mocha file, a node script) inside a User-Mode Linux guest
 * that has IPVS, and get its output and exit status. See uml-run.sh for what the guest provides.
 *
 *   const r = await runInUml(['node', 'script.js'], { timeoutMs: 120_000 })
 *   assert.equal(r.status, 0, r.output)
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = resolve(HERE, '../..')
export const UML_RUN = join(HERE, 'uml-run.sh')

export interface UmlRunOptions {
  /** guest memory, default 1024M */
  mem?: string
  /** wall-clock limit, default 300 s */
  timeoutMs?: number
  /** modules to load instead of the default IPVS set */
  modules?: readonly string[]
  /** working directory inside the guest (same path as on the host); default the repository root */
  cwd?: string
  env?: Record<string, string>
  /** stream the guest's output to this process's stderr as well */
  echo?: boolean
}

export interface UmlResult {
  /** the command's exit status; 124 timeout, 125 the guest did not boot */
  status: number
  output: string
  ms: number
}

/** Why the harness cannot run here, or undefined when it can (root, linux.uml, UML modules). */
export function umlUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  const kernel = process.env.KAD_UML_KERNEL ?? '/usr/bin/linux.uml'
  if (!existsSync(kernel) && spawnSync('sh', ['-c', 'command -v linux.uml']).status !== 0) return 'linux.uml not installed (apt-get install -y user-mode-linux)'
  if (!existsSync('/usr/lib/uml/modules') || readdirSync('/usr/lib/uml/modules').length === 0) return 'no UML modules under /usr/lib/uml/modules'
  if (process.env.KAD_IN_UML) return 'already inside a UML guest'
  return undefined
}

export function runInUml(command: readonly string[], opts: UmlRunOptions = {}): Promise<UmlResult> {
  const args: string[] = []
  if (opts.mem) args.push('--mem', opts.mem)
  args.push('--timeout', String(Math.ceil((opts.timeoutMs ?? 300_000) / 1000)))
  if (opts.modules) args.push('--modules', opts.modules.join(' '))
  args.push('--', ...command)
  const started = Date.now()
  return new Promise((resolvePromise, reject) => {
    const child = spawn(UML_RUN, args, { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const take = (b: Buffer): void => {
      output += b.toString()
      if (opts.echo) process.stderr.write(b)
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ status: code ?? 125, output, ms: Date.now() - started }))
  })
}

/** Runs mocha on guest test files (not picked up by the host's mocha: they end in .guest.ts). */
export function runMochaInUml(files: readonly string[], opts: UmlRunOptions & { mochaTimeoutMs?: number; grep?: string } = {}): Promise<UmlResult> {
  const mocha = join(REPO_ROOT, 'node_modules/.bin/mocha')
  return runInUml(
    [mocha, '--no-config', '--node-option', 'import=tsx', '--reporter', 'spec', '--timeout', String(opts.mochaTimeoutMs ?? 60_000), ...(opts.grep ? ['--grep', opts.grep] : []), ...files],
    opts,
  )
}
