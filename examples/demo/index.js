// kad demo: two kad routers and a client in network namespaces on one bridge, a virtual IP that fails over when
// the master stops, shown live in the terminal. Everything is removed at the end, on Ctrl-C and on errors.
// Run: `sudo kad demo` (or `sudo sh examples/demo/run.sh`). Needs root, iproute2 and Linux network namespaces.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'

const ROOT = resolve(new URL('../../', import.meta.url).pathname)
const KAD = join(ROOT, 'bin/kad.js')
const VIP = '192.0.2.100'
const NS = { sw: 'kad-demo-sw', r1: 'kad-demo-r1', r2: 'kad-demo-r2', client: 'kad-demo-client' }
const MAC = { r1: '02:00:00:00:de:01', r2: '02:00:00:00:de:02' }

const c = process.stdout.isTTY ? { g: '\x1b[32m', y: '\x1b[33m', r: '\x1b[31m', b: '\x1b[1m', d: '\x1b[2m', x: '\x1b[0m' } : { g: '', y: '', r: '', b: '', d: '', x: '' }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function ip(args, ignore = false) {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    if (ignore) return ''
    throw new Error(`ip ${args.join(' ')}: ${e.stderr || e.message}`)
  }
}

function conf(prio) {
  return `global_defs {
  router_id demo-${prio}
  kad_status_listen 127.0.0.1 9650
}
vrrp_instance DEMO {
  state BACKUP
  interface eth0
  virtual_router_id 42
  priority ${prio}
  advert_int 0.2
  version 3
  virtual_ipaddress {
    ${VIP}/24
  }
}
`
}

/** one ICMP echo from the client namespace to the VIP; resolves to the RTT in ms or undefined */
function makePinger(native) {
  const sock = native.openSocket({ domain: 'inet', type: 'raw', protocol: 1, netns: `/run/netns/${NS.client}` })
  let seq = 0
  const waiting = new Map()
  sock.onMessage((buf) => {
    const ihl = (buf[0] & 0x0f) * 4
    if (buf[ihl] !== 0) return // echo reply only
    const s = buf.readUInt16BE(ihl + 6)
    const w = waiting.get(s)
    if (w) {
      waiting.delete(s)
      w(performance.now())
    }
  })
  return {
    ping(timeoutMs = 200) {
      const s = ++seq & 0xffff
      const m = Buffer.alloc(16)
      m[0] = 8
      m.writeUInt16BE(0x4b41, 4)
      m.writeUInt16BE(s, 6)
      m.writeUInt16BE(native.inetChecksum(m), 2)
      const t0 = performance.now()
      return new Promise((res) => {
        const timer = setTimeout(() => {
          waiting.delete(s)
          res(undefined)
        }, timeoutMs)
        waiting.set(s, (t) => {
          clearTimeout(timer)
          res(t - t0)
        })
        try {
          sock.send(m, { address: VIP })
        } catch {
          clearTimeout(timer)
          res(undefined)
        }
      })
    },
    close: () => sock.close(),
  }
}

export async function runDemo(args = []) {
  if (process.getuid?.() !== 0) {
    console.error('kad demo needs root (network namespaces): run it with sudo')
    return 1
  }
  const seconds = Number(args.find((a) => /^\d+$/.test(a)) ?? 0)
  const dir = mkdtempSync(join(tmpdir(), 'kad-demo-'))
  const procs = {}
  let cleaned = false
  let pinger
  const cleanup = () => {
    if (cleaned) return
    cleaned = true
    try { pinger?.close() } catch { /* closed */ }
    for (const p of Object.values(procs)) if (p && p.exitCode === null) try { p.kill('SIGKILL') } catch { /* gone */ }
    for (const ns of Object.values(NS)) {
      for (const pid of ip(['netns', 'pids', ns], true).split('\n').filter(Boolean)) try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ }
      ip(['netns', 'del', ns], true)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const onSignal = () => {
    console.log(`\n${c.y}interrupted: cleaning up${c.x}`)
    cleanup()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const log = (s) => console.log(s)
  try {
    log(`${c.b}kad demo${c.x}: two kad routers (r1 priority 150, r2 priority 100) share ${VIP} on one LAN; a client pings it.`)
    for (const ns of Object.values(NS)) {
      ip(['netns', 'del', ns], true)
      ip(['netns', 'add', ns])
      ip(['-n', ns, 'link', 'set', 'lo', 'up'])
    }
    ip(['-n', NS.sw, 'link', 'add', 'br0', 'type', 'bridge'])
    ip(['-n', NS.sw, 'link', 'set', 'br0', 'up'])
    const hosts = [['r1', 1, MAC.r1], ['r2', 2, MAC.r2], ['client', 10, '02:00:00:00:de:0a']]
    for (const [h, n, mac] of hosts) {
      ip(['link', 'add', 'eth0', 'netns', NS[h], 'address', mac, 'type', 'veth', 'peer', 'name', `to-${h}`, 'netns', NS.sw])
      ip(['-n', NS.sw, 'link', 'set', `to-${h}`, 'master', 'br0', 'up'])
      ip(['-n', NS[h], 'addr', 'add', `192.0.2.${n}/24`, 'dev', 'eth0'])
      ip(['-n', NS[h], 'link', 'set', 'eth0', 'up'])
    }
    const native = await import('@kad/native')
    pinger = makePinger(native)
    const start = (r, prio) => {
      const f = join(dir, `${r}.conf`)
      writeFileSync(f, conf(prio))
      const p = spawn('ip', ['netns', 'exec', NS[r], process.execPath, KAD, '-n', '-l', '-P', '-f', f, '-p', join(dir, `${r}.pid`), '-r', join(dir, `${r}.vrrp.pid`)], { stdio: ['ignore', 'pipe', 'pipe'] })
      p.stdout.on('data', () => undefined)
      p.stderr.on('data', () => undefined)
      procs[r] = p
      return p
    }
    const holder = () => (['r1', 'r2'].filter((r) => procs[r] && ip(['-n', NS[r], '-br', 'addr', 'show', 'eth0'], true).includes(VIP)))
    const answeredBy = () => {
      const n = ip(['-n', NS.client, '-j', 'neigh', 'show', VIP], true)
      const mac = (JSON.parse(n || '[]')[0] ?? {}).lladdr
      return mac === MAC.r1 ? 'r1' : mac === MAC.r2 ? 'r2' : '?'
    }
    let lastLine = ''
    const t0 = performance.now()
    const status = async (phase) => {
      const rtt = await pinger.ping()
      const h = holder()
      const who = h.length === 0 ? `${c.r}nobody${c.x}` : h.length > 1 ? `${c.r}${h.join('+')} (split brain!)${c.x}` : `${c.g}${h[0]}${c.x}`
      const reach = rtt === undefined ? `${c.r}no reply${c.x}` : `${c.g}reply in ${rtt.toFixed(2)} ms${c.x} from ${answeredBy()}`
      const line = `${c.d}${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s${c.x}  MASTER: ${who.padEnd(16)}  client -> ${VIP}: ${reach}  ${c.d}${phase}${c.x}`
      if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${line}`)
      else if (line.replace(/[\d.]+ ms|[\d.]+s/g, '') !== lastLine) log(line)
      lastLine = line.replace(/[\d.]+ ms|[\d.]+s/g, '')
    }
    const phase = async (name, ms) => {
      if (process.stdout.isTTY) process.stdout.write('\n')
      log(`${c.b}== ${name}${c.x}`)
      const end = performance.now() + ms
      while (performance.now() < end) {
        await status(name)
        await sleep(100)
      }
    }
    start('r1', 150)
    start('r2', 100)
    await phase('both routers start: r1 (priority 150) becomes MASTER', 4000)
    procs.r1.kill('SIGTERM')
    await phase('r1 stopped (SIGTERM): it sends a priority-0 advert, r2 takes over at once', 3000)
    start('r1', 150)
    await phase('r1 is back: it preempts r2 (higher priority)', 4000)
    procs.r1.kill('SIGKILL')
    for (const pid of ip(['netns', 'pids', NS.r1], true).split('\n').filter(Boolean)) try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ }
    ip(['-n', NS.r1, 'link', 'set', 'eth0', 'down'])
    procs.r1 = undefined // a dead router's stale address is not a master
    await phase('r1 crashed (SIGKILL, link down): r2 takes over after the master-down interval (~0.7 s)', 3000 + seconds * 1000)
    if (process.stdout.isTTY) process.stdout.write('\n')
    // what r2's status endpoint (kad_status_listen) tells a Prometheus scraping it now
    log(`${c.b}== r2's /metrics (kad_status_listen 127.0.0.1 9650), its VRRP lines${c.x}`)
    const js = "fetch('http://127.0.0.1:9650/metrics').then((r) => r.text()).then((t) => console.log(t)).catch((e) => console.log('# ' + e.message))"
    const metrics = execFileSync('ip', ['netns', 'exec', NS.r2, process.execPath, '-e', js], { encoding: 'utf8' })
    for (const l of metrics.split('\n')) if (/^kad_vrrp_(state|effective_priority|become_master_total|priority_zero_received_total|adverts_received_as_master_total)\{/.test(l)) log(`  ${l}`)
    log(`${c.b}done${c.x}: removing the namespaces`)
    return 0
  } catch (e) {
    console.error(`\nkad demo failed: ${e.message}`)
    return 1
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    cleanup()
  }
}

// `node examples/demo/index.js`
if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await runDemo(process.argv.slice(2))
