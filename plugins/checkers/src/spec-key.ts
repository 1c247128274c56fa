/** Helpers every checker plugin shares: the identity of a check, and sockets opened per its target's connection keywords. */
import type { CheckerSpec, CheckOutcome, CheckTarget } from '@kad/core'
import { openSocket, SO, SOL, type KadSocket, type OpenSocketOptions } from '@kad/native'
import type { SocketPlace } from './socket-options.js'

export { socketPlace, parseSocketPluginOptions, type SocketPlace, type SocketPluginOptions } from './socket-options.js'

/** a key equal for checks of the same target done the same way (dedup across virtual servers, reload) */
export function specKey(spec: CheckerSpec, withOptions = true): string {
  const t = spec.target
  const base = `${spec.type}|${t.family}|${t.address}|${t.port}|${t.bindTo ?? ''}|${t.bindPort ?? ''}|${t.bindIf ?? ''}|${t.fwmark ?? ''}`
  return withOptions ? `${base}|${JSON.stringify(spec.options)}` : base
}

/**
 * A socket for a check target with its connection keywords applied: `bind_if` (SO_BINDTODEVICE), `fwmark`
 * (SO_MARK, needs CAP_NET_ADMIN), `bindto` / `bind_port` (bind). Throws like the system calls do.
 */
export function openTargetSocket(t: CheckTarget, o: Omit<OpenSocketOptions, 'domain' | 'netns'> & { netns?: string | undefined }): KadSocket {
  const { netns, ...rest } = o
  const sock = openSocket({ ...rest, domain: t.family === 6 ? 'inet6' : 'inet', ...(netns ? { netns } : {}) })
  try {
    if (t.bindIf !== undefined) sock.bindToDevice(t.bindIf)
    if (t.fwmark !== undefined) sock.setOption(SOL.SOCKET, SO.MARK, t.fwmark)
    if (t.bindTo !== undefined || t.bindPort !== undefined) sock.bind({ address: t.bindTo ?? (t.family === 6 ? '::' : '0.0.0.0'), port: t.bindPort ?? 0 })
  } catch (e) {
    sock.close()
    throw e
  }
  return sock
}

/** what a UDP check attempt sends on and hears from (a connected datagram socket) */
export interface UdpPort {
  send(data: Buffer): void
  onMessage(handler: (data: Buffer) => void): void
}

/**
 * One UDP check attempt (DNS_CHECK, UDP_CHECK): a datagram socket for the target (bind_if, fwmark, bindto,
 * bind_port applied; connected to `port`, so an ICMP port unreachable comes back as ECONNREFUSED), settled
 * exactly once — by `run`'s `finish`, by the framework's hard deadline (`signal`: `onTimeout`) or by a socket
 * error (`onError`) — and always closed. `run` sends and judges replies; `cleanup` releases what it armed.
 * The socket is @kad/native's (node's dgram cannot set SO_BINDTODEVICE / SO_MARK nor open in a namespace).
 */
export function udpAttempt(
  t: CheckTarget,
  port: number,
  signal: AbortSignal,
  o: { onTimeout: CheckOutcome; onError: (e: NodeJS.ErrnoException) => CheckOutcome; settled: (v: CheckOutcome) => void; place?: SocketPlace },
  run: (sock: UdpPort, finish: (v: CheckOutcome) => void) => (() => void) | void,
): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    let sock: KadSocket | undefined
    let done = false
    let cleanup: (() => void) | void
    const finish = (v: CheckOutcome) => {
      if (done) return
      done = true
      o.settled(v)
      cleanup?.()
      signal.removeEventListener('abort', onAbort)
      sock?.close()
      resolve(v)
    }
    const onAbort = () => finish(o.onTimeout)
    if (signal.aborted) return finish(o.onTimeout)
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      // a whole datagram whatever its size (UDP_CHECK's max_reply_length goes to 65535; EDNS answers exceed 512)
      sock = openTargetSocket(t, { type: 'dgram', netns: o.place?.netns, receiveBufferSize: 65536, batch: 4 })
      sock.connect({ address: t.address, port })
      sock.onError((e) => finish(o.onError(e as NodeJS.ErrnoException)))
      const s = sock
      cleanup = run(
        {
          send: (data) => {
            try {
              s.send(data)
            } catch (e) {
              finish(o.onError(e as NodeJS.ErrnoException))
            }
          },
          onMessage: (h) => void s.onMessage((buf) => h(buf)),
        },
        finish,
      )
    } catch (e) {
      finish(o.onError(e as NodeJS.ErrnoException))
    }
  })
}
