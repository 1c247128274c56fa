import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const KAD = new URL('../../bin/kad.js', import.meta.url).pathname
const GENHASH = new URL('../../bin/genhash.js', import.meta.url).pathname

describe('kad genhash / genhash / kad -T (the CLI entry points of the HTTP checker plugin)', () => {
  let srv: Server
  let port: number
  before(async () => {
    srv = createServer((_q, r) => r.end('<html>kad genhash page</html>\n'))
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok))
    port = (srv.address() as AddressInfo).port
  })
  after(() => {
    srv.closeAllConnections()
    srv.close()
  })

  // the page is served by this process: run the commands asynchronously so the server can answer
  const run = promisify(execFile)
  it("prints the same digest as Debian's genhash for the same page, through every entry point", async function () {
    const args = ['-s', '127.0.0.1', '-p', String(port), '-u', '/']
    let debian: string
    try {
      debian = (await run('genhash', args)).stdout
    } catch {
      this.skip() // Debian's keepalived package (genhash) not installed
    }
    assert.match(debian!, /^[0-9a-f]{32}\n$/)
    for (const argv of [[KAD, 'genhash', ...args], [GENHASH, ...args], [KAD, '-T', ...args]]) {
      assert.equal((await run(process.execPath, argv)).stdout, debian!)
    }
  })
})
