/**
 * NftLbBackend: keeps the `inet kad` table converged to the latest DesiredTopology, one nft transaction per change.
 * Changes that arrive during a run are coalesced; a failed transaction changes nothing (nft batches are atomic),
 * is logged, and retried with backoff as a whole-table replacement.
 */
import { execFile } from 'node:child_process'
import type { DesiredTopology, Logger } from '@kad/core'
import { Converger } from '@kad/plugin-ipvs'
import { buildBatch, deleteTableBatch, planNft, TABLE, type NftPlan } from './ruleset.js'

/** Runs an nft text batch (`nft -f -`); rejects with nft's message. */
export type NftRunner = (batch: string) => Promise<void>
/** Runs `nft -j <args>` and returns stdout. */
export type NftReader = (args: readonly string[]) => Promise<string>

export function nftRunner(opts: { netns?: string; nft?: string } = {}): { run: NftRunner; read: NftReader } {
  const cmd = (args: string[]): [string, string[]] => (opts.netns ? ['ip', ['netns', 'exec', opts.netns, opts.nft ?? 'nft', ...args]] : [opts.nft ?? 'nft', args])
  const exec = (args: string[], input?: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const [file, argv] = cmd(args)
      const child = execFile(file, argv, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error((stderr || err.message).trim()))
        else resolve(stdout)
      })
      if (input !== undefined) child.stdin?.end(input)
    })
  return { run: async (batch) => { await exec(['-f', '-'], batch) }, read: (args) => exec(['-j', ...args]) }
}

export interface NftBackendOptions {
  readonly run: NftRunner
  readonly log: Logger
  readonly table?: string
  readonly minBackoffMs?: number
  readonly maxBackoffMs?: number
}

export class NftLbBackend {
  private applied: NftPlan | undefined
  private readonly converger: Converger<DesiredTopology>
  readonly stats = { applies: 0, failures: 0, lastApplyMs: 0 }
  /** the last batch sent (for dumps and tests) */
  lastBatch = ''

  constructor(private readonly opts: NftBackendOptions) {
    this.converger = new Converger((t) => this.converge(t), opts)
  }

  get table(): string {
    return this.opts.table ?? TABLE
  }

  apply(t: DesiredTopology): Promise<void> {
    return this.converger.apply(t)
  }

  private async converge(t: DesiredTopology): Promise<boolean> {
    const started = performance.now()
    const plan = planNft(t, (id, reason) => this.opts.log.limited(`nft-skip-${id}`, 'warn', `lb-nftables: ${id} not programmed: ${reason}`))
    const batch = buildBatch(this.applied, plan, this.table)
    this.lastBatch = batch
    let ok = true
    try {
      await this.opts.run(batch)
      this.applied = plan
    } catch (e) {
      ok = false
      this.stats.failures++
      this.applied = undefined // next attempt replaces the whole table
      this.opts.log.limited('nft-apply', 'error', `lb-nftables: nft transaction failed: ${(e as Error).message}; will retry`)
    }
    this.stats.applies++
    this.stats.lastApplyMs = performance.now() - started
    return ok
  }

  /** Removes the table unless `release` is false (-I). */
  async stop(release: boolean): Promise<void> {
    await this.converger.stop()
    if (!release) return
    try {
      await this.opts.run(deleteTableBatch(this.table))
    } catch (e) {
      this.opts.log.error(`lb-nftables: cannot delete table inet ${this.table}: ${(e as Error).message}`)
    }
    this.applied = undefined
  }
}
