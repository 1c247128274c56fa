/**
 * npm run bench -- vrrp [--quick]
 *
 * Failover time after SIGKILL and SIGTERM of the master, and the master's advert-interval error, for kad and
 * keepalived 2.2.7 in the same run on the same namespaces (two routers and an observer on one bridge), VRRPv3 at
 * advert_int 1, 0.1 and 0.01. Times are taken on the wire by an observer socket in a third namespace:
 *   - SIGKILL: first advert of the new master minus the last advert of the old one; overhead = that minus the
 *     RFC master-down interval (3 * interval + skew), the floor;
 *   - SIGTERM: first advert of the new master minus the old master's priority-0 advert (floor: the skew time);
 *   - jitter: |interval between two adverts of the master - advert_int| (p50 / p99 / max) and the drift (mean error).
 * The last line is key=value.
 */
import { performance } from 'node:perf_hooks'
import { createNetworking } from '@kad/native'
import { decodeIpv4Packet } from '../../plugins/vrrp/src/codec/index.js'
import { VrrpSocket } from '../../plugins/vrrp/src/io.js'
import { Lab, instance, sleep, waitFor, type Daemon } from '../../test/plugins/vrrp/helpers/lab.js'

type Impl = 'kad' | 'keepalived'
interface Seen { t: number; src: string; prio: number }

const quick = process.argv.includes('--quick')
const INTERVALS = quick ? [0.1, 0.01] : [1, 0.1, 0.01]
const VIP = '192.0.2.100'

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

async function main(): Promise<void> {
  const lab = new Lab('kad-vrrp-bench')
  const cleanup = async () => lab.destroy()
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)))
  try {
    const a = lab.host('a', 1)
    const b = lab.host('b', 2)
    const c = lab.host('c', 3)
    const seen: Seen[] = []
    const obs = new VrrpSocket(createNetworking({ netns: `/run/netns/${c}` }), { family: 4, ifname: 'eth0', unicast: false, group: '224.0.0.18' })
    obs.register(51, ({ buf }) => {
      const t = performance.now()
      const d = decodeIpv4Packet(buf)
      if (d.ok) seen.push({ t, src: d.ip.src, prio: d.advert.priority })
    })
    const start = (impl: Impl, ns: string, name: string, prio: number, adv: number): Daemon => {
      const conf = `global_defs {\n  vrrp_garp_master_delay 0\n}\n` + instance({ priority: prio, advert: adv, version: 3, vips: [`${VIP}/24`] })
      return impl === 'kad' ? lab.kad(ns, name, conf) : lab.keepalived(ns, name, conf)
    }
    const rows: Record<string, Record<string, number>> = {}
    let n = 0
    for (const adv of INTERVALS) {
      for (const impl of ['kad', 'keepalived'] as Impl[]) {
        const r: Record<string, number> = {}
        const skew = ((256 - 100) * adv * 1000) / 256
        const masterDown = 3 * adv * 1000 + skew
        for (const sig of ['SIGKILL', 'SIGTERM'] as const) {
          const m = start(impl, a, `${impl}-m${n++}`, 200, adv)
          await waitFor(`${impl} master`, () => lab.hasAddr(a, VIP), 20000)
          const bk = start(impl, b, `${impl}-b${n++}`, 100, adv)
          await waitFor(`${impl} backup`, () => bk.has(/Entering BACKUP STATE/), 20000)
          // jitter of the master's adverts while the backup listens
          seen.length = 0
          await sleep(Math.max(3000, adv * 6000))
          if (sig === 'SIGKILL') {
            const ts = seen.filter((s) => s.src === '192.0.2.1').map((s) => s.t)
            const err: number[] = []
            for (let i = 1; i < ts.length; i++) err.push(Math.abs(ts[i] - ts[i - 1] - adv * 1000) * 1000)
            r.jitter_p50_us = pct(err, 50)
            r.jitter_p99_us = pct(err, 99)
            r.jitter_max_us = Math.max(...err)
            r.drift_us = ts.length > 1 ? ((ts[ts.length - 1] - ts[0]) / (ts.length - 1) - adv * 1000) * 1000 : NaN
          }
          seen.length = 0
          if (sig === 'SIGKILL') await m.kill9()
          else await m.term()
          await waitFor(`${impl} backup takes over`, () => seen.some((s) => s.src === '192.0.2.2' && s.prio > 0), 20000, 2)
          const lastOld = [...seen].filter((s) => s.src === '192.0.2.1').pop()
          const firstNew = seen.find((s) => s.src === '192.0.2.2' && s.prio > 0)!
          const ms = lastOld ? firstNew.t - lastOld.t : NaN
          r[`${sig.toLowerCase()}_ms`] = ms
          r[`${sig.toLowerCase()}_overhead_ms`] = ms - (sig === 'SIGKILL' ? masterDown : skew)
          await bk.term()
          lab.daemons.length = 0
        }
        rows[`${impl}@${adv}`] = r
      }
    }
    obs.close()
    const keys = ['sigkill_ms', 'sigkill_overhead_ms', 'sigterm_ms', 'sigterm_overhead_ms', 'jitter_p50_us', 'jitter_p99_us', 'jitter_max_us', 'drift_us']
    const f = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : 'n/a')
    const out: string[] = []
    for (const adv of INTERVALS) {
      console.log(`\nadvert_int ${adv}s (master-down floor ${(3 * adv * 1000 + ((156 * adv * 1000) / 256)).toFixed(2)} ms, skew ${((156 * adv * 1000) / 256).toFixed(2)} ms)`)
      console.log(`${'metric'.padEnd(22)}${'kad'.padStart(12)}${'keepalived'.padStart(12)}${'ratio'.padStart(9)}`)
      const k = rows[`kad@${adv}`]
      const ka = rows[`keepalived@${adv}`]
      for (const key of keys) {
        const ratio = ka[key] ? k[key] / ka[key] : NaN
        console.log(`${key.padEnd(22)}${f(k[key]).padStart(12)}${f(ka[key]).padStart(12)}${f(ratio).padStart(9)}`)
        const tag = String(adv).replace('.', 'p')
        out.push(`kad_${key}_${tag}=${f(k[key])}`, `keepalived_${key}_${tag}=${f(ka[key])}`)
      }
    }
    console.log(out.join(' '))
  } finally {
    await cleanup()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
