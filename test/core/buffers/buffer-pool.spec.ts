import { strict as assert } from 'node:assert'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { BufferPool, isKadError, type BufferLeak } from '@kad/core'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

describe('BufferPool', () => {
  it('hands out distinct fixed-size buffers from one slab, up to capacity', () => {
    const p = new BufferPool({ bufferSize: 1500, capacity: 4, name: 'rx' })
    const bufs = [p.acquire(), p.acquire(), p.acquire(), p.acquire()]
    assert.ok(bufs.every((b) => b.length === 1500 && b.buffer === bufs[0].buffer))
    assert.equal(new Set(bufs.map((b) => b.byteOffset)).size, 4)
    assert.equal(p.tryAcquire(), undefined)
    assert.throws(() => p.acquire(), (e: unknown) => isKadError(e, 'KAD_ERR_BUFFER_EXHAUSTED') && /rx/.test((e as Error).message))
    assert.equal(p.stats().exhausted, 2)
    assert.equal(p.stats().inUse, 4)
    p.release(bufs[2])
    assert.equal(p.acquire().byteOffset, bufs[2].byteOffset)
    assert.equal(p.stats().highWater, 4)
  })

  it('refuses a double release and a foreign buffer', () => {
    const p = new BufferPool({ bufferSize: 64, capacity: 2 })
    const b = p.acquire()
    p.release(b)
    assert.throws(() => p.release(b), (e: unknown) => isKadError(e, 'KAD_ERR_BUFFER_RELEASE') && /twice/.test((e as Error).message))
    assert.throws(() => p.release(Buffer.alloc(64)), (e: unknown) => isKadError(e, 'KAD_ERR_BUFFER_RELEASE'))
    const other = new BufferPool({ bufferSize: 64, capacity: 2 })
    assert.throws(() => p.release(other.acquire()), (e: unknown) => isKadError(e, 'KAD_ERR_BUFFER_RELEASE'))
  })

  it('steady-state acquire/release allocates no new buffers (non-debug views are reused)', () => {
    const p = new BufferPool({ bufferSize: 128, capacity: 8 })
    const a = p.acquire()
    p.release(a)
    assert.equal(p.acquire(), a)
  })

  it('debug mode lists outstanding buffers with their acquire stack and poisons released ones', () => {
    let t = 0
    const p = new BufferPool({ bufferSize: 16, capacity: 4, debug: true, now: () => t })
    const a = p.acquire()
    const b = p.acquire()
    a.fill(1)
    p.release(a)
    assert.ok(a.every((x) => x === 0xdb))
    t = 500
    const leaks = p.leaks(100)
    assert.equal(leaks.length, 1)
    assert.equal(leaks[0].kind, 'outstanding')
    assert.equal(leaks[0].ageMs, 500)
    assert.match(leaks[0].stack ?? '', /buffer-pool\.spec/)
    p.release(b)
    assert.deepEqual(p.leaks(), [])
  })

  it('debug mode reports a buffer garbage-collected without release, and recovers its slot', async () => {
    const found: BufferLeak[] = []
    const p = new BufferPool({ bufferSize: 16, capacity: 2, debug: true, onLeak: (l) => found.push(l) })
    const leakOne = () => {
      p.acquire() // dropped on the floor
    }
    leakOne()
    for (let i = 0; i < 20 && found.length === 0; i++) {
      gc()
      await new Promise((r) => setTimeout(r, 10))
    }
    assert.equal(found.length, 1)
    assert.equal(found[0].kind, 'collected')
    assert.match(found[0].stack ?? '', /leakOne|buffer-pool\.spec/)
    assert.equal(p.stats().leaked, 1)
    assert.equal(p.inUse, 0)
  })
})
