import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const KAD = new URL('../../bin/kad.js', import.meta.url).pathname

function readPid(f: string): number | undefined {
  try {
    return Number(readFileSync(f, 'utf8').trim()) || undefined
  } catch {
    return undefined
  }
}
function alive(pid: number | undefined): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
async function until<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('core/supervision (processes, signals, pid files)', function () {
  this.timeout(30000)
  let dir: string
  let kad: ChildProcess
  let log = ''
  const pf = (n: string) => join(dir, `${n}.pid`)

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kad-sup-'))
    writeFileSync(join(dir, 'keepalived.conf'), 'global_defs {\n  router_id sup_test\n  vrrp_rt_priority 10\n}\n')
    kad = spawn(process.execPath, [KAD, '-n', '-l', '-G', '--all', '-f', join(dir, 'keepalived.conf'), '-p', pf('parent'), '-r', pf('vrrp'), '-c', pf('check'), '-b', pf('bfd')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: dir } })
    kad.stdout!.on('data', (d) => (log += d))
    kad.stderr!.on('data', (d) => (log += d))
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(log)
  })
  after(() => {
    for (const n of ['vrrp', 'check', 'bfd', 'parent']) {
      const p = readPid(pf(n))
      if (alive(p)) process.kill(p!, 'SIGKILL')
    }
    if (kad.exitCode === null) kad.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  it('starts the parent and the three children (--all) with pid files', async () => {
    await until('pid files', () => ['parent', 'vrrp', 'check', 'bfd'].every((n) => alive(readPid(pf(n)))), 20000)
    assert.equal(readPid(pf('parent')), kad.pid)
    for (const role of ['vrrp', 'check', 'bfd']) await until(`${role} started`, () => log.includes(`started ${role} child`), 20000)
  })

  it('the VRRP child survives its start-up under SCHED_RR and runs with keepalived\'s rttime limit and its V8 flags', async () => {
    await until('vrrp started', () => log.includes('started vrrp child'), 20000)
    const pid = readPid(pf('vrrp'))!
    const { execFileSync } = await import('node:child_process')
    const sched = await until('SCHED_RR', () => {
      const out = execFileSync('chrt', ['-p', String(pid)], { encoding: 'utf8' })
      return /SCHED_RR/.test(out) && out
    }, 5000)
    assert.match(sched, /priority: 10/)
    const lim = await until('running rttime limit', () => {
      const out = execFileSync('prlimit', ['--pid', String(pid), '--rttime', '--noheadings', '--raw'], { encoding: 'utf8' })
      return / 10000 1000000 /.test(` ${out.trim().split(/\s+/).slice(-3, -1).join(' ')} `) && out
    }, 5000)
    assert.ok(lim)
    await new Promise((r) => setTimeout(r, 1000))
    assert.equal(readPid(pf('vrrp')), pid, 'the vrrp child was restarted')
    assert.doesNotMatch(log, /vrrp child \(pid \d+\) exited/)
  })

  it('the VRRP and checker children run without V8\'s memory reducer, only the VRRP child with a single-threaded GC', async () => {
    const { childExecArgv } = await import('../../core/src/supervisor/supervisor.js')
    assert.deepEqual(childExecArgv('vrrp', ['--x']), ['--x', '--no-memory-reducer', '--single-threaded-gc', '--expose-gc'])
    assert.deepEqual(childExecArgv('check', ['--x']), ['--x', '--no-memory-reducer'])
    assert.deepEqual(childExecArgv('bfd', ['--x']), ['--x'])
  })

  it('restarts a SIGKILLed child within 1 s; the others keep their pids', async () => {
    const before = { vrrp: readPid(pf('vrrp'))!, check: readPid(pf('check'))!, bfd: readPid(pf('bfd'))! }
    process.kill(before.check, 'SIGKILL')
    const t0 = Date.now()
    const np = await until('check respawn', () => {
      const p = readPid(pf('check'))
      return p && p !== before.check && alive(p) ? p : undefined
    }, 3000)
    // back means running again: the new child has loaded its plugins and started them
    await until('check restarted', () => new RegExp(`kad_check\\[${np}\\] started check child`).test(log), 3000)
    assert.ok(Date.now() - t0 < 1000, `running again after ${Date.now() - t0} ms`)
    assert.notEqual(np, before.check)
    assert.equal(readPid(pf('vrrp')), before.vrrp)
    assert.equal(readPid(pf('bfd')), before.bfd)
    assert.ok(alive(before.vrrp) && alive(before.bfd))
    await until('respawn log', () => /check child \(pid \d+\) exited with signal SIGKILL; restarting/.test(log))
  })

  it('SIGHUP with a broken config keeps the running one', async () => {
    const pids = ['vrrp', 'check', 'bfd'].map((n) => readPid(pf(n)))
    writeFileSync(join(dir, 'keepalived.conf'), 'global_defs {\n  router_id sup_test\n  umask notanumber\n  child_wait_time -3\n}\n')
    process.kill(kad.pid!, 'SIGHUP')
    await until('reload refusal', () => /keeping the running one/.test(log))
    assert.deepEqual(['vrrp', 'check', 'bfd'].map((n) => readPid(pf(n))), pids)
    assert.ok(pids.every(alive))
  })

  it('SIGUSR1 writes the parent and child data dumps to $TMPDIR', async () => {
    process.kill(kad.pid!, 'SIGUSR1')
    for (const f of ['keepalived_parent.data', 'keepalived.data', 'keepalived_check.data', 'keepalived_bfd.data']) {
      const text = await until(f, () => {
        try {
          return readFileSync(join(dir, f), 'utf8')
        } catch {
          return undefined
        }
      })
      assert.ok(text.length > 0)
    }
    assert.match(readFileSync(join(dir, 'keepalived_check.data'), 'utf8'), /event-loop lag/)
  })

  it('the JSON signal (36) writes keepalived.json, STATS_CLEAR (63) keepalived.stats', async () => {
    process.kill(kad.pid!, 36)
    const json = await until('keepalived.json', () => {
      try {
        return readFileSync(join(dir, 'keepalived.json'), 'utf8')
      } catch {
        return undefined
      }
    })
    assert.ok(Array.isArray(JSON.parse(json)), 'keepalived.json is an array of VRRP instances, as keepalived writes it')
    // kad's per-process files: every child's plugins, BFD's and the checkers' included
    for (const role of ['vrrp', 'check', 'bfd']) await until(`keepalived_${role}.json`, () => existsSync(join(dir, `keepalived_${role}.json`)))
    assert.ok('bfd' in JSON.parse(readFileSync(join(dir, 'keepalived_bfd.json'), 'utf8')))
    process.kill(kad.pid!, 63)
    await until('keepalived.stats', () => existsSync(join(dir, 'keepalived.stats')))
  })

  it('SIGTERM leaves no process and no pid file', async () => {
    const pids = ['parent', 'vrrp', 'check', 'bfd'].map((n) => readPid(pf(n)))
    process.kill(kad.pid!, 'SIGTERM')
    await until('exit', () => kad.exitCode !== null, 10000)
    assert.equal(kad.exitCode, 0)
    await until('children gone', () => pids.every((p) => !alive(p)))
    for (const n of ['parent', 'vrrp', 'check', 'bfd']) assert.ok(!existsSync(pf(n)), `${n}.pid remains`)
  })
})

describe('core/supervision: keepalived\'s pid file names from instance / use_pid_dir', function () {
  this.timeout(30000)
  for (const [kw, names] of [
    ['instance kadtest', ['keepalived_kadtest', 'vrrp_kadtest', 'checkers_kadtest']],
    ['use_pid_dir', ['keepalived', 'vrrp', 'checkers']],
  ] as const) {
    it(`${kw}: /run/keepalived/{${names.join(',')}}.pid while running, gone after SIGTERM`, async () => {
      const had = existsSync('/run/keepalived')
      const dir = mkdtempSync(join(tmpdir(), 'kad-pid-'))
      writeFileSync(join(dir, 'keepalived.conf'), `${kw}\nglobal_defs {\n  router_id pid_test\n}\n`)
      const kad = spawn(process.execPath, [KAD, '-n', '-l', '-G', '--all', '-B', '-f', join(dir, 'keepalived.conf')], { stdio: 'ignore' })
      try {
        const files = names.map((n) => `/run/keepalived/${n}.pid`)
        await until('pid files', () => files.every((f) => readPid(f)))
        assert.equal(readPid(files[0]), kad.pid)
        process.kill(kad.pid!, 'SIGTERM')
        await until('exit', () => kad.exitCode !== null, 10000)
        for (const f of files) assert.ok(!existsSync(f), `${f} remains`)
        if (!had) assert.ok(!existsSync('/run/keepalived'), '/run/keepalived remains')
      } finally {
        if (kad.exitCode === null) kad.kill('SIGKILL')
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }
})
