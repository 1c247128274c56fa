/** A real SMTP server (the smtp-server package) on loopback that keeps what it receives. */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server'
import type { AddressInfo } from 'node:net'

export interface ReceivedMail {
  from: string
  to: string[]
  headers: Record<string, string>
  body: string
  raw: string
  helo: string
}

/** headers (unfolded, lower-case names) and body of a raw RFC 5322 message */
export function parseMail(raw: string): { headers: Record<string, string>; body: string } {
  const cut = raw.indexOf('\r\n\r\n')
  const head = raw.slice(0, cut).replace(/\r\n[ \t]+/g, ' ')
  const headers: Record<string, string> = {}
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
  }
  return { headers, body: raw.slice(cut + 4) }
}

export class TestSmtpServer {
  readonly mails: ReceivedMail[] = []
  server: SMTPServer | undefined
  port = 0

  constructor(private readonly extra: Partial<SMTPServerOptions> = {}) {}

  async start(port = 0): Promise<number> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      ...this.extra,
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8')
          const { headers, body } = parseMail(raw)
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            headers,
            body,
            raw,
            helo: session.hostNameAppearsAs,
          })
          cb()
        })
      },
    })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.port = (server.server.address() as AddressInfo).port
    return this.port
  }

  async stop(): Promise<void> {
    const s = this.server
    this.server = undefined
    if (s) await new Promise<void>((r) => s.close(() => r()))
  }
}

/** a loopback port that nothing listens on right now */
export async function freePort(): Promise<number> {
  const s = new TestSmtpServer()
  const p = await s.start()
  await s.stop()
  return p
}
