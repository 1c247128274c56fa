/**
 * node:child_process, loaded on first use: `kad -t`, `kad --version` and the plugin listing never start a process,
 * and compiling the module cost ~5 ms of each of their runs. Synchronous (a require), so that a process starts in
 * the same tick as it would with a static import (tests drive the script runner with fake timers).
 */
import { createRequire } from 'node:module'

let cached: typeof import('node:child_process') | undefined

export function childProcess(): typeof import('node:child_process') {
  cached ??= createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process')
  return cached
}
