import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createHost, expectCases, type TestHost } from '../checkers/helpers/host.js'
import { ALL_CHECKER_PLUGINS } from '../checkers/helpers/all-plugins.js'

describe('DNS_CHECK against dnsmasq', function () {
  this.timeout(30000)
  let dnsmasq: ChildProcess
  const port = 20000 + (process.pid % 20000)
  let host: TestHost
  before(async () => {
    dnsmasq = spawn(
      'dnsmasq',
      ['-k', '-p', String(port), '--listen-address=127.0.0.1', '--bind-interfaces', '-C', '/dev/null', '--no-resolv', '--no-hosts', '--local=/test/', '--host-record=ok.test,192.0.2.1', '--mx-host=mx.test,mail.test,10', '--txt-record=txt.test,hello', '--pid-file=', '--user=root'],
      { stdio: 'ignore' },
    )
    // wait until it answers
    for (let i = 0; i < 50; i++) {
      const ok = await new Promise<boolean>((res) => {
        const s = createSocket('udp4')
        const t = setTimeout(() => (s.close(), res(false)), 100)
        s.on('message', () => (clearTimeout(t), s.close(), res(true)))
        s.send(Buffer.from('0001010000010000000000000274780474657374000010000 1'.replace(/ /g, ''), 'hex'), port, '127.0.0.1')
      })
      if (ok) break
    }
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  after(() => {
    dnsmasq.kill('SIGTERM')
  })

  it('passes an answered query and fails NXDOMAIN/REFUSED, a wrong record type, no server', async () => {
    const check = (type: string, name: string, p = port) => `DNS_CHECK {\n connect_timeout 1.5\n retry 0\n connect_port ${p}\n type ${type}\n name ${name}\n }`
    const r = await expectCases(host, '127.0.0.1', port, [
      [check('A', 'ok.test'), 1],
      [check('MX', 'mx.test'), 1],
      [check('TXT', 'txt.test'), 1],
      [check('A', 'nothere.test'), false],
      [check('AAAA', 'ok.test'), false],
      [check('A', 'ok.test', 1), false],
    ])
    assert.match(r[3], /RCODE|no answer/)
    assert.match(r[4], /no answer|no AAAA/)
    assert.match(r[5], /ECONNREFUSED|timeout/)
  })
})
