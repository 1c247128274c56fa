/** The IPVS scenario's topology: every scheduler, every forwarding method, fwmark, IPv6, persistence. */
import type { DesiredRealServer, DesiredTopology, DesiredVirtualServer } from '@kad/core'

export const rs = (address: string, port: number, weight = 1, extra: Partial<DesiredRealServer> = {}): DesiredRealServer => ({
  id: `[${address}]:${port}`, family: address.includes(':') ? 6 : 4, address, port, weight, method: 'NAT', ...extra,
})
export const vs = (address: string, port: number, realServers: DesiredRealServer[], extra: Partial<DesiredVirtualServer> = {}): DesiredVirtualServer => ({
  id: `${extra.protocol ?? 'TCP'}:[${address}]:${port}`, family: address.includes(':') ? 6 : 4, protocol: 'TCP', address, port, scheduler: 'wrr',
  schedulerFlags: [], realServers, quorumUp: true, ...extra,
})

export const UML_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'] as const

export function scenario(generation: number, over: { weight11?: number } = {}): DesiredTopology {
  const v: DesiredVirtualServer[] = UML_SCHEDULERS.map((s, i) => vs(`192.0.2.${i + 1}`, 80, [rs(`198.51.100.${i + 1}`, 8080, 1), rs(`198.51.100.${i + 101}`, 8080, 2)], { scheduler: s }))
  v.push(
    vs('192.0.2.20', 80, [rs('198.51.100.20', 80, 5, { method: 'DR' })], { scheduler: 'rr' }),
    vs('192.0.2.21', 80, [
      rs('198.51.100.21', 80, 1, { method: 'TUN', tunnel: { type: 'ipip' } }),
      rs('198.51.100.22', 80, 1, { method: 'TUN', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } }),
      rs('198.51.100.23', 80, 1, { method: 'TUN', tunnel: { type: 'gre', checksum: 'nocsum' } }),
    ], { scheduler: 'rr' }),
    { id: 'FWM:4:1', family: 4, protocol: null, fwmark: 1, scheduler: 'sh', schedulerFlags: ['sh-port', 'sh-fallback'], persistence: { timeout: 300, granularity: '255.255.255.0' }, realServers: [rs('198.51.100.30', 0, 1, { method: 'DR' })], quorumUp: true },
    { id: 'FWM:6:2', family: 6, protocol: null, fwmark: 2, scheduler: 'mh', schedulerFlags: ['mh-port'], realServers: [rs('2001:db8::30', 0, 1, { method: 'DR' })], quorumUp: true },
    vs('2001:db8::1', 443, [rs('2001:db8::10', 443, over.weight11 ?? 3, { uthreshold: 100, lthreshold: 10 }), rs('2001:db8::11', 443, 0)], { scheduler: 'wlc' }),
    vs('192.0.2.30', 53, [rs('198.51.100.40', 53)], { protocol: 'UDP', scheduler: 'rr' }),
    vs('192.0.2.31', 3868, [rs('198.51.100.41', 3868)], { protocol: 'SCTP', scheduler: 'rr' }),
    vs('192.0.2.32', 5060, [rs('198.51.100.42', 5060)], { protocol: 'UDP', scheduler: 'rr', persistence: { timeout: 60, engine: 'sip' } }),
    vs('192.0.2.33', 80, [rs('198.51.100.43', 80, 1, { sorry: true })], { scheduler: 'rr', quorumUp: false }),
  )
  return { generation, virtualServers: v }
}
