import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import { ERROR_CODES, KadError, isKadError } from '../../core/src/errors.js'

describe('core/errors', () => {
  it('docs/errors.md lists exactly the codes of core/src/errors.ts', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
    const inDoc = [...doc.matchAll(/`(KAD_ERR_[A-Z_]+)`/g)].map((m) => m[1]).sort()
    assert.deepEqual(inDoc, Object.keys(ERROR_CODES).sort())
  })
  it('instanceof works across copies through the brand', () => {
    const fake = { [Symbol.for('kad.error')]: true, code: 'KAD_ERR_USAGE' }
    assert.ok(fake instanceof KadError)
    const e = new KadError('KAD_ERR_USAGE', 'x', { cause: new Error('y') })
    assert.ok(isKadError(e, 'KAD_ERR_USAGE'))
    assert.equal((e.cause as Error).message, 'y')
  })
})
