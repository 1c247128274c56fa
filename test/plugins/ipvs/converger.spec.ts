import { strict as assert } from 'node:assert'
import sinon from 'sinon'
import { Converger } from '../../../plugins/ipvs/src/converger.js'

describe('Converger', () => {
  let clock: sinon.SinonFakeTimers
  beforeEach(() => { clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }) })
  afterEach(() => clock.restore())

  it('coalesces values that arrive during a run', async () => {
    const seen: number[] = []
    const c = new Converger<number>(async (v) => { seen.push(v); await Promise.resolve(); return true })
    await Promise.all([1, 2, 3, 4].map((v) => c.apply(v)))
    assert.deepEqual(seen, [1, 4])
  })

  it('retries a failed value with doubling backoff, and a retry uses the newest value', async () => {
    const seen: number[] = []
    let failures = 2
    const c = new Converger<number>(async (v) => { seen.push(v); return failures-- <= 0 }, { minBackoffMs: 100, maxBackoffMs: 1000 })
    await c.apply(1)
    await clock.tickAsync(100)
    assert.deepEqual(seen, [1, 1])
    await clock.tickAsync(199)
    assert.deepEqual(seen, [1, 1], 'second retry after 200 ms')
    await clock.tickAsync(1)
    assert.deepEqual(seen, [1, 1, 1])
    failures = 1
    await c.apply(2)
    await c.apply(3)
    await clock.tickAsync(100)
    assert.deepEqual(seen, [1, 1, 1, 2, 3], 'the retry of 2 was superseded by 3, which succeeded')
    await clock.tickAsync(5000)
    assert.deepEqual(seen, [1, 1, 1, 2, 3])
    await c.stop()
  })
})
