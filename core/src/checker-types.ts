/**
 * The checker contract. The check framework (plugins/checkers) owns scheduling — delay_loop, retry,
 * delay_before_retry, warmup, the hard deadline, spreading checks over the interval, de-duplicating identical
 * checks — and a checker plugin implements only one attempt, created through `hooks.createChecker.for(TYPE)`.
 */
import type { Logger } from './log.js'
import type { Scheduler } from './scheduler/scheduler.js'
import type { Clock } from './scheduler/clock.js'
import type { ScriptRunner } from './script-runner.js'

export interface CheckTarget {
  readonly family: 4 | 6
  /** connect_ip or the real server's address */
  readonly address: string
  /** connect_port or the real server's port (0 when none) */
  readonly port: number
  readonly bindTo?: string
  readonly bindPort?: number
  readonly bindIf?: string
  readonly fwmark?: number
}

export interface CheckTiming {
  /** seconds */
  readonly delayLoop: number
  readonly connectTimeout: number
  readonly retry: number
  readonly delayBeforeRetry: number
  readonly warmup: number
}

export interface CheckerSpec {
  /** 'TCP_CHECK', 'HTTP_GET', … */
  readonly type: string
  /** the checker block's own parsed options (JSON) */
  readonly options: Readonly<Record<string, unknown>>
  readonly target: CheckTarget
  readonly timing: CheckTiming
  /** '[192.0.2.10]:80' of the real server, for logs */
  readonly realServer: string
}

export interface CheckerDeps {
  readonly log: Logger
  readonly scheduler: Scheduler
  readonly clock: Clock
  readonly scriptRunner: ScriptRunner
}

export type CheckOutcome =
  | { readonly ok: true; /** dynamic weight (MISC_CHECK misc_dynamic, FILE_CHECK) */ readonly weight?: number }
  | { readonly ok: false; readonly reason: string }

export interface Checker {
  readonly type: string
  /** one attempt; must settle promptly when `signal` aborts (the framework's hard deadline) */
  check(signal: AbortSignal): Promise<CheckOutcome>
  /** true when `spec` would check the same thing the same way (keeps state across reload, dedups) */
  compare(spec: CheckerSpec): boolean
  /** a key equal for checks that are the same thing done the same way (dedup across virtual servers) */
  key(): string
  /** push-driven checkers (FILE_CHECK, BFD_CHECK) call `push` on every change; returns an unsubscribe */
  subscribe?(push: (o: CheckOutcome) => void): () => void
  dump(): Record<string, unknown>
  /** release sockets, watchers */
  stop?(): void
}

export interface CheckerResult {
  readonly realServer: string
  readonly virtualServer: string
  readonly type: string
  readonly up: boolean
  readonly weight?: number
  readonly reason?: string
}
