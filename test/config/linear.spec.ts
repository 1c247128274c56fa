/**
 * Parsing is linear in the size of the configuration: 10x the real servers must cost about 10x, not 100x
 * (keepalived's checker is quadratic here). CPU time, best of two after a warm-up, with a generous bound so a
 * loaded machine does not make it flaky; bench/config-load has the real figures.
 */
import { strict as assert } from 'node:assert'
import { parseConfigText, KeywordTree, registerCoreKeywords } from '../../core/src/config/index.js'
import { registerMiniLvs } from '../../bench/config-load/lvs-keywords.js'
import { generateConfig } from '../../bench/config-load/generate.js'

function cpuOf(fn: () => void): number {
  let best = Infinity
  for (let i = 0; i < 2; i++) {
    const c = process.cpuUsage()
    fn()
    const d = process.cpuUsage(c)
    best = Math.min(best, d.user + d.system)
  }
  return best
}

describe('config parsing is linear', function () {
  this.timeout(60_000)
  it('10x the real servers (all in one virtual_server) costs well under 30x', () => {
    const tree = new KeywordTree()
    registerCoreKeywords(tree)
    registerMiniLvs(tree.forPlugin('minilvs'))
    const small = generateConfig(2_000, Number.MAX_SAFE_INTEGER)
    const big = generateConfig(20_000, Number.MAX_SAFE_INTEGER)
    parseConfigText(small, tree) // warm-up
    const ts = cpuOf(() => assert.equal(parseConfigText(small, tree).exitCode, 0))
    const tb = cpuOf(() => assert.equal(parseConfigText(big, tree).exitCode, 0))
    assert.ok(tb < 30 * ts, `2,000 RS ${ts} us, 20,000 RS ${tb} us: ratio ${(tb / ts).toFixed(1)}`)
  })
})
