import { strict as assert } from 'node:assert'
import { createServer, type Server, type AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { createHost, expectCases, type TestHost } from '../checkers/helpers/host.js'
import { ALL_CHECKER_PLUGINS } from '../checkers/helpers/all-plugins.js'

async function rawServer(onConn: (s: import('node:net').Socket) => void): Promise<[Server, number]> {
  const s = createServer((c) => {
    c.on('error', () => undefined)
    onConn(c)
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return [s, (s.address() as AddressInfo).port]
}

describe('SMTP_CHECK against smtp-server and misbehaving servers', function () {
  this.timeout(20000)
  let smtp: SMTPServer
  let port: number
  let bad: [Server, number]
  let silent: [Server, number]
  let badHelo: [Server, number]
  let host: TestHost
  const helos: string[] = []
  before(async () => {
    smtp = new SMTPServer({ disabledCommands: ['AUTH', 'STARTTLS'], logger: false, onConnect: (_s, cb) => cb() })
    ;(smtp as unknown as { on(e: string, f: () => void): void }).on('error', () => undefined)
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()))
    port = (smtp.server.address() as AddressInfo).port
    smtp.server.on('connection', (sock) => sock.on('data', (d: Buffer) => { const m = /^HELO (\S+)/.exec(d.toString()); if (m) helos.push(m[1]) }))
    bad = await rawServer((c) => c.end('554 5.7.1 go away\r\n'))
    silent = await rawServer(() => undefined)
    badHelo = await rawServer((c) => {
      c.write('220-first line\r\n220 ready\r\n')
      c.on('data', () => c.write('501 no\r\n'))
    })
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  after(async () => {
    await new Promise<void>((r) => smtp.close(() => r()))
    for (const [s] of [bad, silent, badHelo]) s.close()
  })

  it('passes a healthy SMTP server (banner, HELO, QUIT) and fails 5xx banner, silence, refused, HELO refused', async () => {
    const check = (p: number, extra = '') => `SMTP_CHECK {\n connect_timeout 1.5\n retry 0\n connect_port ${p}\n ${extra}\n }`
    const r = await expectCases(host, '127.0.0.1', port, [
      [check(port, 'helo_name kad.test'), 1],
      [check(bad[1]), false],
      [check(silent[1]), false],
      [check(1), false],
      [check(badHelo[1]), false],
    ])
    assert.ok(helos.includes('kad.test'), helos.join(','))
    assert.match(r[1], /bad banner 554/)
    assert.match(r[2], /timeout/)
    assert.match(r[3], /ECONNREFUSED/)
    assert.match(r[4], /HELO refused 501/)
  })
})
