/**
 * A fixed-memory log-linear histogram of durations in microseconds (HDR-style: 2 significant bits per power of
 * two, 0 us .. ~1 h). Used for event-loop lag and timer lateness in the dumps and the benchmarks.
 */
const SUB = 8 // sub-buckets per power of two
const POWERS = 32

export class Histogram {
  private readonly counts = new Float64Array(POWERS * SUB)
  private n = 0
  private maxV = 0
  private sum = 0

  record(us: number): void {
    const v = us < 0 ? 0 : us
    this.counts[Histogram.bucket(v)]++
    this.n++
    this.sum += v
    if (v > this.maxV) this.maxV = v
  }

  private static bucket(v: number): number {
    if (v < SUB) return Math.floor(v)
    const p = Math.floor(Math.log2(v))
    const base = 2 ** p
    const sub = Math.floor(((v - base) / base) * SUB)
    const idx = (p - 2) * SUB + sub
    return Math.min(idx, POWERS * SUB - 1)
  }

  private static lower(idx: number): number {
    if (idx < SUB) return idx
    const p = Math.floor(idx / SUB) + 2
    const sub = idx % SUB
    const base = 2 ** p
    return base + (sub * base) / SUB
  }

  get count(): number {
    return this.n
  }
  get max(): number {
    return this.maxV
  }
  get mean(): number {
    return this.n === 0 ? 0 : this.sum / this.n
  }

  /** value at quantile q (0..1), the upper edge of the bucket it falls in, capped at max */
  quantile(q: number): number {
    if (this.n === 0) return 0
    const target = Math.ceil(q * this.n)
    let acc = 0
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]
      if (acc >= target) return Math.min(Histogram.lower(i + 1), this.maxV)
    }
    return this.maxV
  }

  reset(): void {
    this.counts.fill(0)
    this.n = 0
    this.maxV = 0
    this.sum = 0
  }

  summary(): { count: number; p50: number; p90: number; p99: number; max: number; mean: number } {
    return { count: this.n, p50: this.quantile(0.5), p90: this.quantile(0.9), p99: this.quantile(0.99), max: this.maxV, mean: this.mean }
  }
}
