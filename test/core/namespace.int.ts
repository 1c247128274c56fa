/**
 * `net_namespace NAME` in the config and `-s NAME` on the command line run the whole daemon inside that network
 * namespace, as keepalived does: its VIPs appear there and nowhere else, its pid files are keepalived's
 * /run/keepalived/NAME/*.pid, signals sent to the process that was started reach the daemon, and on stop the
 * addresses, the pid files and their directory go. Root; namespace kad-nsd.
 */
import { strict as assert } from 'node:assert'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor as until } from '../plugins/vrrp/helpers/lab.js'

const KAD = new URL('../../bin/kad.js', import.meta.url).pathname
const NS = 'kad-nsd'
const PID_DIR = `/run/keepalived/${NS}`
const VIP = '198.51.100.99'

const ip = (...a: string[]) => execFileSync('ip', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const addrs = (ns?: string): string[] => {
  const out = JSON.parse(ns ? ip('-n', ns, '-j', 'addr') : ip('-j', 'addr')) as { addr_info: { local: string }[] }[]
  return out.flatMap((l) => l.addr_info.map((a) => a.local))
}
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('core: net_namespace / -s run the daemon in a network namespace', function () {
  this.timeout(40000)
  let dir: string
  let kad: ChildProcess | undefined
  let log = ''

  const config = (withNs: boolean) =>
    `${withNs ? `net_namespace ${NS}\n` : ''}global_defs {\n  router_id ns_test\n}\n` +
    `vrrp_instance V {\n  interface kd0\n  virtual_router_id 77\n  priority 150\n  advert_int 0.1\n  virtual_ipaddress {\n    ${VIP}/32\n  }\n}\n`

  const start = (args: string[]) => {
    log = ''
    kad = spawn(process.execPath, [KAD, '-n', '-l', '-G', '-P', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    kad.stdout!.on('data', (d) => (log += d))
    kad.stderr!.on('data', (d) => (log += d))
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kad-nsd-'))
    try { ip('netns', 'del', NS) } catch { /* not there */ }
    ip('netns', 'add', NS)
    ip('-n', NS, 'link', 'add', 'kd0', 'type', 'veth', 'peer', 'name', 'kd1')
    for (const l of ['lo', 'kd0', 'kd1']) ip('-n', NS, 'link', 'set', l, 'up')
    ip('-n', NS, 'addr', 'add', '198.51.100.1/24', 'dev', 'kd0')
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(log)
    if (kad && kad.exitCode === null && kad.signalCode === null) kad.kill('SIGKILL')
    const pid = Number(existsSync(`${PID_DIR}/keepalived.pid`) ? readFileSync(`${PID_DIR}/keepalived.pid`, 'utf8') : 0)
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL')
  })
  after(() => {
    try { ip('netns', 'del', NS) } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true })
    rmSync(PID_DIR, { recursive: true, force: true })
  })

  it('a namespace that does not exist: a clear error naming it, exit 1 (keepalived exits 0)', () => {
    const conf = join(dir, 'missing.conf')
    writeFileSync(conf, 'net_namespace kad-nsd-missing\nglobal_defs {\n  router_id ns_test\n}\n')
    for (const args of [['-f', conf], ['-s', 'kad-nsd-missing', '-f', conf]]) {
      const r = spawnSync(process.execPath, [KAD, '-n', '-l', '-G', ...args], { encoding: 'utf8', timeout: 20000 })
      assert.equal(r.status, 1, r.stdout + r.stderr)
      assert.match(r.stdout + r.stderr, /Unable to set network namespace kad-nsd-missing/)
    }
  })

  for (const how of ['net_namespace', '-s'] as const) {
    it(`${how}: the VIP is in the namespace only; keepalived's pid files; SIGTERM to the started process stops it and cleans up`, async () => {
      const conf = join(dir, `${how}.conf`)
      writeFileSync(conf, config(how === 'net_namespace'))
      start(how === '-s' ? ['-s', NS, '-f', conf] : ['-f', conf])
      await until(`${VIP} in ${NS}`, () => addrs(NS).includes(VIP))
      assert.ok(!addrs().includes(VIP), 'the VIP must not be on the host')
      const daemon = await until('the pid file', () => existsSync(`${PID_DIR}/keepalived.pid`) && Number(readFileSync(`${PID_DIR}/keepalived.pid`, 'utf8')))
      assert.notEqual(daemon, kad!.pid, 'the daemon is the process inside the namespace')
      assert.ok(alive(daemon))
      await until('vrrp.pid', () => existsSync(`${PID_DIR}/vrrp.pid`))
      const exited = new Promise<number | null>((r) => kad!.on('exit', (c) => r(c)))
      kad!.kill('SIGTERM')
      assert.equal(await exited, 0)
      assert.ok(!alive(daemon), 'the daemon stopped')
      assert.ok(!addrs(NS).includes(VIP), 'the VIP was removed')
      assert.ok(!existsSync(PID_DIR), `${PID_DIR} was removed`)
    })
  }
})
