/** A sender of datagrams to /dev/log, through the native addon's AF_UNIX support when it is there. */
export async function syslogSender(): Promise<((msg: Buffer) => void) | undefined> {
  try {
    const native = (await import('@kad/native')) as Record<string, any>
    if (typeof native.openUnixDgram === 'function') {
      const s = native.openUnixDgram()
      return (msg: Buffer) => s.sendTo(msg, '/dev/log')
    }
  } catch {
    /* no addon: console and file logging still work */
  }
  return undefined
}
