import { KadError } from '../errors.js'

export interface BufferPoolOptions {
  /** bytes per buffer (e.g. the interface MTU plus headers) */
  readonly bufferSize: number
  /** number of buffers; the pool never allocates more */
  readonly capacity: number
  readonly name?: string
  /**
   * Debug mode: remember where each buffer was acquired (a stack), poison released buffers with 0xDB so a
   * use-after-release shows, and report buffers that were garbage-collected without a release (a leak) through
   * `onLeak` (default: a warning on the console). `leaks()` lists what is still out at any time.
   */
  readonly debug?: boolean
  readonly onLeak?: (leak: BufferLeak) => void
  /** time source for `ageMs` in leak reports (default performance.now) */
  readonly now?: () => number
}

export interface BufferLeak {
  readonly pool: string
  readonly index: number
  /** ms since acquire */
  readonly ageMs: number
  /** acquire site (debug mode only) */
  readonly stack?: string
  /** 'collected': the view was garbage-collected while still acquired; 'outstanding': still acquired now */
  readonly kind: 'collected' | 'outstanding'
}

export interface BufferPoolStats {
  readonly name: string
  readonly bufferSize: number
  readonly capacity: number
  readonly inUse: number
  readonly highWater: number
  readonly acquired: number
  readonly released: number
  /** acquire attempts that found no free buffer */
  readonly exhausted: number
  /** garbage-collected without release (debug mode) */
  readonly leaked: number
}

const POISON = 0xdb

/**
 * A fixed-capacity pool of equal-size buffers for packet I/O, cut from one slab allocated at construction, so
 * steady-state packet handling allocates no buffer memory and a burst cannot grow the heap. acquire/release are
 * O(1) (a free-index stack); a release is checked (wrong pool, double release) and fails with
 * KAD_ERR_BUFFER_RELEASE; an empty pool fails acquire() with KAD_ERR_BUFFER_EXHAUSTED (tryAcquire returns
 * undefined and counts it).
 */
export class BufferPool {
  readonly name: string
  readonly bufferSize: number
  readonly capacity: number
  readonly debug: boolean
  private readonly slab: ArrayBuffer
  private readonly free: Uint32Array
  private freeTop: number
  private readonly out: Uint8Array
  /** views handed out, per index (non-debug: one reusable view per slot) */
  private readonly views: (Buffer | undefined)[]
  private readonly acquiredAt: Float64Array
  private readonly stacks: (string | undefined)[]
  private readonly gen: Uint32Array
  private readonly registry?: FinalizationRegistry<{ index: number; gen: number }>
  private readonly onLeak: (leak: BufferLeak) => void
  private readonly now: () => number
  private counters = { highWater: 0, acquired: 0, released: 0, exhausted: 0, leaked: 0 }

  constructor(opts: BufferPoolOptions) {
    if (!Number.isInteger(opts.bufferSize) || opts.bufferSize < 1) throw new RangeError(`bufferSize must be an integer >= 1, got ${opts.bufferSize}`)
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1) throw new RangeError(`capacity must be an integer >= 1, got ${opts.capacity}`)
    this.name = opts.name ?? 'pool'
    this.bufferSize = opts.bufferSize
    this.capacity = opts.capacity
    this.debug = opts.debug ?? false
    this.now = opts.now ?? (() => performance.now())
    this.onLeak = opts.onLeak ?? ((l) => console.warn(`buffer pool ${l.pool}: buffer #${l.index} leaked (${l.kind}, ${Math.round(l.ageMs)} ms)${l.stack ? '\n' + l.stack : ''}`))
    this.slab = new ArrayBuffer(opts.bufferSize * opts.capacity)
    this.free = new Uint32Array(opts.capacity)
    for (let i = 0; i < opts.capacity; i++) this.free[i] = opts.capacity - 1 - i
    this.freeTop = opts.capacity
    this.out = new Uint8Array(opts.capacity)
    this.views = new Array(opts.capacity)
    this.acquiredAt = new Float64Array(opts.capacity)
    this.stacks = new Array(opts.capacity)
    this.gen = new Uint32Array(opts.capacity)
    if (!this.debug) {
      for (let i = 0; i < opts.capacity; i++) this.views[i] = Buffer.from(this.slab, i * opts.bufferSize, opts.bufferSize)
    } else {
      this.registry = new FinalizationRegistry(({ index, gen }) => {
        // the view died; a leak only if that very acquisition is still outstanding
        if (this.out[index] === 1 && this.gen[index] === gen) {
          this.counters.leaked++
          this.onLeak({ pool: this.name, index, ageMs: this.now() - this.acquiredAt[index], stack: this.stacks[index], kind: 'collected' })
          // give the slot back: nobody can reach it any more
          this.out[index] = 0
          this.stacks[index] = undefined
          this.free[this.freeTop++] = index
        }
      })
    }
  }

  get inUse(): number {
    return this.capacity - this.freeTop
  }
  get available(): number {
    return this.freeTop
  }

  /** a free buffer (its full bufferSize; contents are whatever the last user left) or undefined when exhausted */
  tryAcquire(): Buffer | undefined {
    if (this.freeTop === 0) {
      this.counters.exhausted++
      return undefined
    }
    const index = this.free[--this.freeTop]
    this.out[index] = 1
    this.acquiredAt[index] = this.now()
    this.counters.acquired++
    const used = this.capacity - this.freeTop
    if (used > this.counters.highWater) this.counters.highWater = used
    if (!this.debug) return this.views[index] as Buffer
    this.gen[index]++
    this.stacks[index] = new Error('acquired here').stack
    // a fresh view per acquisition, so its collection tells us it was dropped without a release
    const view = Buffer.from(this.slab, index * this.bufferSize, this.bufferSize)
    this.registry!.register(view, { index, gen: this.gen[index] }, view)
    this.views[index] = undefined
    return view
  }

  /** a free buffer, or KAD_ERR_BUFFER_EXHAUSTED */
  acquire(): Buffer {
    const b = this.tryAcquire()
    if (!b) throw new KadError('KAD_ERR_BUFFER_EXHAUSTED', `buffer pool ${this.name}: all ${this.capacity} buffers are in use`, { details: { pool: this.name, capacity: this.capacity } })
    return b
  }

  /** give a buffer back (the view acquire returned, or any view over the same slot start) */
  release(buf: Buffer): void {
    const index = this.indexOf(buf)
    if (index === undefined) throw new KadError('KAD_ERR_BUFFER_RELEASE', `buffer pool ${this.name}: a buffer that is not from this pool was released`, { details: { pool: this.name } })
    if (this.out[index] !== 1) throw new KadError('KAD_ERR_BUFFER_RELEASE', `buffer pool ${this.name}: buffer #${index} was released twice`, { details: { pool: this.name, index } })
    this.out[index] = 0
    this.counters.released++
    if (this.debug) {
      this.registry!.unregister(buf)
      this.stacks[index] = undefined
      buf.fill(POISON)
    }
    this.free[this.freeTop++] = index
  }

  /** buffers acquired and not released (with acquire stacks in debug mode), optionally only those older than `minAgeMs` */
  leaks(minAgeMs = 0): BufferLeak[] {
    const now = this.now()
    const res: BufferLeak[] = []
    for (let i = 0; i < this.capacity; i++) {
      if (this.out[i] === 1 && now - this.acquiredAt[i] >= minAgeMs) res.push({ pool: this.name, index: i, ageMs: now - this.acquiredAt[i], stack: this.stacks[i], kind: 'outstanding' })
    }
    return res
  }

  stats(): BufferPoolStats {
    return { name: this.name, bufferSize: this.bufferSize, capacity: this.capacity, inUse: this.inUse, ...this.counters }
  }

  clearStats(): void {
    this.counters = { highWater: this.inUse, acquired: 0, released: 0, exhausted: 0, leaked: 0 }
  }

  private indexOf(buf: Buffer): number | undefined {
    if (buf.buffer !== this.slab) return undefined
    const off = buf.byteOffset
    if (off % this.bufferSize !== 0) return undefined
    const index = off / this.bufferSize
    return index >= 0 && index < this.capacity ? index : undefined
  }
}
