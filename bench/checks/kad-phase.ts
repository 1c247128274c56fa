// One kad measurement in its own process (clean CPU and memory figures): N real servers under one virtual
// server, TCP_CHECK or HTTP_GET at delay_loop 1, run for warmup + window seconds.
import { readFileSync } from 'node:fs'
import { createHostHooks, Scheduler, ScriptRunner, systemClock, type Logger } from '@kad/core'
import checkersPlugin, { CheckFramework, type CheckersSection, type RealServerModel } from '@kad/plugin-checkers'
import tcpPlugin from '@kad/plugin-checker-tcp'
import httpPlugin from '@kad/plugin-checker-http'

const [nStr, type, portStr, windowStr] = process.argv.slice(2)
const n = Number(nStr)
const port = Number(portStr)
const windowS = Number(windowStr ?? 8)

const log: Logger = { fatal() {}, error() {}, warn() {}, info() {}, debug() {}, child: () => log, limited() {} }
const hooks = createHostHooks()
const fakeCtx = (p: { meta: unknown }) => ({ meta: p.meta, options: {}, role: 'check', active: true, hooks, keywords: { root: { block() { return this }, keyword() { return this } }, extend() {}, schema() {} }, container: { cradle: {} }, log, provide() {} }) as never
for (const p of [checkersPlugin, tcpPlugin, httpPlugin]) await p.register(fakeCtx(p))

export function addr(i: number): string {
  return `127.${1 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${(i % 256) + 0}`
}

const realServers: RealServerModel[] = []
for (let i = 0; i < n; i++) {
  realServers.push({
    family: 4,
    address: addr(i),
    port,
    weight: 1,
    checkers: [
      type === 'HTTP_GET'
        ? { type, common: { connectTimeout: 3, retry: 0 }, options: { urls: [{ path: '/ok', statusCodes: [[200, 200]] }] }, loc: 'bench' }
        : { type: 'TCP_CHECK', common: { connectTimeout: 3, retry: 0 }, options: {}, loc: 'bench' },
    ],
    loc: 'bench',
  })
}
const section: CheckersSection = {
  groups: [],
  virtualServers: [
    { kind: 'ip', family: 4, address: '192.0.2.1', port: 80, protocol: 'TCP', scheduler: 'rr', schedulerFlags: [], method: 'NAT', quorum: 1, hysteresis: 0, inhibitOnFailure: false, alpha: false, omega: false, haSuspend: false, weight: 1, delayLoop: 1, realServers, loc: 'bench' },
  ],
}
let topologies = 0
hooks.topologyChanged.tapPromise('bench', async () => {
  topologies++
})
const scheduler = new Scheduler({ clock: systemClock })
const fw = new CheckFramework({ hooks, log, scheduler, clock: systemClock, scriptRunner: new ScriptRunner({ log }) })
fw.start(section)
// first pass spreads over the warmup (= delay_loop); measure after two loops
await new Promise((r) => setTimeout(r, 2000))
const a0 = fw.stats()
const c0 = process.cpuUsage()
const t0 = performance.now()
await new Promise((r) => setTimeout(r, windowS * 1000))
const a1 = fw.stats()
const c1 = process.cpuUsage(c0)
const secs = (performance.now() - t0) / 1000
fw.stop()
// the kernel's peak RSS, as for HAProxy (a sampling timer in this process would add wake-ups HAProxy is not charged)
const peakRssMb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024
const checks = a1.attempts - a0.attempts
const failures = a1.failures - a0.failures
const cpuMs = (c1.user + c1.system) / 1000
process.stdout.write(
  JSON.stringify({
    checks,
    failures,
    secs,
    checksPerSec: checks / secs,
    cpuMsPer1000: (cpuMs / Math.max(1, checks)) * 1000,
    cpuPct: (cpuMs / (secs * 1000)) * 100,
    peakRssMb,
    lateP99Ms: scheduler.lateness.quantile(0.99) / 1000,
    topologies,
  }) + '\n',
)
process.exit(0)
