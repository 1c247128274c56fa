/**
 * Namespaces and FRR bfdd for the BFD integration tests and the benchmark.
 *
 * Topology (ID = a short unique suffix):
 *   kad-bfd-ID-a  --(kba/kbb: 192.0.2.1/24, 2001:db8::1/64)--  kad-bfd-ID-b           (single-hop)
 *   kad-bfd-ID-a  --(kra: 198.51.100.1/24)-- kad-bfd-ID-r --(krb: 203.0.113.1/24)-- kad-bfd-ID-b (203.0.113.2)  (multi-hop)
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { userInfo } from 'node:os'

export function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 })
  } catch (e) {
    if (opts.allowFail) return ''
    const err = e as { stderr?: string; message: string }
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr ?? err.message}`)
  }
}

/** asynchronous: the test process runs BFD sessions and must not block its event loop */
export async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const r = await execFileP(cmd, args, { encoding: 'utf8', timeout: 30_000 })
    return r.stdout
  } catch (e) {
    const err = e as { stderr?: string; message: string }
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr ?? err.message}`)
  }
}

export function canRun(): boolean {
  return userInfo().uid === 0 && existsSync('/usr/lib/frr/bfdd') && existsSync('/usr/bin/vtysh')
}

export interface Topology {
  id: string
  a: string
  b: string
  r: string
  netnsA: string
  netnsB: string
  destroy(): void
}

export function createTopology(id: string): Topology {
  const a = `kad-bfd-${id}-a`
  const b = `kad-bfd-${id}-b`
  const r = `kad-bfd-${id}-r`
  const ip = (...args: string[]) => sh('ip', args)
  const destroy = () => {
    for (const n of [a, b, r]) sh('ip', ['netns', 'del', n], { allowFail: true })
  }
  destroy()
  try {
    for (const n of [a, b, r]) {
      ip('netns', 'add', n)
      ip('-n', n, 'link', 'set', 'lo', 'up')
    }
    const veth = (x: string, nx: string, y: string, ny: string) => {
      ip('link', 'add', `${x}${id}`, 'type', 'veth', 'peer', 'name', `${y}${id}`)
      ip('link', 'set', `${x}${id}`, 'netns', nx)
      ip('link', 'set', `${y}${id}`, 'netns', ny)
      ip('-n', nx, 'link', 'set', `${x}${id}`, 'up')
      ip('-n', ny, 'link', 'set', `${y}${id}`, 'up')
    }
    veth('kba', a, 'kbb', b)
    veth('kra', a, 'krr', r)
    veth('kbr', r, 'krb', b)
    ip('-n', a, 'addr', 'add', '192.0.2.1/24', 'dev', `kba${id}`)
    ip('-n', b, 'addr', 'add', '192.0.2.2/24', 'dev', `kbb${id}`)
    ip('-n', a, 'addr', 'add', '2001:db8::1/64', 'dev', `kba${id}`, 'nodad')
    ip('-n', b, 'addr', 'add', '2001:db8::2/64', 'dev', `kbb${id}`, 'nodad')
    ip('-n', a, 'addr', 'add', '198.51.100.1/24', 'dev', `kra${id}`)
    ip('-n', r, 'addr', 'add', '198.51.100.254/24', 'dev', `krr${id}`)
    ip('-n', r, 'addr', 'add', '203.0.113.1/24', 'dev', `kbr${id}`)
    ip('-n', b, 'addr', 'add', '203.0.113.2/24', 'dev', `krb${id}`)
    ip('-n', a, 'route', 'add', '203.0.113.0/24', 'via', '198.51.100.254')
    ip('-n', b, 'route', 'add', '198.51.100.0/24', 'via', '203.0.113.1')
    sh('ip', ['netns', 'exec', r, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
  } catch (e) {
    destroy()
    throw e
  }
  return { id, a, b, r, netnsA: `/run/netns/${a}`, netnsB: `/run/netns/${b}`, destroy }
}

export interface Bfdd {
  dir: string
  proc: ChildProcess
  vtysh(...cmds: string[]): Promise<string>
  /** configure a peer: `peer …` line then its sub-commands */
  peer(peerLine: string, ...sub: string[]): Promise<void>
  peers(): Promise<FrrPeer[]>
  counters(): Promise<FrrCounters[]>
  stop(): Promise<void>
  kill(): void
}

export interface FrrPeer {
  peer: string
  local?: string
  multihop: boolean
  status: string
  id: number
  'remote-id': number
  'transmit-interval': number
  'receive-interval': number
  'remote-transmit-interval': number
  'remote-receive-interval': number
  'detect-multiplier': number
  uptime?: number
}
export interface FrrCounters {
  peer: string
  multihop: boolean
  'session-up'?: number
  'session-down'?: number
  [k: string]: unknown
}

export async function startBfdd(netns: string, tag: string): Promise<Bfdd> {
  const dir = `/tmp/kad-bfd-frr-${tag}`
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  sh('chown', ['frr:frr', dir])
  const proc = spawn(
    'ip',
    ['netns', 'exec', netns, '/usr/lib/frr/bfdd', '-u', 'frr', '-g', 'frr', '--vty_socket', dir, '-i', `${dir}/bfdd.pid`, '--bfdctl', `${dir}/bfdd.sock`, '-f', '/dev/null', '--log', `file:${dir}/bfdd.log`],
    { stdio: 'ignore' },
  )
  const deadline = Date.now() + 10_000
  while (!existsSync(`${dir}/bfdd.vty`)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`bfdd did not start (exit ${proc.exitCode})`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const vtysh = (...cmds: string[]) => run('vtysh', ['--vty_socket', dir, ...cmds.flatMap((c) => ['-c', c])])
  const pid = () => Number(readFileSync(`${dir}/bfdd.pid`, 'utf8').trim())
  let stopped = false
  return {
    dir,
    proc,
    vtysh,
    peer: async (peerLine, ...sub) => void (await vtysh('configure terminal', 'bfd', peerLine, ...sub)),
    peers: async () => JSON.parse(await vtysh('show bfd peers json')) as FrrPeer[],
    counters: async () => JSON.parse(await vtysh('show bfd peers counters json')) as FrrCounters[],
    kill: () => {
      try {
        process.kill(pid(), 'SIGKILL')
      } catch {
        /* gone */
      }
    },
    async stop() {
      if (stopped) return
      stopped = true
      try {
        process.kill(pid(), 'SIGTERM')
      } catch {
        /* gone */
      }
      await new Promise<void>((res) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return res()
        const t = setTimeout(() => {
          try {
            process.kill(pid(), 'SIGKILL')
          } catch {
            /* gone */
          }
          res()
        }, 3000)
        proc.once('exit', () => {
          clearTimeout(t)
          res()
        })
      })
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 20_000, stepMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, stepMs))
  }
}
