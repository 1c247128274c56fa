/**
 * The status plugin on a whole daemon (all three children) in a network namespace: a VRRP MASTER, a virtual server
 * with one real server that answers and one that does not (nftables backend: this kernel has no IPVS), a BFD
 * session to a neighbour that is not there. What /metrics, /status and /healthz say, read with HTTP inside the
 * namespace; a dead child; a reload that moves the endpoint; stop closes it.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const NS = 'kad-status-a'
const ROOT = resolve(import.meta.dirname, '../../..')
const sh = (cmd: string) => spawnSync('bash', ['-c', cmd], { encoding: 'utf8' })

/** GET inside the namespace (Node's fetch in a process started there): status and body */
function get(port: number, path: string): { status: number; body: string } {
  const js = `fetch('http://127.0.0.1:${port}${path}').then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() }))).catch((e) => console.log(JSON.stringify({ status: 0, body: String(e.cause?.code ?? e) })))`
  const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '-e', js], { encoding: 'utf8' })
  return JSON.parse(r.stdout.trim()) as { status: number; body: string }
}

async function waitFor(what: string, ok: () => boolean, ms: number, detail: () => string = () => ''): Promise<void> {
  const t0 = Date.now()
  while (!ok()) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms\n${detail()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const conf = (port: number) => `global_defs {
  router_id status-test
  kad_status_listen 127.0.0.1 ${port}
  lb_backend auto
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 200
  advert_int 0.1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
virtual_server 198.51.100.10 80 {
  delay_loop 1
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 127.0.0.1 18080 {
    weight 3
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  real_server 127.0.0.1 18081 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
bfd_instance nb {
  neighbor_ip 192.0.2.9
  source_ip 192.0.2.1
}
`

describe('status plugin: /metrics, /status and /healthz from a running daemon', function () {
  this.timeout(90_000)
  let dir = ''
  let kad: ChildProcess | undefined
  let backend: ChildProcess | undefined
  let log = ''
  const pid = (n: string) => Number(readFileSync(join(dir, `${n}.pid`), 'utf8').trim())

  before(async function () {
    // namespaces need root: skipped only when the suite is not run as root; no issue gates it (CI and scripts/test.sh run as root)
    if (process.getuid?.() !== 0) this.skip()
    sh(`ip netns del ${NS} 2>/dev/null; ip netns add ${NS} && ip -n ${NS} link set lo up && ip -n ${NS} link add eth0 type veth peer name eth1 && ip -n ${NS} link set eth0 up && ip -n ${NS} link set eth1 up && ip -n ${NS} addr add 192.0.2.1/24 dev eth0`)
    dir = mkdtempSync('/tmp/kad-status-')
    writeFileSync(join(dir, 'keepalived.conf'), conf(19650))
    // the real server that answers; 18081 has nothing
    backend = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', "require('node:net').createServer((s) => s.end()).listen(18080, '127.0.0.1')"], { stdio: 'ignore' })
    kad = spawn('ip', ['netns', 'exec', NS, process.execPath, join(ROOT, 'bin/kad.js'), '-n', '-l', '-R', '-f', join(dir, 'keepalived.conf'),
      '-p', join(dir, 'parent.pid'), '-r', join(dir, 'vrrp.pid'), '-c', join(dir, 'check.pid'), '-b', join(dir, 'bfd.pid')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: dir } })
    kad.stdout!.on('data', (b) => (log += b))
    kad.stderr!.on('data', (b) => (log += b))
    await waitFor('the endpoint', () => /status: listening on http:\/\/127\.0\.0\.1:19650\//.test(log), 30_000, () => log)
  })

  after(async () => {
    if (kad && kad.exitCode === null) {
      const done = new Promise((r) => kad!.once('exit', r))
      kad.kill('SIGTERM')
      await done
    }
    backend?.kill()
    sh(`ip netns del ${NS} 2>/dev/null`)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('/metrics: the children, the VRRP MASTER, the real servers up and down, the BFD session down (Prometheus text format)', async () => {
    const want = [
      'kad_up 1',
      'kad_child_up{role="vrrp"} 1', 'kad_child_up{role="check"} 1', 'kad_child_up{role="bfd"} 1',
      'kad_child_responding{role="vrrp"} 1', 'kad_child_restarts_total{role="bfd"} 0',
      'kad_vrrp_state{vrrp_instance="VI_1",interface="eth0",vrid="51"} 2',
      'kad_vrrp_effective_priority{vrrp_instance="VI_1",interface="eth0",vrid="51"} 200',
      'kad_vrrp_packet_errors_total{vrrp_instance="VI_1",interface="eth0",vrid="51",kind="ttl"} 0',
      'kad_lvs_real_server_up{virtual_server="[198.51.100.10]:tcp:80",real_server="[127.0.0.1]:18080"} 1',
      'kad_lvs_real_server_up{virtual_server="[198.51.100.10]:tcp:80",real_server="[127.0.0.1]:18081"} 0',
      'kad_lvs_virtual_server_live_weight{virtual_server="[198.51.100.10]:tcp:80"} 3',
      'kad_bfd_session_up{session="nb",neighbor="192.0.2.9"} 0',
    ]
    let m = { status: 0, body: '' }
    await waitFor('the metrics', () => {
      m = get(19650, '/metrics')
      return want.every((l) => m.body.split('\n').includes(l))
    }, 20_000, () => `missing: ${want.filter((l) => !m.body.split('\n').includes(l)).join(' | ')}\n${m.body}\n${log}`)
    assert.equal(m.status, 200)
    // the exposition format: every sample's family has HELP and TYPE lines before it, once
    const lines = m.body.trimEnd().split('\n')
    const families = lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2])
    assert.equal(new Set(families).size, families.length, 'each family once')
    for (const l of lines.filter((x) => !x.startsWith('#'))) {
      assert.match(l, /^[a-z_][a-z0-9_]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.]+(e[-+]?[0-9]+)?$/, l)
      assert.ok(families.includes(l.split(/[{ ]/)[0]), `a TYPE line for ${l}`)
    }
  })

  it('/status: the parent and each child with its plugins\' JSON; /healthz: ok', () => {
    const s = get(19650, '/status')
    assert.equal(s.status, 200)
    const j = JSON.parse(s.body) as { kad: { version: string; pid: number }; children: { role: string; pid: number; up: boolean; json?: Record<string, unknown> }[] }
    assert.equal(j.kad.pid, pid('parent'))
    assert.deepEqual(j.children.map((c) => [c.role, c.pid, c.up]).sort(), [['bfd', pid('bfd'), true], ['check', pid('check'), true], ['vrrp', pid('vrrp'), true]])
    assert.ok(Array.isArray(j.children.find((c) => c.role === 'vrrp')?.json?.vrrp))
    assert.deepEqual(get(19650, '/healthz'), { status: 200, body: 'ok\n' })
    assert.equal(get(19650, '/nothing').status, 404)
  })

  it('a dead child (-R: not restarted): /healthz 503 naming it, kad_child_up 0', async () => {
    process.kill(pid('bfd'), 'SIGKILL')
    await waitFor('/healthz 503', () => get(19650, '/healthz').status === 503, 10_000)
    assert.match(get(19650, '/healthz').body, /^bfd: not running$/m)
    assert.ok(get(19650, '/metrics').body.split('\n').includes('kad_child_up{role="bfd"} 0'))
  })

  it('SIGHUP with a new port moves the endpoint; SIGTERM closes it', async () => {
    writeFileSync(join(dir, 'keepalived.conf'), conf(19651))
    process.kill(pid('parent'), 'SIGHUP')
    await waitFor('the new port', () => get(19651, '/metrics').status === 200, 10_000, () => log)
    assert.equal(get(19650, '/metrics').status, 0, 'the old port is closed')
    const done = new Promise((r) => kad!.once('exit', r))
    kad!.kill('SIGTERM')
    await done
    assert.equal(get(19651, '/metrics').status, 0)
  })
})
