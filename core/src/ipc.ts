import type { ProcessRole } from './plugin/contract.js'
import type { ConfigModel } from './config/types.js'
import type { DaemonOptions } from './options.js'

/** Messages between the parent and its children (Node's IPC channel, JSON). */
export type ParentToChild =
  | { t: 'start'; model: ConfigModel; options: DaemonOptions }
  | { t: 'reload'; model: ConfigModel }
  | { t: 'stop' }
  | { t: 'dump'; kind: 'data' | 'stats' | 'stats-clear' | 'json' }
  | { t: 'event'; channel: string; payload: unknown; from: ProcessRole }
  /** the parent's supervision service asks for the JSON snapshot (answered with `answer`, same id) */
  | { t: 'query'; id: number }

export type ChildToParent =
  | { t: 'ready' }
  | { t: 'started' }
  | { t: 'reloaded'; ok: boolean; error?: string }
  | { t: 'stopped' }
  | { t: 'event'; channel: string; payload: unknown; to?: ProcessRole[] }
  | { t: 'fatal'; error: string }
  | { t: 'answer'; id: number; json: Record<string, unknown>; loop: { lagP99Us: number; lagMaxUs: number; latenessP99Us: number } }

export function isChildToParent(m: unknown): m is ChildToParent {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string'
}
export function isParentToChild(m: unknown): m is ParentToChild {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string'
}

/**
 * Events between processes. In a child, `publish` goes to the parent, which forwards it to the other children
 * (or those in `to`); receivers see it on `hooks.remoteEvent.for(channel)`. In a single-process test host it is
 * delivered locally.
 */
export interface Ipc {
  publish(channel: string, payload: unknown, to?: ProcessRole[]): void
}
