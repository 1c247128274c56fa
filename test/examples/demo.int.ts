/**
 * The README's first command runs `kad demo` (scripts/demo.sh): it must go on working. Two kad routers, a client
 * pinging the VIP, the four phases, r2's /metrics at the end, and no namespace left behind.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

describe('examples/demo: kad demo', function () {
  this.timeout(120_000)
  it('elects r1, hands over to r2 on SIGTERM, preempts back, fails over on SIGKILL, shows r2\'s metrics, cleans up', function () {
    // namespaces need root: skipped only when the suite is not run as root; no issue gates it (CI and scripts/test.sh run as root)
    if (process.getuid?.() !== 0) this.skip()
    const r = spawnSync(process.execPath, [resolve(ROOT, 'bin/kad.js'), 'demo'], { encoding: 'utf8', timeout: 110_000 })
    const out = r.stdout + r.stderr
    assert.equal(r.status, 0, out)
    for (const phase of ['both routers start', 'r1 stopped (SIGTERM)', 'r1 is back', 'r1 crashed (SIGKILL, link down)']) assert.match(out, new RegExp(`== ${phase.replace(/[()]/g, '\\$&')}`))
    assert.match(out, /MASTER: r1 +client -> 192\.0\.2\.100: reply in [\d.]+ ms from r1/)
    assert.match(out, /MASTER: r2 +client -> 192\.0\.2\.100: reply in [\d.]+ ms from r2/)
    assert.doesNotMatch(out, /split brain/)
    assert.match(out, /kad_vrrp_state\{vrrp_instance="DEMO",interface="eth0",vrid="42"\} 2/)
    assert.doesNotMatch(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, /kad-demo-/)
  })
})
