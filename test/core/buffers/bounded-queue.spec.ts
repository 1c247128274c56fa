import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { BoundedQueue, isKadError } from '@kad/core'

describe('BoundedQueue', () => {
  it('is a FIFO that grows past its initial ring', () => {
    const q = new BoundedQueue<number>({ maxItems: 1000, maxBytes: 1e9 })
    for (let i = 0; i < 100; i++) assert.equal(q.push(i), true)
    for (let i = 0; i < 50; i++) assert.equal(q.shift(), i)
    for (let i = 100; i < 300; i++) q.push(i)
    assert.deepEqual([...q], Array.from({ length: 250 }, (_, i) => i + 50))
    assert.equal(q.length, 250)
    assert.equal(q.peek(), 50)
  })

  it('drop-newest refuses what does not fit the item cap or the byte budget, and counts it', () => {
    const dropped: string[] = []
    const q = new BoundedQueue<string>({ maxItems: 3, maxBytes: 10, sizeOf: (s) => s.length, onDrop: (s, why) => dropped.push(`${s}:${why}`) })
    assert.equal(q.push('aaaa'), true)
    assert.equal(q.push('bbbb'), true)
    assert.equal(q.push('ccc'), false) // 11 bytes > 10
    assert.equal(q.push('cc'), true)
    assert.equal(q.push('d'), false) // 3 items
    assert.equal(q.push('x'.repeat(11)), false) // bigger than the whole budget
    assert.deepEqual([...q], ['aaaa', 'bbbb', 'cc'])
    assert.deepEqual(dropped, ['ccc:full', 'd:full', `${'x'.repeat(11)}:too-big`])
    const s = q.stats()
    assert.equal(s.dropped, 3)
    assert.equal(s.droppedBytes, 3 + 1 + 11)
    assert.equal(s.bytes, 10)
    assert.equal(s.highWaterItems, 3)
  })

  it('drop-oldest evicts from the head until the new item fits', () => {
    const q = new BoundedQueue<string>({ maxItems: 10, maxBytes: 6, sizeOf: (s) => s.length, policy: 'drop-oldest' })
    q.push('aa')
    q.push('bb')
    q.push('cc')
    assert.equal(q.push('dddd'), true)
    assert.deepEqual([...q], ['cc', 'dddd'])
    assert.equal(q.stats().dropped, 2)
    assert.equal(q.stats().dequeued, 0)
  })

  it('reject throws KAD_ERR_QUEUE_FULL', () => {
    const q = new BoundedQueue<number>({ maxItems: 1, maxBytes: 100, policy: 'reject', name: 'q1' })
    q.push(1)
    assert.throws(() => q.push(2), (e: unknown) => isKadError(e, 'KAD_ERR_QUEUE_FULL') && /q1/.test((e as Error).message))
    assert.equal(q.stats().dropped, 1)
  })

  it('clear counts what it discards; clearStats keeps contents', () => {
    const q = new BoundedQueue<number>({ maxItems: 5, maxBytes: 5 })
    q.push(1)
    q.push(2)
    q.clearStats()
    assert.equal(q.stats().enqueued, 0)
    assert.equal(q.clear(), 2)
    assert.equal(q.length, 0)
    assert.equal(q.bytes, 0)
    assert.equal(q.stats().dropped, 2)
  })

  it('rejects nonsense limits', () => {
    assert.throws(() => new BoundedQueue({ maxItems: 0, maxBytes: 1 }), RangeError)
    assert.throws(() => new BoundedQueue({ maxItems: 1, maxBytes: 0 }), RangeError)
  })

  it('matches a model under random operations and never exceeds its budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom<'drop-newest' | 'drop-oldest'>('drop-newest', 'drop-oldest'),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constant(-1)), { maxLength: 300 }),
        (maxItems, maxBytes, policy, ops) => {
          const q = new BoundedQueue<number>({ maxItems, maxBytes, sizeOf: (n) => n, policy })
          const model: number[] = []
          let dropped = 0
          for (const op of ops) {
            if (op < 0) {
              assert.equal(q.shift(), model.shift())
              continue
            }
            const sum = () => model.reduce((a, b) => a + b, 0)
            if (op > maxBytes) {
              dropped++
              assert.equal(q.push(op), false)
            } else if (model.length < maxItems && sum() + op <= maxBytes) {
              model.push(op)
              assert.equal(q.push(op), true)
            } else if (policy === 'drop-newest') {
              dropped++
              assert.equal(q.push(op), false)
            } else {
              while (model.length > 0 && (model.length >= maxItems || sum() + op > maxBytes)) {
                model.shift()
                dropped++
              }
              model.push(op)
              assert.equal(q.push(op), true)
            }
            assert.ok(q.length <= maxItems && q.bytes <= maxBytes)
          }
          assert.deepEqual([...q], model)
          assert.equal(q.stats().dropped, dropped)
        },
      ),
      { numRuns: 300 },
    )
  })
})
