/** Helpers every checker plugin shares: the identity of a check, and a UDP socket bound/connected per its target. */
import type { CheckerSpec, CheckTarget } from '@kad/core'
import type { Socket as DgramSocket } from 'node:dgram'

/** a key equal for checks of the same target done the same way (dedup across virtual servers, reload) */
export function specKey(spec: CheckerSpec, withOptions = true): string {
  const t = spec.target
  const base = `${spec.type}|${t.family}|${t.address}|${t.port}|${t.bindTo ?? ''}|${t.bindPort ?? ''}|${t.bindIf ?? ''}|${t.fwmark ?? ''}`
  return withOptions ? `${base}|${JSON.stringify(spec.options)}` : base
}

/** bind (bindto / bind_port) and connect a UDP socket to the target, then call `ready` */
export function connectUdp(sock: DgramSocket, t: CheckTarget, port: number, ready: () => void): void {
  const go = () => sock.connect(port, t.address, ready)
  if (t.bindTo !== undefined || t.bindPort !== undefined) sock.bind({ ...(t.bindTo ? { address: t.bindTo } : {}), port: t.bindPort ?? 0 }, go)
  else go()
}
