import { KadError } from '../errors.js'

/**
 * What a full queue does with one more item:
 * - `drop-newest`: refuse the new item (the queue keeps what it has; `push` returns false)
 * - `drop-oldest`: evict items from the head until the new one fits (latest data wins)
 * - `reject`: like drop-newest, but `push` throws KAD_ERR_QUEUE_FULL (for callers that must know)
 * Every refused or evicted item is counted in `stats().dropped` / `droppedBytes` and reported to `onDrop`.
 */
export type DropPolicy = 'drop-newest' | 'drop-oldest' | 'reject'

export interface BoundedQueueOptions<T> {
  /** most items held at once (>= 1) */
  readonly maxItems: number
  /** most bytes held at once, as measured by `sizeOf` (>= 1) */
  readonly maxBytes: number
  /** the byte cost of one item; default 1 per item (then maxBytes is a second item cap) */
  readonly sizeOf?: (item: T) => number
  /** default 'drop-newest' */
  readonly policy?: DropPolicy
  /** called for every dropped item (refused or evicted), synchronously */
  readonly onDrop?: (item: T, why: 'full' | 'too-big' | 'evicted') => void
  /** a name for errors and stats */
  readonly name?: string
}

export interface BoundedQueueStats {
  readonly name: string
  readonly length: number
  readonly bytes: number
  readonly maxItems: number
  readonly maxBytes: number
  /** items accepted since creation (or the last clearStats) */
  readonly enqueued: number
  readonly dequeued: number
  /** items refused or evicted */
  readonly dropped: number
  readonly droppedBytes: number
  /** most items held at once */
  readonly highWaterItems: number
  readonly highWaterBytes: number
}

/**
 * A FIFO with an item cap and a byte budget. push/shift are O(1) (a ring buffer that grows by doubling up to
 * maxItems, so an idle queue costs little memory). Never blocks and never grows past its budget: what does not
 * fit is dropped by the policy and counted.
 */
export class BoundedQueue<T> implements Iterable<T> {
  readonly name: string
  readonly maxItems: number
  readonly maxBytes: number
  readonly policy: DropPolicy
  private readonly sizeOf: (item: T) => number
  private readonly onDrop?: (item: T, why: 'full' | 'too-big' | 'evicted') => void
  private ring: (T | undefined)[]
  private sizes: number[]
  private head = 0
  private count = 0
  private byteCount = 0
  private counters = { enqueued: 0, dequeued: 0, dropped: 0, droppedBytes: 0, highWaterItems: 0, highWaterBytes: 0 }

  constructor(opts: BoundedQueueOptions<T>) {
    if (!Number.isInteger(opts.maxItems) || opts.maxItems < 1) throw new RangeError(`maxItems must be an integer >= 1, got ${opts.maxItems}`)
    if (!(opts.maxBytes >= 1)) throw new RangeError(`maxBytes must be >= 1, got ${opts.maxBytes}`)
    this.name = opts.name ?? 'queue'
    this.maxItems = opts.maxItems
    this.maxBytes = opts.maxBytes
    this.policy = opts.policy ?? 'drop-newest'
    this.sizeOf = opts.sizeOf ?? (() => 1)
    this.onDrop = opts.onDrop
    // a power of two, so indices wrap with a mask; grows on demand up to the first power of two >= maxItems
    this.ring = new Array(16)
    this.sizes = new Array(16)
  }

  get length(): number {
    return this.count
  }
  get bytes(): number {
    return this.byteCount
  }
  get isEmpty(): boolean {
    return this.count === 0
  }

  /** add at the tail; false if the item was dropped (drop-newest, or too big for the whole budget) */
  push(item: T): boolean {
    const size = Math.max(0, this.sizeOf(item))
    if (size > this.maxBytes) return this.refuse(item, size, 'too-big')
    if (this.count >= this.maxItems || this.byteCount + size > this.maxBytes) {
      if (this.policy !== 'drop-oldest') return this.refuse(item, size, 'full')
      while (this.count > 0 && (this.count >= this.maxItems || this.byteCount + size > this.maxBytes)) this.evictHead()
    }
    if (this.count === this.ring.length) this.grow()
    const idx = (this.head + this.count) & (this.ring.length - 1)
    this.ring[idx] = item
    this.sizes[idx] = size
    this.count++
    this.byteCount += size
    this.counters.enqueued++
    if (this.count > this.counters.highWaterItems) this.counters.highWaterItems = this.count
    if (this.byteCount > this.counters.highWaterBytes) this.counters.highWaterBytes = this.byteCount
    return true
  }

  /** would an item of this byte size be accepted without dropping anything? */
  fits(size: number): boolean {
    return this.count < this.maxItems && this.byteCount + size <= this.maxBytes
  }

  /** remove and return the head */
  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.ring[this.head] as T
    this.byteCount -= this.sizes[this.head]
    this.ring[this.head] = undefined
    this.head = (this.head + 1) & (this.ring.length - 1)
    this.count--
    this.counters.dequeued++
    return item
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.ring[this.head]
  }

  /** drop everything held (counted as dropped) */
  clear(): number {
    const n = this.count
    while (this.count > 0) this.evictHead()
    return n
  }

  stats(): BoundedQueueStats {
    return { name: this.name, length: this.count, bytes: this.byteCount, maxItems: this.maxItems, maxBytes: this.maxBytes, ...this.counters }
  }

  /** zero the counters (SIGUSR2 clear); length and bytes stay */
  clearStats(): void {
    this.counters = { enqueued: 0, dequeued: 0, dropped: 0, droppedBytes: 0, highWaterItems: this.count, highWaterBytes: this.byteCount }
  }

  *[Symbol.iterator](): Iterator<T> {
    const mask = this.ring.length - 1
    for (let i = 0; i < this.count; i++) yield this.ring[(this.head + i) & mask] as T
  }

  /** drop the head, counted as dropped (not dequeued) */
  private evictHead(): void {
    const sz = this.sizes[this.head]
    const item = this.shift() as T
    this.counters.dequeued--
    this.counters.dropped++
    this.counters.droppedBytes += sz
    this.onDrop?.(item, 'evicted')
  }

  private refuse(item: T, size: number, why: 'full' | 'too-big'): false {
    this.counters.dropped++
    this.counters.droppedBytes += size
    this.onDrop?.(item, why)
    if (this.policy === 'reject') {
      throw new KadError('KAD_ERR_QUEUE_FULL', `${this.name}: ${why === 'too-big' ? `an item of ${size} bytes exceeds the budget of ${this.maxBytes}` : `full (${this.count} items, ${this.byteCount} bytes)`}`, {
        details: { queue: this.name, size, length: this.count, bytes: this.byteCount },
      })
    }
    return false
  }

  /** double the ring (its length stays a power of two so indices wrap with a mask) */
  private grow(): void {
    const len = this.ring.length
    const next = len * 2
    const ring: (T | undefined)[] = new Array(next)
    const sizes: number[] = new Array(next)
    for (let i = 0; i < this.count; i++) {
      const j = (this.head + i) & (len - 1)
      ring[i] = this.ring[j]
      sizes[i] = this.sizes[j]
    }
    this.ring = ring
    this.sizes = sizes
    this.head = 0
  }
}
