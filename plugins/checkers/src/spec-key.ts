/** Helpers every checker plugin shares: the identity of a check, and a UDP socket bound/connected per its target. */
import type { CheckerSpec, CheckOutcome, CheckTarget } from '@kad/core'
import { createSocket, type Socket as DgramSocket } from 'node:dgram'

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

/**
 * One UDP check attempt (DNS_CHECK, UDP_CHECK): a socket for the target's family, settled exactly once — by `run`'s
 * `finish`, by the framework's hard deadline (`signal`: `onTimeout`) or by a socket error (`onError`) — and always
 * closed. `run` sends and judges replies; `cleanup` releases what it armed (timers).
 */
export function udpAttempt(
  t: CheckTarget,
  signal: AbortSignal,
  o: { onTimeout: CheckOutcome; onError: (e: NodeJS.ErrnoException) => CheckOutcome; settled: (v: CheckOutcome) => void },
  run: (sock: DgramSocket, finish: (v: CheckOutcome) => void) => (() => void) | void,
): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const sock = createSocket({ type: t.family === 6 ? 'udp6' : 'udp4' })
    let done = false
    let cleanup: (() => void) | void
    const finish = (v: CheckOutcome) => {
      if (done) return
      done = true
      o.settled(v)
      cleanup?.()
      signal.removeEventListener('abort', onAbort)
      try {
        sock.close()
      } catch {
        /* closed */
      }
      resolve(v)
    }
    const onAbort = () => finish(o.onTimeout)
    signal.addEventListener('abort', onAbort, { once: true })
    sock.on('error', (e: NodeJS.ErrnoException) => finish(o.onError(e)))
    cleanup = run(sock, finish)
  })
}
