import { createRequire } from 'node:module'
import type * as Tapable from 'tapable'
import type { ConfigModel, DiagnosticSink } from '../config/types.js'
import type { Checker, CheckerDeps, CheckerResult, CheckerSpec } from '../checker-types.js'
import type { DesiredTopology } from '../topology.js'
import type { Notification } from '../notifications-types.js'
import type { ProcessRole } from '../plugin/contract.js'

// the five hook classes kad uses, each from its own file: tapable's index requires all twelve (~4 ms of a start)
const require = createRequire(import.meta.url)
const AsyncParallelHook = require('tapable/lib/AsyncParallelHook.js') as typeof Tapable.AsyncParallelHook
const AsyncSeriesHook = require('tapable/lib/AsyncSeriesHook.js') as typeof Tapable.AsyncSeriesHook
const HookMap = require('tapable/lib/HookMap.js') as typeof Tapable.HookMap
const SyncBailHook = require('tapable/lib/SyncBailHook.js') as typeof Tapable.SyncBailHook
const SyncHook = require('tapable/lib/SyncHook.js') as typeof Tapable.SyncHook

export type ShutdownReason = 'signal' | 'fatal' | 'reload-removed' | 'test'

/** one node's configuration for `kad config cluster` (hooks.clusterCheck) */
export interface ClusterNode {
  file: string
  model: ConfigModel
}

/** What dump taps write into (SIGUSR1 data, SIGUSR2 stats, JSON). */
export interface DumpWriter {
  /** a titled text section (keepalived.data style) */
  section(title: string, lines: readonly string[]): void
  /** a JSON object under `key` (keepalived.json style) */
  json(key: string, value: unknown): void
}

/**
 * The host's hooks: the only extension points. Documented in docs/hooks.md (class, arguments, who calls, when).
 */
export function createHostHooks() {
  return Object.freeze({
    /** cross-section checks after the parse, in every process that parses (parent, -t) */
    validateConfig: new SyncHook<[model: ConfigModel, sink: DiagnosticSink]>(['model', 'sink']),
    /** `kad config cluster`: the configurations of several nodes, each parsed and valid alone, checked together */
    clusterCheck: new AsyncSeriesHook<[nodes: readonly ClusterNode[], sink: DiagnosticSink]>(['nodes', 'sink']),
    /** before start: open nothing yet, prepare */
    beforeStart: new AsyncSeriesHook<[model: ConfigModel]>(['model']),
    /** open sockets, arm timers */
    start: new AsyncSeriesHook<[model: ConfigModel]>(['model']),
    /** a validated new config; keep the state of what did not change */
    reload: new AsyncSeriesHook<[next: ConfigModel, prev: ConfigModel]>(['next', 'prev']),
    /** stop: dependants' taps run before their dependencies' (stage order reversed by the host) */
    shutdown: new AsyncSeriesHook<[reason: ShutdownReason]>(['reason']),
    /** checker factories by type: hooks.createChecker.for('TCP_CHECK').tap(NAME, (spec, deps) => checker) */
    createChecker: new HookMap(() => new SyncBailHook<[spec: CheckerSpec, deps: CheckerDeps], Checker | undefined>(['spec', 'deps'])),
    /** every check verdict that changed a real server's state */
    checkerResult: new SyncHook<[result: CheckerResult]>(['result']),
    /** the checkers' desired load-balancer topology changed; backends converge the kernel to it */
    topologyChanged: new AsyncSeriesHook<[topology: DesiredTopology]>(['topology']),
    /** a notification to deliver; called in order per source by the notifications service */
    notify: new AsyncParallelHook<[notification: Notification]>(['notification']),
    /** SIGUSR1: data dump */
    dumpData: new SyncHook<[writer: DumpWriter]>(['writer']),
    /** SIGUSR2 / STATS_CLEAR: statistics; `clear` zeroes counters after writing */
    dumpStats: new SyncHook<[writer: DumpWriter, clear: boolean]>(['writer', 'clear']),
    /** JSON signal */
    dumpJson: new SyncHook<[writer: DumpWriter]>(['writer']),
    /** events published by another process (through the parent): hooks.remoteEvent.for('bfd.session') */
    remoteEvent: new HookMap(() => new SyncHook<[payload: unknown, from: ProcessRole]>(['payload', 'from'])),
  })
}

export type HostHooks = ReturnType<typeof createHostHooks>
