/**
 * SMTP reply decoding for SMTP_CHECK: complete replies (multi-line `250-…` continued until `250 …`) out of a
 * byte buffer, bounded. Pure; outside bytes give verdicts, never exceptions.
 */
export interface SmtpReply {
  readonly code: number
  readonly lines: readonly string[]
}

export type ReplyVerdict =
  | { readonly ok: true; readonly reply: SmtpReply; readonly consumed: number }
  | { readonly ok: false; readonly incomplete: true }
  | { readonly ok: false; readonly incomplete?: false; readonly reason: string }

export const MAX_LINE = 1000
export const MAX_LINES = 100

/** decode the first complete reply in `buf` */
export function decodeReply(buf: Uint8Array): ReplyVerdict {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const lines: string[] = []
  let code = -1
  let i = 0
  for (;;) {
    const eol = b.indexOf('\n', i)
    if (eol < 0) {
      if (b.length - i > MAX_LINE) return { ok: false, reason: `reply line longer than ${MAX_LINE} bytes` }
      return { ok: false, incomplete: true }
    }
    if (eol - i > MAX_LINE) return { ok: false, reason: `reply line longer than ${MAX_LINE} bytes` }
    const line = b.toString('latin1', i, eol).replace(/\r$/, '')
    i = eol + 1
    const m = /^([2-5]\d\d)([ -]|$)(.*)$/.exec(line)
    if (!m) return { ok: false, reason: `bad reply line '${line.slice(0, 60)}'` }
    const c = Number(m[1])
    if (code >= 0 && c !== code) return { ok: false, reason: `reply code changed within a reply (${code} then ${c})` }
    code = c
    lines.push(m[3])
    if (lines.length > MAX_LINES) return { ok: false, reason: 'too many reply lines' }
    if (m[2] !== '-') return { ok: true, reply: { code, lines }, consumed: i }
  }
}

export type SmtpStep = 'banner' | 'helo' | 'quit'

/** the conversation: banner 2xx -> HELO name -> 2xx -> QUIT -> done */
export function nextCommand(step: SmtpStep, reply: SmtpReply, heloName: string): { ok: true; send?: string; next?: SmtpStep; done?: boolean } | { ok: false; reason: string } {
  const good = reply.code >= 200 && reply.code <= 299
  switch (step) {
    case 'banner':
      if (!good) return { ok: false, reason: `bad banner ${reply.code} ${reply.lines[0] ?? ''}`.trim() }
      return { ok: true, send: `HELO ${heloName}\r\n`, next: 'helo' }
    case 'helo':
      if (!good) return { ok: false, reason: `HELO refused ${reply.code} ${reply.lines[0] ?? ''}`.trim() }
      return { ok: true, send: 'QUIT\r\n', next: 'quit' }
    case 'quit':
      return { ok: true, done: true }
  }
}
