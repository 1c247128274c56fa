/**
 * `kad config cluster`: the VRRP instances of several nodes' configurations checked together, which no single
 * node's `-t` can do (keepalived#389; openshift/baremetal-runtimecfg#137's empty peer lists): the instances that
 * share a VRID and family must agree on their VIPs, version, advert interval and authentication; priorities should
 * not tie; only one node may own the addresses (255); unicast peers must list each other. For each VRID it also
 * predicts which node is MASTER and how long its backup takes to take over. Pure.
 */
import type { ClusterNode, ConfigDiagnostic } from '@kad/core'
import { parseLoc } from '@kad/core/plugin'
import { vrrpSection, type VrrpInstanceModel, type VrrpSection } from './model.js'

interface Member {
  file: string
  m: VrrpInstanceModel
  version: 2 | 3
  downTimerAdverts: number
}

const vipsOf = (m: VrrpInstanceModel) => m.vips.map((v) => `${v.address}/${v.prefixLength}`).sort()
const who = (x: Member) => `${x.file} ${x.m.name}`
const fam = (f: 4 | 6) => (f === 4 ? 'IPv4' : 'IPv6')

/** seconds a BACKUP of priority `prio` waits after the master's last advert (RFC 5798 §6.1 / RFC 3768) */
export function masterDownSeconds(x: { version: 2 | 3; advertInt: number; priority: number; downTimerAdverts: number }): { total: number; skew: number } {
  const skew = x.version === 2 ? (256 - x.priority) / 256 : ((256 - x.priority) * x.advertInt) / 256
  return { total: x.downTimerAdverts * x.advertInt + skew, skew }
}

export function clusterCheckVrrp(nodes: readonly ClusterNode[]): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = []
  const say = (severity: ConfigDiagnostic['severity'], code: string, message: string, m?: VrrpInstanceModel) => {
    const loc = m ? parseLoc(m.loc) : undefined
    out.push({ code, severity, message, ...(loc ? { loc } : {}) })
  }
  const groups = new Map<string, Member[]>()
  for (const n of nodes) {
    const s: VrrpSection = vrrpSection(n.model)
    for (const m of s.instances) {
      if (!m.vrid) continue
      const key = `${m.family}/${m.vrid}`
      const list = groups.get(key) ?? []
      list.push({ file: n.file, m, version: m.version ?? (m.family === 6 ? 3 : s.globals.version), downTimerAdverts: m.downTimerAdverts ?? s.globals.downTimerAdverts })
      groups.set(key, list)
    }
  }
  for (const [key, all] of groups) {
    const [family, vrid] = key.split('/')
    const name = `VRID ${vrid} (${fam(Number(family) as 4 | 6)})`
    const files = new Set(all.map((x) => x.file))
    // several instances of one VRID on one node sit on different links: they cannot be paired by VRID alone
    const members = all.filter((x) => all.filter((y) => y.file === x.file).length === 1)
    if (members.length < all.length) say('info', 'KAD_CLUSTER_VRID_AMBIGUOUS', `${name}: more than one instance on ${[...files].filter((f) => all.filter((y) => y.file === f).length > 1).join(', ')} (different links?): not compared`)
    if (files.size < 2) {
      say('warning', 'KAD_CLUSTER_ALONE', `${name}: only ${all[0].file} has it (${all[0].m.name}); no other node backs it up`, all[0].m)
      continue
    }
    if (members.length < 2) continue
    const first = members[0]
    for (const x of members.slice(1)) {
      if (vipsOf(x.m).join(' ') !== vipsOf(first.m).join(' ')) {
        say('error', 'KAD_CLUSTER_VIPS', `${name}: ${who(x)} has VIPs [${vipsOf(x.m).join(', ')}], ${who(first)} [${vipsOf(first.m).join(', ')}]: a peer that sees different addresses in the adverts rejects them (or the VIPs move with the wrong master)`, x.m)
      }
      if (x.version !== first.version) say('error', 'KAD_CLUSTER_VERSION', `${name}: ${who(x)} speaks VRRPv${x.version}, ${who(first)} VRRPv${first.version}: they do not see each other's adverts`, x.m)
      else if (x.m.advertInt !== first.m.advertInt) {
        say(x.version === 2 ? 'error' : 'warning', 'KAD_CLUSTER_ADVERT_INT',
          `${name}: advert_int ${x.m.advertInt} s on ${who(x)}, ${first.m.advertInt} s on ${who(first)}${x.version === 2 ? ': VRRPv2 drops adverts with another interval' : ': VRRPv3 backups follow the master\'s, so failover times depend on which node is master'}`, x.m)
      }
      const auth = (m: VrrpInstanceModel) => (m.auth ? `${m.auth.type} ${m.auth.pass}` : 'none')
      if (auth(x.m) !== auth(first.m)) say('error', 'KAD_CLUSTER_AUTH', `${name}: authentication differs between ${who(x)} and ${who(first)}: adverts fail authentication`, x.m)
      if ((x.m.unicastPeers.length > 0) !== (first.m.unicastPeers.length > 0)) {
        say('error', 'KAD_CLUSTER_CAST', `${name}: ${who(x)} uses ${x.m.unicastPeers.length ? 'unicast' : 'multicast'}, ${who(first)} ${first.m.unicastPeers.length ? 'unicast' : 'multicast'}: they do not hear each other (both become MASTER)`, x.m)
      }
    }
    // unicast: every node's source must be among the others' peers
    for (const x of members) {
      if (x.m.unicastPeers.length === 0) continue
      for (const y of members) {
        if (y === x || !y.m.unicastSrcIp || y.m.unicastPeers.length === 0) continue
        if (!x.m.unicastPeers.some((p) => p.address === y.m.unicastSrcIp)) {
          say('error', 'KAD_CLUSTER_PEERS', `${name}: ${who(x)} does not list ${y.m.unicastSrcIp} (unicast_src_ip of ${who(y)}) in unicast_peer: it never sends to it`, x.m)
        }
      }
    }
    const owners = members.filter((x) => x.m.priority === 255)
    if (owners.length > 1) say('error', 'KAD_CLUSTER_OWNERS', `${name}: ${owners.map(who).join(' and ')} all claim to own the addresses (priority 255)`, owners[1].m)
    const byPrio = [...members].sort((a, b) => b.m.priority - a.m.priority)
    for (let i = 1; i < byPrio.length; i++) {
      if (byPrio[i].m.priority === byPrio[i - 1].m.priority) {
        say('warning', 'KAD_CLUSTER_PRIORITY_TIE', `${name}: ${who(byPrio[i - 1])} and ${who(byPrio[i])} both have priority ${byPrio[i].m.priority}: the higher primary address wins, which the configuration does not show`, byPrio[i].m)
      }
    }
    // the prediction: who is MASTER, and how long its best backup waits
    const master = byPrio[0]
    const backup = byPrio[1]
    const md = masterDownSeconds({ version: backup.version, advertInt: master.m.advertInt, priority: backup.m.priority, downTimerAdverts: backup.downTimerAdverts })
    const s = (n: number) => `${Number(n.toFixed(3))} s`
    const tied = backup.m.priority === master.m.priority
    say('info', 'KAD_CLUSTER_FAILOVER',
      `${name} [${vipsOf(master.m).join(', ')}]: MASTER ${tied ? `${who(master)} or ${who(backup)}, whichever has the higher primary address` : who(master)} (priority ${master.m.priority}); if it fails, ${tied ? 'the other' : who(backup)} (priority ${backup.m.priority}) takes over after ${s(md.total)} (${backup.downTimerAdverts} x ${s(master.m.advertInt)} + skew ${s(md.skew)}); after a clean stop (priority 0) after ${s(md.skew)}`)
  }
  return out
}
