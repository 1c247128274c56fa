import { strict as assert } from 'node:assert'
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs'
import { createHost, expectCases, type TestHost } from '../checkers/helpers/host.js'
import { ALL_CHECKER_PLUGINS } from '../checkers/helpers/all-plugins.js'

describe('MISC_CHECK through the core script runner', function () {
  this.timeout(20000)
  let dir: string
  let host: TestHost
  before(async () => {
    dir = mkdtempSync('/tmp/kad-misc-')
    chmodSync(dir, 0o755)
    for (const [n, body] of [
      ['ok', 'exit 0'],
      ['fail', 'exit 1'],
      ['seven', 'exit 7'],
      ['slow', 'sleep 5'],
      ['arg', '[ "$1" = yes ] && exit 0; exit 1'],
    ]) {
      writeFileSync(`${dir}/${n}.sh`, `#!/bin/sh\n${body}\n`)
      chmodSync(`${dir}/${n}.sh`, 0o755)
    }
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('exit 0 up, 1 down, 2-255 sets the weight with misc_dynamic, a script past misc_timeout is down', async () => {
    const check = (path: string, extra = '') => `MISC_CHECK {\n misc_path "${path}"\n misc_timeout 0.5\n ${extra}\n }`
    const r = await expectCases(host, '127.0.0.1', 0, [
      [check(`${dir}/ok.sh`), 1],
      [check(`${dir}/fail.sh`), false],
      [check(`${dir}/seven.sh`, 'misc_dynamic'), 5],
      [check(`${dir}/seven.sh`), false],
      [check(`${dir}/slow.sh`), false],
      [check(`${dir}/arg.sh yes`), 1],
      [check(`${dir}/arg.sh no`), false],
      [check(`${dir}/missing.sh`), false],
    ])
    assert.match(r[1], /exited 1/)
    assert.match(r[4], /timed out|timeout/)
  })
})
