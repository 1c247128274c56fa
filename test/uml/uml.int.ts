import { strict as assert } from 'node:assert'
import { REPO_ROOT, runInUml, umlUnavailableReason } from './index.js'

describe('UML harness', function () {
  this.timeout(120_000)
  before(function () {
    const why = umlUnavailableReason()
    if (why) {
      console.log(`      skipped: ${why}`)
      this.skip()
    }
  })
  it('runs a command in a guest with IPVS, the host files and the caller\'s directory; returns its output and status', async () => {
    const r = await runInUml(['bash', '-c', 'echo "$PWD $KAD_IN_UML $FOO"; grep -c "^ip_vs" /proc/modules; cat /proc/net/ip_vs | head -1; exit 3'], { env: { FOO: 'bar' } })
    const lines = r.output.trim().split('\n')
    assert.equal(r.status, 3, r.output)
    assert.equal(lines[0], `${REPO_ROOT} 1 bar`)
    assert.ok(Number(lines[1]) >= 13, `IPVS modules loaded: ${lines[1]}`)
    assert.match(lines[2], /IP Virtual Server version/)
  })
})
