/**
 * LineContext.unsigned / timer take a fast path for plain digits; it must return exactly what the readers
 * (readUnsigned / readTimerUs) give, and report nothing, while everything else still goes through the readers.
 */
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { LineContext, readTimerUs, readUnsigned, type ConfigDiagnostic, type ParseSink } from '../../core/src/config/index.js'

function ctx(word: string): { k: LineContext; diags: ConfigDiagnostic[] } {
  const diags: ConfigDiagnostic[] = []
  const sink: ParseSink = { configId: 'x', report: (d) => diags.push(d), section: (_n, init) => init() }
  return { k: new LineContext(sink, ['kw', word], 'f', 1, 1, 'kw', `kw ${word}`, [1, 4]), diags }
}

const wordArb = fc.oneof(
  fc.stringMatching(/^[0-9]{1,12}$/),
  fc.constantFrom('0', '00', '007', '4294967295', '4294967296', '999999999', '1000000000', '-1', '+5', '1.5', '1.', '.5', ' 5', '', 'x', '3.0000004', '3.0000005'),
  fc.string({ maxLength: 6 }),
)
const boundArb = fc.option(fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constantFrom(0.000001, 0.5, 1.5, 65535, 2147483647, 4294967295)), { nil: undefined })

describe('config: the readers’ digit fast paths', () => {
  it('unsigned() gives what readUnsigned gives (value and diagnostics)', () => {
    fc.assert(
      fc.property(wordArb, boundArb, boundArb, (w, min, max) => {
        const opts = { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) }
        const { k, diags } = ctx(w)
        const got = k.unsigned(0, opts)
        const want = readUnsigned(w, opts)
        assert.equal(got, want.ok ? want.value : undefined)
        assert.equal(diags.length, want.ok ? (want.warning ? 1 : 0) : 1)
        if (!want.ok) assert.equal(diags[0].message, want.message)
      }),
      { numRuns: 3000 },
    )
  })

  it('timer() gives what readTimerUs gives (value in seconds and diagnostics)', () => {
    fc.assert(
      fc.property(wordArb, boundArb, boundArb, (w, min, max) => {
        const opts = { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) }
        const { k, diags } = ctx(w)
        const got = k.timer(0, opts)
        const want = readTimerUs(w, opts)
        assert.equal(got, want.ok ? want.value / 1e6 : undefined)
        assert.equal(diags.length, want.ok ? (want.warning ? 1 : 0) : 1)
        if (!want.ok) assert.equal(diags[0].message, want.message)
      }),
      { numRuns: 3000 },
    )
  })
})
