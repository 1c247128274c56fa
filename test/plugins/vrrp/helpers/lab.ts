/**
 * A small network lab for the VRRP integration tests: namespaces on one bridge (a "switch" namespace), kad and
 * keepalived daemons started inside them with `ip netns exec`, log capture and polling helpers. Everything is
 * removed by `destroy()` (call it in `after`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { kadCommand } from './runtime.js'

export const ROOT = resolve(new URL('../../../../', import.meta.url).pathname)
export const KAD = join(ROOT, 'bin/kad.js')

export function sh(cmd: string, args: string[], opts: { ignore?: boolean; input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] })
  } catch (e) {
    if (opts.ignore) return ''
    throw new Error(`${cmd} ${args.join(' ')}: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`)
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15000, stepMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(stepMs)
  }
}

export class Daemon {
  readonly out: string[] = []
  exited = false
  code: number | null = null
  proc!: ChildProcess
  /** called when the process exits; may return a replacement process (restart with another runtime) */
  onExit?: (d: Daemon) => ChildProcess | undefined
  constructor(readonly name: string, proc: ChildProcess, readonly pidFile: string, readonly childPidFile: string, readonly dir: string) {
    this.attach(proc)
  }
  attach(proc: ChildProcess): void {
    this.proc = proc
    this.exited = false
    const take = (b: Buffer) => this.out.push(...b.toString().split('\n').filter(Boolean))
    proc.stdout?.on('data', take)
    proc.stderr?.on('data', take)
    proc.on('exit', (c) => {
      const next = this.onExit?.(this)
      if (next) {
        this.attach(next)
        return
      }
      this.exited = true
      this.code = c
    })
  }
  get log(): string {
    return this.out.join('\n')
  }
  has(re: RegExp): boolean {
    return this.out.some((l) => re.test(l))
  }
  count(re: RegExp): number {
    return this.out.filter((l) => re.test(l)).length
  }
  childPid(): number | undefined {
    try {
      return Number(readFileSync(this.childPidFile, 'utf8').trim()) || undefined
    } catch {
      return undefined
    }
  }
  /**
   * SIGKILL the whole daemon: the VRRP child first (a parent killed first makes keepalived's child stop gracefully
   * through PR_SET_PDEATHSIG, sending a priority-0 advert), then at once the parent, before it can respawn it.
   */
  async kill9(): Promise<void> {
    const child = this.childPid()
    if (child) try { process.kill(child, 'SIGKILL') } catch { /* gone */ }
    try { this.proc.kill('SIGKILL') } catch { /* gone */ }
    await waitFor(`${this.name} exit`, () => this.exited, 5000)
  }
  async term(): Promise<void> {
    if (this.exited) return
    this.proc.kill('SIGTERM')
    await waitFor(`${this.name} exit`, () => this.exited, 10000)
  }
}

export class Lab {
  readonly namespaces: string[] = []
  readonly daemons: Daemon[] = []
  readonly dir: string
  private readonly sw: string
  private n = 0
  constructor(readonly prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
    this.sw = `${prefix}-sw`
    this.addNs(this.sw)
    sh('ip', ['-n', this.sw, 'link', 'add', 'br0', 'type', 'bridge'])
    sh('ip', ['-n', this.sw, 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0'])
    sh('ip', ['-n', this.sw, 'link', 'set', 'br0', 'up'])
  }

  private addNs(name: string): void {
    sh('ip', ['netns', 'del', name], { ignore: true })
    sh('ip', ['netns', 'add', name])
    this.namespaces.push(name)
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  }

  /** a host on the switch with eth0 = 192.0.2.N/24 and 2001:db8::N/64 */
  host(short: string, index: number): string {
    const ns = `${this.prefix}-${short}`
    this.addNs(ns)
    const peer = `p${this.n++}`
    sh('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', this.sw])
    sh('ip', ['-n', this.sw, 'link', 'set', peer, 'master', 'br0', 'up'])
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0'])
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'address', `02:00:00:00:00:${index.toString(16).padStart(2, '0')}`])
    sh('ip', ['-n', ns, 'addr', 'add', `192.0.2.${index}/24`, 'dev', 'eth0'])
    sh('ip', ['-n', ns, 'addr', 'add', `2001:db8::${index}/64`, 'dev', 'eth0', 'nodad'])
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up'])
    return ns
  }

  /** addresses on an interface of a namespace (ip -j) */
  addrs(ns: string, dev = 'eth0'): string[] {
    const j = JSON.parse(sh('ip', ['-j', '-n', ns, 'addr', 'show', 'dev', dev], { ignore: true }) || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[]
    return (j[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`)
  }

  hasAddr(ns: string, a: string, dev = 'eth0'): boolean {
    return this.addrs(ns, dev).some((x) => x.startsWith(`${a}/`))
  }

  file(name: string, text: string): string {
    const p = join(this.dir, name)
    writeFileSync(p, text)
    return p
  }

  kad(ns: string, name: string, conf: string, extra: string[] = []): Daemon {
    const f = this.file(`${name}.conf`, conf)
    const pid = join(this.dir, `${name}.pid`)
    const vpid = join(this.dir, `${name}.vrrp.pid`)
    const tmp = join(this.dir, `${name}.tmp`)
    sh('mkdir', ['-p', tmp])
    const run = (isolated: boolean) => spawn('ip', ['netns', 'exec', ns, process.execPath, ...kadCommand(ROOT, isolated), '-n', '-l', '-P', '-D', '-f', f, '-p', pid, '-r', vpid, ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp },
    })
    const d = new Daemon(name, run(false), pid, vpid, tmp)
    let retried = false
    // another workspace's plugin may be mid-rebuild: retry once in the isolated runtime
    d.onExit = (x) => {
      if (retried || !x.has(/KAD_ERR_PLUGIN_LOAD/)) return undefined
      retried = true
      return run(true)
    }
    this.daemons.push(d)
    return d
  }

  keepalived(ns: string, name: string, conf: string): Daemon {
    const f = this.file(`${name}.conf`, conf)
    const pid = join(this.dir, `${name}.pid`)
    const vpid = join(this.dir, `${name}.vrrp.pid`)
    const p = spawn('ip', ['netns', 'exec', ns, 'keepalived', '-n', '-l', '-D', '-f', f, '-p', pid, '-r', vpid, '--vrrp'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const d = new Daemon(name, p, pid, vpid, this.dir)
    this.daemons.push(d)
    return d
  }

  /** SIGUSR2 to a kad daemon and read its keepalived.stats */
  async kadStats(d: Daemon): Promise<string> {
    const f = join(d.dir, 'keepalived.stats')
    rmSync(f, { force: true })
    d.proc.kill('SIGUSR2')
    await waitFor('stats file', () => existsSync(f) && readFileSync(f, 'utf8').includes('VRRP'), 5000)
    return readFileSync(f, 'utf8')
  }

  async destroy(): Promise<void> {
    for (const d of this.daemons) {
      if (!d.exited) {
        try { await d.term() } catch { await d.kill9().catch(() => undefined) }
      }
    }
    for (const ns of this.namespaces.reverse()) {
      // anything left running inside (a respawned child) dies with a SIGKILL
      for (const pid of sh('ip', ['netns', 'pids', ns], { ignore: true }).split('\n').filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ }
      }
      sh('ip', ['netns', 'del', ns], { ignore: true })
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** a vrrp_instance block */
export function instance(o: {
  name?: string; state?: string; iface?: string; vrid?: number; priority?: number; advert?: number | string; version?: 2 | 3;
  vips: string[]; extra?: string
}): string {
  return `vrrp_instance ${o.name ?? 'VI_1'} {
  state ${o.state ?? 'BACKUP'}
  interface ${o.iface ?? 'eth0'}
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.priority ?? 100}
  advert_int ${o.advert ?? 1}
  ${o.version ? `version ${o.version}` : ''}
  ${o.extra ?? ''}
  virtual_ipaddress {
    ${o.vips.join('\n    ')}
  }
}
`
}

/** keepalived log lines that mean it rejected one of our packets */
export const KEEPALIVED_REJECT = /invalid|Invalid|wrong version|mismatch|too short|too long|unexpected|not present in MASTER|not a unicast peer|Expected .*icast|auth|TTL/

/**
 * mocha hooks for a suite on two hosts a (192.0.2.1) and b (192.0.2.2): the lab is created before the suite,
 * daemons are stopped after each test, everything is removed after the suite.
 */
export function twoHostSuite(prefix: string): { lab: () => Lab; a: () => string; b: () => string } {
  let lab: Lab
  let a = ''
  let b = ''
  before(() => {
    lab = new Lab(prefix)
    a = lab.host('a', 1)
    b = lab.host('b', 2)
  })
  after(async () => {
    await lab.destroy()
  })
  afterEach(async () => {
    for (const d of lab.daemons) if (!d.exited) await d.term().catch(() => d.kill9())
  })
  return { lab: () => lab, a: () => a, b: () => b }
}

/** a veth pair NAME / NAMEp inside a namespace, both up (NAME replaced if it exists) */
export function veth(ns: string, name: string): void {
  sh('ip', ['-n', ns, 'link', 'del', name], { ignore: true })
  sh('ip', ['-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`])
  sh('ip', ['-n', ns, 'link', 'set', name, 'up'])
  sh('ip', ['-n', ns, 'link', 'set', `${name}p`, 'up'])
}

/** capture on a device of a namespace for `secs` with a capture filter; `done` gives the fields of each packet */
export async function capture(ns: string, dev: string, filter: string, secs: number, fields: string[]): Promise<{ done: Promise<string[][]> }> {
  const p = spawn('ip', ['netns', 'exec', ns, 'tshark', '-q', '-l', '-i', dev, '-f', filter, '-a', `duration:${secs}`, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  p.stdout.on('data', (b: Buffer) => (out += b.toString()))
  p.stderr.on('data', (b: Buffer) => (err += b.toString()))
  const exited = new Promise((r) => p.on('exit', r))
  await waitFor('tshark started', () => /Capturing on/.test(err), 5000)
  return { done: exited.then(() => out.trim().split('\n').filter(Boolean).map((l) => l.split('\t'))) }
}

/** [epoch ms, sender IP] of each ARP seen on a device */
export async function captureGarps(ns: string, dev: string, secs: number): Promise<{ done: Promise<[number, string][]> }> {
  const c = await capture(ns, dev, 'arp', secs, ['frame.time_epoch', 'arp.src.proto_ipv4'])
  return { done: c.done.then((rows) => rows.map(([t, ip]) => [Number(t) * 1000, ip] as [number, string])) }
}

