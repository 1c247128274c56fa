/**
 * Prometheus text exposition (format 0.0.4) of what the supervision service reports: the children, and what their
 * plugins write for the JSON signal (VRRP instances in keepalived's record shape, the checkers' virtual and real
 * servers, BFD sessions). Pure: a snapshot in, text out (golden-tested).
 *
 * Written by hand rather than with prom-client: the values are snapshots of other processes taken at scrape time,
 * where prom-client's model is metrics that live in the process that updates them; the format itself is a few lines.
 */
import type { ChildStatus } from '@kad/core'

export interface StatusSnapshot {
  version: string
  self: { pid: number; startedAt: number }
  children: ChildStatus[]
}

type Labels = Record<string, string | number>

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const fmtLabels = (l: Labels) => {
  const e = Object.entries(l)
  return e.length ? `{${e.map(([k, v]) => `${k}="${escape(String(v))}"`).join(',')}}` : ''
}
const fmtValue = (v: number) => (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf')

/** metric families in the order first added, each with its HELP and TYPE once */
class Exposition {
  private readonly fams = new Map<string, { help: string; type: 'gauge' | 'counter'; samples: string[] }>()
  add(name: string, type: 'gauge' | 'counter', help: string, labels: Labels, value: number | undefined): void {
    if (value === undefined) return
    let f = this.fams.get(name)
    if (!f) this.fams.set(name, (f = { help, type, samples: [] }))
    f.samples.push(`${name}${fmtLabels(labels)} ${fmtValue(value)}`)
  }
  text(): string {
    const out: string[] = []
    for (const [name, f] of this.fams) out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.samples)
    return out.join('\n') + '\n'
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : undefined)
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {})
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

/** keepalived's packet-error counters and the `kind` label each gets */
const VRRP_ERRORS: [string, string][] = [
  ['packet_len_err', 'length'], ['ip_ttl_err', 'ttl'], ['invalid_type_rcvd', 'invalid_type'], ['advert_interval_err', 'advert_interval'],
  ['addr_list_err', 'address_list'], ['invalid_authtype', 'auth_invalid_type'], ['authtype_mismatch', 'auth_type_mismatch'], ['auth_failure', 'auth_failure'],
]

export function renderMetrics(s: StatusSnapshot): string {
  const x = new Exposition()
  x.add('kad_up', 'gauge', 'kad is running (the parent answered)', {}, 1)
  x.add('kad_info', 'gauge', 'kad version', { version: s.version }, 1)
  x.add('kad_start_time_seconds', 'gauge', 'start time of the parent process, seconds since the epoch', {}, s.self.startedAt / 1000)
  for (const c of s.children) {
    const l = { role: c.role }
    x.add('kad_child_up', 'gauge', 'the child process runs (1) or not (0)', l, c.up ? 1 : 0)
    x.add('kad_child_responding', 'gauge', 'the child answered the status query in time', l, c.json ? 1 : 0)
    x.add('kad_child_restarts_total', 'counter', 'restarts of the child after it died', l, c.restarts)
    if (c.up) x.add('kad_child_start_time_seconds', 'gauge', 'start time of the current child process, seconds since the epoch', l, c.startedAt / 1000)
    if (c.loop) {
      x.add('kad_child_event_loop_lag_p99_seconds', 'gauge', "the child's event-loop lag, 99th percentile", l, c.loop.lagP99Us / 1e6)
      x.add('kad_child_event_loop_lag_max_seconds', 'gauge', "the child's event-loop lag, maximum", l, c.loop.lagMaxUs / 1e6)
      x.add('kad_child_timer_lateness_p99_seconds', 'gauge', "the child's timer lateness, 99th percentile", l, c.loop.latenessP99Us / 1e6)
    }
  }
  const json = (role: string) => s.children.find((c) => c.role === role)?.json ?? {}
  // VRRP: keepalived's records (the vrrp plugin's JSON)
  for (const r of arr(json('vrrp').vrrp)) {
    const d = obj(obj(r).data)
    const st = obj(obj(r).stats)
    // not `instance`: Prometheus gives every target that label
    const l = { vrrp_instance: String(d.iname ?? ''), interface: String(d.ifp_ifname ?? ''), vrid: String(d.vrid ?? '') }
    x.add('kad_vrrp_state', 'gauge', 'VRRP instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived numbering)', l, num(d.state))
    x.add('kad_vrrp_base_priority', 'gauge', 'configured priority', l, num(d.base_priority))
    x.add('kad_vrrp_effective_priority', 'gauge', 'priority after tracking weights', l, num(d.effective_priority))
    x.add('kad_vrrp_adverts_sent_total', 'counter', 'adverts sent', l, num(st.advert_sent))
    x.add('kad_vrrp_adverts_received_total', 'counter', 'valid adverts received', l, num(st.advert_rcvd))
    x.add('kad_vrrp_become_master_total', 'counter', 'transitions to MASTER', l, num(st.become_master))
    x.add('kad_vrrp_release_master_total', 'counter', 'transitions from MASTER', l, num(st.release_master))
    x.add('kad_vrrp_priority_zero_sent_total', 'counter', 'priority-0 adverts sent', l, num(st.pri_zero_sent))
    x.add('kad_vrrp_priority_zero_received_total', 'counter', 'priority-0 adverts received', l, num(st.pri_zero_rcvd))
    x.add('kad_vrrp_adverts_received_as_master_total', 'counter', 'adverts from another router received while MASTER: two masters until the election settles (split brain if it grows)', l, num(d.kad_adverts_received_as_master))
    for (const [key, kind] of VRRP_ERRORS) x.add('kad_vrrp_packet_errors_total', 'counter', 'adverts rejected, by keepalived category', { ...l, kind }, num(st[key]))
    for (const t of arr(d.kad_trackers)) {
      const tl = { vrrp_instance: l.vrrp_instance, tracker: String(obj(t).name ?? '') }
      x.add('kad_vrrp_tracker_fault', 'gauge', 'the tracker puts the instance in FAULT (1) or not (0)', tl, num(obj(t).fault))
      x.add('kad_vrrp_tracker_weight', 'gauge', 'what the tracker adds to the priority', tl, num(obj(t).weight))
    }
  }
  // health checkers: virtual and real servers
  for (const vs of arr(obj(json('check').checkers).virtualServers)) {
    const v = obj(vs)
    const vl = { virtual_server: String(v.name ?? '') }
    x.add('kad_lvs_virtual_server_quorum_up', 'gauge', 'the virtual server has its quorum (1) or not (0)', vl, num(v.quorumUp))
    x.add('kad_lvs_virtual_server_live_weight', 'gauge', 'sum of the weights of the real servers up', vl, num(v.liveWeight))
    for (const rs of arr(v.realServers)) {
      const r = obj(rs)
      const rl = { ...vl, real_server: String(r.id ?? '') }
      x.add('kad_lvs_real_server_up', 'gauge', 'the real server passes its checks (1) or not (0)', rl, num(r.up))
      x.add('kad_lvs_real_server_weight', 'gauge', 'the weight the real server has in the load balancer', rl, num(r.weight))
      arr(r.checkers).forEach((ck, index) => {
        const c = obj(ck)
        // the index: two checkers of one type on a real server (ports 80 and 443) are two series
        const cl = { ...rl, checker: String(c.type ?? ''), index }
        x.add('kad_lvs_checker_up', 'gauge', 'the checker passes (1) or not (0)', cl, num(c.ok))
        x.add('kad_lvs_checks_total', 'counter', 'check attempts', cl, num(c.attempts))
        x.add('kad_lvs_check_failures_total', 'counter', 'failed check attempts', cl, num(c.failures))
      })
    }
  }
  // BFD sessions
  for (const ss of arr(obj(json('bfd').bfd).sessions)) {
    const b = obj(ss)
    const counters = obj(b.counters)
    const bl = { session: String(b.name ?? ''), neighbor: String(b.neighbor ?? '') }
    x.add('kad_bfd_session_up', 'gauge', 'the BFD session is Up (1) or not (0)', bl, b.state === undefined ? undefined : b.state === 'Up' ? 1 : 0)
    x.add('kad_bfd_session_detection_time_seconds', 'gauge', 'the detection time in force', bl, num(b.detectionTimeMs) === undefined ? undefined : (b.detectionTimeMs as number) / 1000)
    x.add('kad_bfd_session_packets_received_total', 'counter', 'control packets received', bl, num(counters.rx))
    x.add('kad_bfd_session_packets_sent_total', 'counter', 'control packets sent', bl, num(counters.tx))
    x.add('kad_bfd_session_up_total', 'counter', 'transitions to Up', bl, num(counters.ups))
    x.add('kad_bfd_session_down_total', 'counter', 'transitions from Up', bl, num(counters.downs))
  }
  return x.text()
}

/** /healthz: every child the configuration asks for runs and answered */
export function health(children: ChildStatus[]): { ok: boolean; problems: string[] } {
  const problems = children.filter((c) => !c.up || !c.json).map((c) => `${c.role}: ${c.error ?? (c.up ? 'no answer' : 'not running')}`)
  return { ok: problems.length === 0, problems }
}
