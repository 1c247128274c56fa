import { strict as assert } from 'node:assert'
import { createServer, type Server, type AddressInfo } from 'node:net'
import { createHost, expectCases, type TestHost } from '../checkers/helpers/host.js'
import { ALL_CHECKER_PLUGINS } from '../checkers/helpers/all-plugins.js'

describe('TCP_CHECK against a real listener', function () {
  this.timeout(20000)
  let srv: Server
  let port: number
  let host: TestHost
  const peers: string[] = []
  before(async () => {
    srv = createServer((s) => {
      peers.push(`${s.remoteAddress}:${s.remotePort}`)
      s.on('error', () => undefined)
      s.end()
    })
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    port = (srv.address() as AddressInfo).port
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  after(() => srv.close())

  it('passes a listening port, fails a refused one, honours connect_port / bindto / bind_port', async () => {
    const r = await expectCases(host, '127.0.0.1', port, [
      ['TCP_CHECK {\n connect_timeout 1.5\n retry 0\n }', 1],
      ['TCP_CHECK {\n connect_timeout 1.5\n retry 0\n connect_port 1\n }', false],
      ['TCP_CHECK {\n connect_timeout 1.5\n retry 0\n bindto 127.0.0.2\n bind_port 47123\n }', 1],
      ['TCP_CHECK {\n connect_timeout 1.5\n retry 0\n connect_ip 127.0.0.1\n connect_port 2\n }', false],
    ])
    assert.match(r[1], /ECONNREFUSED/)
    // a port check holds back the handshake's last ACK and resets (as HAProxy does): the server never accepts a
    // connection (bindto / bind_port on the wire: test/plugins/checker-tcp/tcp-native.int.ts counts them with nft)
    assert.deepEqual(peers, [])
  })
})
