import { strict as assert } from 'node:assert'
import { createSocket, type Socket } from 'node:dgram'
import { createHost, expectCases, type TestHost } from '../checkers/helpers/host.js'
import { ALL_CHECKER_PLUGINS } from '../checkers/helpers/all-plugins.js'

describe('UDP_CHECK against a real UDP responder', function () {
  this.timeout(20000)
  let echo: Socket
  let mute: Socket
  let port: number
  let mutePort: number
  let host: TestHost
  before(async () => {
    echo = createSocket('udp4')
    echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from([0xca, 0xfe]), m]), r.port, r.address))
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r))
    port = echo.address().port
    mute = createSocket('udp4')
    await new Promise<void>((r) => mute.bind(0, '127.0.0.1', r))
    mutePort = mute.address().port
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  after(() => {
    echo.close()
    mute.close()
  })

  it('passes replies that match, silence without require_reply; fails ICMP unreachable, mismatch, length, silence with require_reply', async () => {
    const check = (p: number, extra = '') => `UDP_CHECK {\n connect_timeout 1.5\n retry 0\n connect_port ${p}\n ${extra}\n }`
    const r = await expectCases(host, '127.0.0.1', port, [
      [check(port, 'payload 0102\nrequire_reply caxe0102'), 1],
      [check(mutePort), 1],
      [check(port, 'require_reply\nmin_reply_length 2\nmax_reply_length 20'), 1],
      [check(1), false],
      [check(port, 'payload 0102\nrequire_reply cafe0103'), false],
      [check(port, 'payload 0102\nrequire_reply\nmax_reply_length 3'), false],
      [check(mutePort, 'require_reply'), false],
    ])
    assert.match(r[3], /ICMP port unreachable/)
    assert.match(r[4], /does not match/)
    assert.match(r[5], /longer than 3/)
    assert.match(r[6], /timeout/)
  })
})
