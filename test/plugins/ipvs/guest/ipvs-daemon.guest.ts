/**
 * Runs INSIDE the UML guest: the real daemon (`bin/kad.js -n -C`) on a config with several virtual servers.
 * `ipvsadm -Sn` shows exactly the expected table; a reload (SIGHUP) that changes one real server changes only that
 * entry; a hand-added unrelated service survives start and stop; `-I` leaves kad's entries on stop and the next
 * start converges onto them; net_namespace_ipvs programs another namespace's table.
 */
import { strict as assert } from 'node:assert'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../../../uml/index.js'

const conf = (w: number): string => `
global_defs {
  router_id uml
  lvs_timeouts tcp 900 tcpfin 120 udp 300
}
virtual_server 192.0.2.1 80 {
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
  real_server 198.51.100.10 8080 {
    weight 2
  }
  real_server 198.51.100.11 8080 {
    weight ${w}
    uthreshold 100
    lthreshold 10
  }
}
virtual_server 192.0.2.2 53 {
  lvs_sched rr
  lvs_method DR
  protocol UDP
  real_server 198.51.100.12 53 {
    weight 1
  }
}
virtual_server 192.0.2.3 80 {
  lvs_sched lc
  lvs_method TUN type gue port 6080 csum
  protocol TCP
  real_server 198.51.100.13 80 {
    weight 1
  }
}
virtual_server fwmark 5 {
  lvs_sched sh
  sh-port
  lvs_method DR
  persistence_timeout 120
  persistence_granularity 255.255.255.0
  real_server 198.51.100.20 {
    weight 1
  }
}
virtual_server 2001:db8::1 443 {
  lvs_sched mh
  mh-fallback
  lvs_method NAT
  protocol TCP
  persistence_timeout 600
  real_server 2001:db8::10 443 {
    weight 4
  }
}
`
const EXPECTED = (w: number): string[] => [
  '-A -t 192.0.2.1:80 -s wrr',
  '-a -t 192.0.2.1:80 -r 198.51.100.10:8080 -m -w 2',
  `-a -t 192.0.2.1:80 -r 198.51.100.11:8080 -m -w ${w}`,
  '-A -u 192.0.2.2:53 -s rr',
  '-a -u 192.0.2.2:53 -r 198.51.100.12:53 -g -w 1',
  '-A -t 192.0.2.3:80 -s lc',
  '-a -t 192.0.2.3:80 -r 198.51.100.13:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
  '-A -f 5 -s sh -p 120 -M 255.255.255.0 -b sh-port',
  '-a -f 5 -r 198.51.100.20:0 -g -w 1',
  '-A -t [2001:db8::1]:443 -s mh -p 600 -b mh-fallback',
  '-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 4',
  '-A -t 203.0.113.9:22 -s rr',
  '-a -t 203.0.113.9:22 -r 203.0.113.10:22 -g -w 1',
].sort()

const table = (): string[] => execFileSync('ipvsadm', ['-Sn'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).sort()

async function until(what: string, ok: () => boolean, limitMs: number): Promise<number> {
  const t0 = Date.now()
  while (!ok()) {
    if (Date.now() - t0 > limitMs) assert.fail(`${what}: not after ${limitMs} ms; table:\n${table().join('\n')}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return Date.now() - t0
}

describe('the kad daemon in the UML kernel', function () {
  this.timeout(180_000)
  const dir = mkdtempSync('/run/kad-ipvs-')
  const file = join(dir, 'keepalived.conf')
  let kad: ChildProcess | undefined
  let log = ''

  const start = (extra: string[] = []): void => {
    kad = spawn(process.execPath, [join(REPO_ROOT, 'bin/kad.js'), '-n', '-l', '-C', '-f', file, '-p', join(dir, 'kad.pid'), '-c', join(dir, 'checkers.pid'), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
    kad.stdout!.on('data', (b) => (log += b))
    kad.stderr!.on('data', (b) => (log += b))
  }
  const stop = async (): Promise<void> => {
    const k = kad
    kad = undefined
    if (!k || k.exitCode !== null) return
    const done = new Promise((r) => k.once('exit', r))
    k.kill('SIGTERM')
    await done
  }

  before(() => {
    execFileSync('ipvsadm', ['-C'])
    execFileSync('ipvsadm', ['-A', '-t', '203.0.113.9:22', '-s', 'rr'])
    execFileSync('ipvsadm', ['-a', '-t', '203.0.113.9:22', '-r', '203.0.113.10:22', '-g'])
    writeFileSync(file, conf(3))
  })
  after(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
    if (process.env.KAD_PRINT) console.log(log)
  })

  it('start: ipvsadm shows exactly the configured table beside the hand-added service', async () => {
    start()
    const ms = await until('kad programmed the table', () => table().length >= EXPECTED(3).length, 90_000)
    console.log(`      programmed ${ms} ms after spawn`)
    assert.deepEqual(table(), EXPECTED(3))
    assert.match(execFileSync('ipvsadm', ['-Ln', '--thresholds'], { encoding: 'utf8' }), /198\.51\.100\.11:8080 +100 +10 /)
    assert.match(execFileSync('ipvsadm', ['-Ln', '--timeout'], { encoding: 'utf8' }), /900 120 300/)
  })

  it('reload changing one real server changes only that entry', async () => {
    const before = table()
    writeFileSync(file, conf(7))
    process.kill(Number(readFileSync(join(dir, 'kad.pid'), 'utf8').trim()), 'SIGHUP')
    await until('reload applied', () => table().some((l) => l.endsWith('198.51.100.11:8080 -m -w 7')), 60_000)
    const after = table()
    assert.deepEqual(before.filter((l) => !after.includes(l)), ['-a -t 192.0.2.1:80 -r 198.51.100.11:8080 -m -w 3'])
    assert.deepEqual(after.filter((l) => !before.includes(l)), ['-a -t 192.0.2.1:80 -r 198.51.100.11:8080 -m -w 7'])
  })

  it('stop removes kad\'s services only', async () => {
    await stop()
    assert.deepEqual(table(), ['-A -t 203.0.113.9:22 -s rr', '-a -t 203.0.113.9:22 -r 203.0.113.10:22 -g -w 1'])
  })

  it('-I leaves the table on stop; the next start converges onto it and stop then removes it', async () => {
    start(['-I'])
    await until('programmed', () => table().length >= EXPECTED(7).length, 90_000)
    await stop()
    assert.deepEqual(table(), EXPECTED(7))
    const started = (log.match(/started check child/g) ?? []).length
    start()
    await until('check child up', () => (log.match(/started check child/g) ?? []).length > started, 90_000)
    await new Promise((r) => setTimeout(r, 1500))
    assert.deepEqual(table(), EXPECTED(7))
    await stop()
    assert.equal(table().length, 2)
  })

  it('net_namespace_ipvs NAME: the table is programmed in that namespace, the daemon\'s own is left alone', async () => {
    execFileSync('ip', ['netns', 'add', 'kad-lvs'])
    try {
      // the kernel refuses an IPv4 real server it has no route to (EINVAL): the namespace reaches 198.51.100.0/24
      for (const c of ['link add kl0 type veth peer name kl1', 'link set lo up', 'link set kl0 up', 'link set kl1 up', 'addr add 198.51.100.1/24 dev kl0']) {
        execFileSync('ip', ['-n', 'kad-lvs', ...c.split(' ')])
      }
      const nsTable = (): string[] => execFileSync('ip', ['netns', 'exec', 'kad-lvs', 'ipvsadm', '-Sn'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).sort()
      const own = table()
      writeFileSync(file, `net_namespace_ipvs kad-lvs\n${conf(3)}`)
      start()
      const mine = EXPECTED(3).filter((l) => !l.includes('203.0.113.9'))
      await until('programmed in kad-lvs', () => nsTable().length >= mine.length, 90_000).catch((e: Error) => {
        throw new Error(`${e.message}\nkad-lvs table:\n${nsTable().join('\n')}\nkad's log:\n${log.slice(-4000)}`)
      })
      assert.deepEqual(nsTable(), mine)
      assert.deepEqual(table(), own)
      await stop()
      assert.deepEqual(nsTable(), [])
    } finally {
      execFileSync('ip', ['netns', 'del', 'kad-lvs'])
    }
  })
})
