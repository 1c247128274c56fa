import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { decodeReply, nextCommand } from '@kad/plugin-checker-smtp'

describe('checker-smtp reply codec and conversation', () => {
  it('decodes single and multi-line replies', () => {
    const v = decodeReply(Buffer.from('220-mx.test ESMTP\r\n220 ready\r\nextra'))
    assert.ok(v.ok)
    assert.deepEqual(v.reply, { code: 220, lines: ['mx.test ESMTP', 'ready'] })
    assert.equal(v.consumed, 30)
    assert.deepEqual(decodeReply(Buffer.from('220 partial')), { ok: false, incomplete: true })
    assert.equal(decodeReply(Buffer.from('hello\r\n')).ok, false)
    assert.equal(decodeReply(Buffer.from('250-a\r\n251 b\r\n')).ok, false)
    assert.equal(decodeReply(Buffer.alloc(2000, 0x41)).ok, false)
  })
  it('walks banner -> HELO -> QUIT', () => {
    assert.deepEqual(nextCommand('banner', { code: 220, lines: [''] }, 'kad.test'), { ok: true, send: 'HELO kad.test\r\n', next: 'helo' })
    assert.equal(nextCommand('banner', { code: 554, lines: ['no'] }, 'x').ok, false)
    assert.deepEqual(nextCommand('helo', { code: 250, lines: [''] }, 'x'), { ok: true, send: 'QUIT\r\n', next: 'quit' })
    assert.equal(nextCommand('helo', { code: 501, lines: [''] }, 'x').ok, false)
  })
  it('never throws on arbitrary bytes (fuzz)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (b) => void decodeReply(b)), { numRuns: 1000 })
  })
})
