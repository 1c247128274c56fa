/**
 * One kad BFD engine in its own process (as the bfd child would be), for the benchmark.
 * argv[2]: JSON { netns, sessions: [{ name, neighbor, source }], minRxUs, minTxUs, multiplier, passive }
 * stdout: JSON lines { t: 'up', n } when all are up, { t: 'down', name, diag, ms } on every Up -> Down,
 * and { t: 'stats', … } on SIGUSR2 or SIGTERM (then exits).
 */
import { Scheduler, createNullLogger, systemClock } from '@kad/core'
import { BfdEngine, type BfdInstanceModel } from '../../plugins/bfd/src/index.js'

interface WorkerConfig {
  netns: string
  sessions: { name: string; neighbor: string; source: string }[]
  minRxUs: number
  minTxUs: number
  multiplier: number
  passive?: boolean
}

const cfg = JSON.parse(process.argv[2]) as WorkerConfig
const scheduler = new Scheduler({ clock: systemClock })
scheduler.startLagProbe(50)
const engine = new BfdEngine({ log: createNullLogger(), scheduler, netns: cfg.netns })
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n')
let up = 0
let allUp = false
const isUp = new Set<string>()
engine.onEvent((ev) => {
  if (ev.up) {
    isUp.add(ev.name)
    up = isUp.size
    if (!allUp && up === cfg.sessions.length) {
      allUp = true
      out({ t: 'up', n: up })
    }
  } else if (ev.from === 'Up') {
    isUp.delete(ev.name)
    out({ t: 'down', name: ev.name, diag: ev.diagText, ms: ev.mono })
  }
})
const instances: BfdInstanceModel[] = cfg.sessions.map((s) => ({
  name: s.name,
  family: s.neighbor.includes(':') ? 6 : 4,
  neighbor: s.neighbor,
  source: s.source,
  minRxUs: cfg.minRxUs,
  minTxUs: cfg.minTxUs,
  idleTxUs: 1_000_000,
  multiplier: cfg.multiplier,
  passive: cfg.passive ?? false,
  multihop: false,
  ttl: 255,
  maxHops: 0,
  weight: 0,
  reverse: false,
  toVrrp: false,
  toChecker: false,
  loc: 'bench',
}))
engine.apply(instances)

function stats(): void {
  out({
    t: 'stats',
    up: isUp.size,
    counters: engine.counters,
    txLatenessUs: engine.txLateness.summary(),
    schedulerLatenessUs: scheduler.lateness.summary(),
    loopLagUs: scheduler.loopLag.summary(),
    timers: engine.timerStats(),
    cpu: process.cpuUsage(),
  })
}
process.on('SIGUSR2', () => {
  stats()
  engine.txLateness.reset()
  scheduler.lateness.reset()
  scheduler.loopLag.reset()
})
process.on('SIGTERM', () => {
  stats()
  engine.stop()
  scheduler.cancelAll()
  process.exit(0)
})
