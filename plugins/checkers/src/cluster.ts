/**
 * `kad config cluster`: the virtual servers of several nodes compared. The node that takes a VIP over must balance
 * its traffic the same way: the same virtual servers, scheduler, forwarding method, protocol and persistence, and
 * the same real servers. A difference is a warning (it may be meant), at the virtual server's file:line. Pure.
 */
import type { ClusterNode, ConfigDiagnostic } from '@kad/core'
import { parseLoc } from '@kad/core/plugin'
import { checkersSection, fmtServer, fmtVirtualServer, type VirtualServerModel } from './model.js'

export function clusterCheckCheckers(nodes: readonly ClusterNode[]): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = []
  const warn = (code: string, message: string, vs?: VirtualServerModel) => {
    const loc = vs ? parseLoc(vs.loc) : undefined
    out.push({ code, severity: 'warning', message, ...(loc ? { loc } : {}) })
  }
  const byId = new Map<string, { file: string; vs: VirtualServerModel }[]>()
  for (const n of nodes) {
    for (const vs of checkersSection(n.model).virtualServers) {
      const id = fmtVirtualServer(vs)
      byId.set(id, [...(byId.get(id) ?? []), { file: n.file, vs }])
    }
  }
  const files = nodes.map((n) => n.file)
  for (const [id, list] of byId) {
    const missing = files.filter((f) => !list.some((x) => x.file === f))
    if (missing.length) warn('KAD_CLUSTER_VS_MISSING', `virtual server ${id} is on ${list.map((x) => x.file).join(', ')} but not on ${missing.join(', ')}: that node does not balance its traffic after a failover`, list[0].vs)
    const first = list[0]
    const shape = (vs: VirtualServerModel) => `${vs.scheduler}${vs.schedulerFlags.length ? ` (${vs.schedulerFlags.join(',')})` : ''} ${vs.method} ${vs.protocol ?? 'none'}${vs.persistence ? ` persistence ${vs.persistence.timeout}` : ''}`
    const reals = (vs: VirtualServerModel) => vs.realServers.map((r) => fmtServer(r)).sort()
    for (const x of list.slice(1)) {
      if (shape(x.vs) !== shape(first.vs)) warn('KAD_CLUSTER_VS_SHAPE', `virtual server ${id}: ${shape(x.vs)} on ${x.file}, ${shape(first.vs)} on ${first.file}`, x.vs)
      const a = reals(first.vs)
      const b = reals(x.vs)
      const onlyA = a.filter((r) => !b.includes(r))
      const onlyB = b.filter((r) => !a.includes(r))
      if (onlyA.length || onlyB.length) {
        warn('KAD_CLUSTER_VS_REALS', `virtual server ${id}: real servers differ${onlyB.length ? `; only on ${x.file}: ${onlyB.join(', ')}` : ''}${onlyA.length ? `; only on ${first.file}: ${onlyA.join(', ')}` : ''}`, x.vs)
      }
    }
  }
  return out
}
