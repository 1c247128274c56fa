/**
 * The preprocessor's plain-line fast path (one regex match per ordinary line) must give exactly what the general
 * path gives: the same lines (words, columns, locations, raw text, braces) and the same diagnostics, for random
 * text made of the pieces that matter (blanks, braces, quotes, comments, `$`, `@`, `~`, `include`, CR).
 */
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { preprocess, setPlainLineFastPath, type ConfigLine } from '../../core/src/config/index.js'
import { generateConfig } from '../../bench/config-load/generate.js'

const PIECES = [' ', '  ', '\t', '{', '}', ' {', '}', '"', "'", '#', '!', '\\', '$', '$X=1', '${X}', '@main ', '@x ', '~SEQ(i,1,2) ', '~LST(', 'include ', 'inhibit', 'i', 'weight', '1', '198.18.0.1', 'real_server', 'TCP_CHECK', 'a.b:c/d-e', '\r', '\u00a0', '\v', 'é', '\n', '\n', '\n']

function run(text: string, fast: boolean): { lines: ConfigLine[]; diags: unknown[] } {
  setPlainLineFastPath(fast)
  try {
    const lines: ConfigLine[] = []
    const r = preprocess({ file: '/v/k.conf', text, configId: 'main', randomSeed: 1, maxLines: 10_000 }, (l) => lines.push(l))
    return { lines, diags: r.diagnostics }
  } finally {
    setPlainLineFastPath(true)
  }
}

describe('config: the plain-line fast path', () => {
  it('gives the same lines and diagnostics as the general path (fuzzed)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 60 }), (parts) => {
        const text = parts.join('')
        assert.deepEqual(run(text, true), run(text, false), JSON.stringify(text))
      }),
      { numRuns: 4000 },
    )
  })

  it('gives the same lines for a generated configuration', () => {
    const text = generateConfig(50, 7).replace(/weight 1/g, 'weight 1  \t').replace(/\n(\s*)}/g, '\n$1} \r')
    assert.deepEqual(run(text, true), run(text, false))
  })
})
