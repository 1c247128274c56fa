import { existsSync } from 'node:fs'

/**
 * A sender of datagrams to the local syslog socket (/dev/log) through the native addon's AF_UNIX datagram socket.
 * Undefined when there is no syslog socket or no addon: console (-l) and file (-g) logging still work.
 */
export async function syslogSender(path = '/dev/log'): Promise<((msg: Buffer) => void) | undefined> {
  if (!existsSync(path)) return undefined
  try {
    const native = await import('@kad/native')
    const s = native.openSocket({ domain: 'unix', type: 'dgram' })
    return (msg: Buffer) => {
      s.send(msg, path)
    }
  } catch {
    return undefined
  }
}
