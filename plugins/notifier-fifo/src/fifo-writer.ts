import { execFileSync } from 'node:child_process'
import { chownSync, closeSync, constants as fsc, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs'
import { BoundedQueue, lookupUser, type Clock, type Logger } from '@kad/core'

export interface FifoWriterOptions {
  readonly path: string
  /** owner of a FIFO kad creates */
  readonly user?: string
  readonly group?: string
  /** lines waiting while the pipe is full; beyond this they are dropped and counted */
  readonly maxItems: number
  readonly maxBytes: number
  /** how soon to try again after the pipe was full (ms); doubles up to retryMaxMs */
  readonly retryMs: number
  readonly retryMaxMs: number
}

export interface FifoStats {
  path: string
  open: boolean
  written: number
  dropped: number
  queued: number
  /** writes that found the pipe full */
  full: number
  errors: number
}

/** a write of at most PIPE_BUF bytes to a pipe is atomic: whole lines, never interleaved with another writer */
const PIPE_BUF = 4096

/**
 * One notify FIFO. kad creates it (mode 0644, like keepalived) unless it exists, and opens it the way keepalived
 * does: O_RDWR | O_NONBLOCK | O_NOFOLLOW. Read-write means the open never waits for a reader (O_WRONLY would
 * block, or fail with ENXIO when non-blocking) and a reader that goes away never causes EPIPE/SIGPIPE; lines
 * written before a reader comes wait in the pipe (64 KiB on Linux). Non-blocking means a full pipe answers
 * EAGAIN at once: the lines then wait in a bounded queue retried on a timer, and what does not fit there is
 * dropped and counted. So a missing or slow reader never stalls kad.
 */
export class FifoWriter {
  private fd: number | undefined
  private created = false
  private closing = false
  private readonly queue: BoundedQueue<string>
  private retryTimer: unknown
  private retryDelay: number
  private readonly counters = { written: 0, dropped: 0, full: 0, errors: 0 }

  constructor(
    private readonly opts: FifoWriterOptions,
    private readonly deps: { log: Logger; clock: Clock },
  ) {
    this.retryDelay = opts.retryMs
    this.queue = new BoundedQueue<string>({
      name: `fifo ${opts.path}`,
      maxItems: opts.maxItems,
      maxBytes: opts.maxBytes,
      sizeOf: (l) => l.length,
      policy: 'drop-newest',
      onDrop: () => {
        if (this.closing) return // close() discards what is left
        this.counters.dropped++
        this.deps.log.limited(`fifo:drop:${opts.path}`, 'warn', `notify fifo ${opts.path}: reader too slow or absent, dropping lines`, { dropped: this.counters.dropped })
      },
    })
  }

  get path(): string {
    return this.opts.path
  }
  get isOpen(): boolean {
    return this.fd !== undefined
  }

  /** create (if missing) and open; false (logged) when that is not possible */
  open(): boolean {
    if (this.fd !== undefined) return true
    const path = this.opts.path
    try {
      const st = lstatSync(path, { throwIfNoEntry: false })
      if (!st) {
        // node has no mkfifo(2); mkfifo(1) from coreutils does exactly that
        execFileSync('mkfifo', ['-m', '0644', '--', path], { stdio: 'ignore' })
        this.created = true
        this.chown()
      } else if (!st.isFIFO()) {
        this.deps.log.error(`notify fifo ${path} exists and is not a FIFO - not using it`)
        return false
      }
      this.fd = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK | fsc.O_NOFOLLOW)
      return true
    } catch (e) {
      this.deps.log.error(`unable to open notify fifo ${path}: ${(e as Error).message}`)
      if (this.created) this.unlink()
      return false
    }
  }

  /** queue a line and write what the pipe takes now; never blocks */
  write(line: string): void {
    if (this.fd === undefined) return
    if (!this.queue.push(line)) return
    if (this.retryTimer === undefined) this.flush()
  }

  stats(): FifoStats {
    return { path: this.opts.path, open: this.fd !== undefined, queued: this.queue.length, ...this.counters }
  }

  clearStats(): void {
    Object.assign(this.counters, { written: 0, dropped: 0, full: 0, errors: 0 })
  }

  /** unlink first (a reader that loops re-opening cannot re-open it), then close; queued lines are dropped */
  close(): void {
    this.closing = true
    if (this.retryTimer !== undefined) this.deps.clock.clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    if (this.created) this.unlink()
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd)
      } catch {
        /* already closed */
      }
      this.fd = undefined
    }
    this.queue.clear()
    this.closing = false
  }

  private flush(): void {
    while (this.fd !== undefined && !this.queue.isEmpty) {
      // batch whole lines up to PIPE_BUF bytes: one atomic write
      let batch = ''
      let n = 0
      for (const l of this.queue) {
        if (n > 0 && batch.length + l.length > PIPE_BUF) break
        batch += l
        n++
      }
      let ok = true
      try {
        writeSync(this.fd, batch)
      } catch (e) {
        ok = false
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          this.counters.full++
          this.retryTimer = this.deps.clock.setTimeout(() => {
            this.retryTimer = undefined
            this.flush()
          }, this.retryDelay)
          this.retryDelay = Math.min(this.opts.retryMaxMs, this.retryDelay * 2)
          return
        }
        this.counters.errors++
        this.deps.log.limited(`fifo:err:${this.opts.path}`, 'error', `notify fifo ${this.opts.path}: write failed: ${(e as Error).message}`)
        // a line that cannot be written now will not be later: drop the batch
      }
      for (let i = 0; i < n; i++) this.queue.shift()
      if (ok) this.counters.written += n
      else this.counters.dropped += n
      this.retryDelay = this.opts.retryMs
    }
  }

  private chown(): void {
    if (this.opts.user === undefined) return
    const id = lookupUser(this.opts.user, this.opts.group)
    if (!id) {
      this.deps.log.warn(`notify fifo ${this.opts.path}: user ${this.opts.user}${this.opts.group ? ':' + this.opts.group : ''} does not exist`)
      return
    }
    try {
      chownSync(this.opts.path, id.uid, id.gid)
    } catch (e) {
      this.deps.log.warn(`failed to set uid:gid for fifo ${this.opts.path}: ${(e as Error).message}`)
    }
  }

  private unlink(): void {
    try {
      unlinkSync(this.opts.path)
    } catch {
      /* gone */
    }
    this.created = false
  }
}
