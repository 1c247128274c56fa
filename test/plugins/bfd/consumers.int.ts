/**
 * The whole daemon (bin/kad.js: parent, vrrp, check and bfd children) in a namespace with FRR's bfdd as the BFD
 * peer: a VRRP master whose track_bfd neighbour dies goes FAULT within the detection time + 10 ms, and a real
 * server with BFD_CHECK leaves the desired topology in the same bound. Times are taken when the daemon's log
 * lines reach the test (stdout pipe), from the SIGKILL of bfdd, which is after FRR's last packet: a stricter
 * bound than "after the last packet".
 */
import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { canRun, createTopology, startBfdd, waitFor, type Bfdd, type Topology } from './helpers/frr.js'

const ROOT = resolve(new URL('../../../', import.meta.url).pathname)
const KAD = join(ROOT, 'bin/kad.js')
// 20 ms x 3: 10 ms x 3 flaps on a loaded 2-CPU CI machine (both kad and bfdd run as ordinary processes)
const DETECT_MS = 60
const BOUND_MS = DETECT_MS + 10

class Kad {
  readonly lines: { t: number; line: string }[] = []
  readonly proc: ChildProcess
  exited = false
  constructor(ns: string, dir: string, conf: string) {
    mkdirSync(dir, { recursive: true })
    const f = join(dir, 'keepalived.conf')
    writeFileSync(f, conf)
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, KAD, '-n', '-l', '-D', '-f', f, '-p', join(dir, 'kad.pid'), '-r', join(dir, 'vrrp.pid'), '-c', join(dir, 'check.pid'), '-b', join(dir, 'bfd.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TMPDIR: dir },
    })
    let buf = ''
    const take = (b: Buffer) => {
      const t = performance.now()
      buf += b.toString()
      const parts = buf.split('\n')
      buf = parts.pop() ?? ''
      for (const line of parts) if (line) this.lines.push({ t, line })
    }
    this.proc.stdout!.on('data', take)
    this.proc.stderr!.on('data', take)
    this.proc.on('exit', () => (this.exited = true))
  }
  /** wait for a line; on timeout the daemon's output is printed */
  async expect(what: string, re: RegExp, timeoutMs: number, after = 0): Promise<{ t: number; line: string }> {
    try {
      await waitFor(what, () => !!this.first(re, after), timeoutMs, 1)
    } catch (e) {
      console.log(this.lines.map((l) => '      | ' + l.line).join('\n'))
      throw e
    }
    return this.first(re, after)!
  }
  first(re: RegExp, after = 0): { t: number; line: string } | undefined {
    return this.lines.find((l) => l.t >= after && re.test(l.line))
  }
  async stop(): Promise<void> {
    if (this.exited) return
    this.proc.kill('SIGTERM')
    await waitFor('kad exit', () => this.exited, 15_000).catch(() => this.proc.kill('SIGKILL'))
  }
}

describe('bfd consumers through the daemon: track_bfd and BFD_CHECK (namespaces, FRR bfdd)', function () {
  this.timeout(60_000)
  let topo: Topology
  let frr: Bfdd | undefined
  let kad: Kad | undefined
  const dir = `/tmp/kad-bfd-consumers-${process.pid}`

  before(function () {
    if (!canRun()) this.skip() // needs root and FRR's bfdd (installed by scripts/install-deps.sh)
    topo = createTopology(`c${process.pid % 10000}`)
  })
  afterEach(async () => {
    await kad?.stop()
    kad = undefined
    await frr?.stop()
    frr = undefined
  })
  after(() => {
    topo?.destroy()
    rmSync(dir, { recursive: true, force: true })
  })

  async function peerUp(): Promise<Bfdd> {
    const f = await startBfdd(topo.b, `c${topo.id}`)
    await f.peer('peer 192.0.2.1 local-address 192.0.2.2', 'receive-interval 20', 'transmit-interval 20', 'detect-multiplier 3')
    return f
  }

  const BFD = `bfd_instance nb {
  neighbor_ip 192.0.2.2
  source_ip 192.0.2.1
  min_rx 20
  min_tx 20
  multiplier 3
}
`

  it('a VRRP master whose track_bfd neighbour dies goes FAULT within detection time + 10 ms', async () => {
    frr = await peerUp()
    kad = new Kad(
      topo.a,
      join(dir, 'vrrp'),
      `${BFD}
vrrp_instance VI_1 {
  state MASTER
  interface kba${topo.id}
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
  track_bfd {
    nb
  }
}
`,
    )
    await kad.expect('kad VRRP MASTER', /Entering MASTER STATE/, 20_000)
    await waitFor('FRR peer up', async () => (await frr!.peers()).every((p) => p.status === 'up'), 10_000)
    // SIGUSR1: the bfd child writes keepalived_bfd.data with its sessions and its own lateness
    const dataFile = join(dir, 'vrrp', 'keepalived_bfd.data')
    process.kill(Number(readFileSync(join(dir, 'vrrp', 'kad.pid'), 'utf8').trim()), 'SIGUSR1')
    await waitFor('keepalived_bfd.data', () => existsSync(dataFile) && readFileSync(dataFile, 'utf8').includes('tx lateness'), 5000)
    const data = readFileSync(dataFile, 'utf8')
    assert.match(data, /BFD Instance = nb/)
    assert.match(data, /State = Up/)
    assert.match(data, /scheduler lateness us \{"count":\d+/)
    await new Promise((r) => setTimeout(r, 500))
    assert.ok(!kad.first(/Entering FAULT STATE/, performance.now() - 400), 'stable before the kill')
    const t0 = performance.now()
    frr.kill()
    await kad.expect('FAULT', /Entering FAULT STATE/, 5000, t0)
    const down = kad.first(/BFD_Instance\(nb\) Entering DOWN/, t0)
    const fault = kad.first(/Entering FAULT STATE/, t0)!
    const ms = fault.t - t0
    console.log(`      kill -> bfd DOWN ${down ? (down.t - t0).toFixed(1) : '?'} ms, -> VRRP FAULT ${ms.toFixed(1)} ms (bound ${BOUND_MS} ms)`)
    assert.ok(ms <= BOUND_MS, `FAULT ${ms.toFixed(1)} ms after the kill`)
  })

  it('a respawned vrrp child learns that the session is up (bfd.resync) and becomes MASTER again', async () => {
    frr = await peerUp()
    const d = join(dir, 'respawn')
    kad = new Kad(
      topo.a,
      d,
      `${BFD}
vrrp_instance VI_1 {
  state MASTER
  interface kba${topo.id}
  virtual_router_id 52
  priority 150
  advert_int 1
  virtual_ipaddress {
    192.0.2.101/24
  }
  track_bfd {
    nb
  }
}
`,
    )
    await kad.expect('kad VRRP MASTER', /Entering MASTER STATE/, 20_000)
    const t0 = performance.now()
    process.kill(Number(readFileSync(join(d, 'vrrp.pid'), 'utf8').trim()), 'SIGKILL')
    // the session stays up in the bfd child: no new event would come without the resync
    await kad.expect('MASTER again after the respawn', /Entering MASTER STATE/, 20_000, t0)
    assert.ok(!kad.first(/BFD_Instance\(nb\) Entering DOWN/, t0), 'the BFD session did not flap')
  })

  it('a real server with BFD_CHECK leaves the desired topology within detection time + 10 ms', async () => {
    frr = await peerUp()
    kad = new Kad(
      topo.a,
      join(dir, 'check'),
      `${BFD}
virtual_server 192.0.2.10 80 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  delay_loop 60
  real_server 192.0.2.2 80 {
    BFD_CHECK {
      name nb
    }
  }
}
`,
    )
    await kad.expect('real server up', /Adding service \[192\.0\.2\.2\]:80/, 20_000)
    await new Promise((r) => setTimeout(r, 500))
    const t0 = performance.now()
    frr.kill()
    await kad.expect('real server removed', /Removing service \[192\.0\.2\.2\]:80/, 5000, t0)
    const gone = kad.first(/Removing service \[192\.0\.2\.2\]:80/, t0)!
    const ms = gone.t - t0
    const down = kad.first(/BFD_Instance\(nb\) Entering DOWN/, t0)
    console.log(`      kill -> bfd DOWN ${down ? (down.t - t0).toFixed(1) : '?'} ms, -> real server out ${ms.toFixed(1)} ms (bound ${BOUND_MS} ms): ${gone.line}`)
    assert.ok(ms <= BOUND_MS, `real server left ${ms.toFixed(1)} ms after the kill`)
  })
})
