import { rmSync, writeFileSync } from 'node:fs'
import type { ConfigModel } from '../config/types.js'
import type { ProcessRole } from '../plugin/contract.js'
import type { DaemonOptions } from '../options.js'

/** keepalived's realtime signal numbers on x86-64 (SIGRTMIN+2, SIGRTMAX-1) */
export const SIGFUNC_JSON = 36
export const SIGFUNC_STATS_CLEAR = 63

/** true if a section has any content worth a process (a non-empty array or object anywhere inside) */
function hasContent(v: unknown, depth = 0): boolean {
  if (depth > 3 || v === null || v === undefined) return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).some((x) => hasContent(x, depth + 1))
  return false
}

/** the sections that make keepalived start each child */
const ROLE_SECTIONS: Record<Exclude<ProcessRole, 'parent'>, readonly string[]> = {
  vrrp: ['vrrp'],
  check: ['checkers'],
  bfd: ['bfd'],
}

/** which children to run: keepalived starts a child only if its part of the config is non-empty (or --all) */
export function rolesToRun(model: ConfigModel, o: DaemonOptions): Exclude<ProcessRole, 'parent'>[] {
  const out: Exclude<ProcessRole, 'parent'>[] = []
  for (const role of ['vrrp', 'check', 'bfd'] as const) {
    if (o.vrrpOnly && role === 'check') continue
    if (o.checkOnly && role === 'vrrp') continue
    if (o.noBfd && role === 'bfd') continue
    if (o.all || ROLE_SECTIONS[role].some((s) => hasContent(model.sections[s]))) out.push(role)
  }
  return out
}

export function pidFileOf(role: ProcessRole, o: DaemonOptions): string {
  switch (role) {
    case 'parent':
      return o.pidFile
    case 'vrrp':
      return o.vrrpPidFile
    case 'check':
      return o.checkersPidFile
    case 'bfd':
      return o.bfdPidFile
  }
}

/**
 * Write a dump file readable by root only, as keepalived's (its umask 0177): keepalived.json carries the VRRP
 * authentication keys. The file is created afresh (exclusively, mode 0600): one left with a wider mode, or made
 * beforehand in /tmp by another user, is removed first, so the keys are never written into it.
 */
export function writeDumpFile(path: string, text: string): void {
  rmSync(path, { force: true })
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' })
}

/**
 * keepalived's dump files per role, in $TMPDIR or /tmp. JSON: `keepalived.json` is keepalived's own file (the
 * vrrp child's instances, as keepalived writes them); `keepalived_<role>.json` (kad's) holds every plugin's JSON of
 * that process, the checkers' and BFD's included, which keepalived has no JSON for.
 */
export function dumpFileOf(role: ProcessRole, kind: 'data' | 'stats' | 'json' | 'kad-json'): string {
  const dir = process.env.TMPDIR || '/tmp'
  if (kind === 'stats') return `${dir}/keepalived.stats`
  if (kind === 'json') return `${dir}/keepalived.json`
  if (kind === 'kad-json') return `${dir}/keepalived_${role}.json`
  const name = { parent: 'keepalived_parent.data', vrrp: 'keepalived.data', check: 'keepalived_check.data', bfd: 'keepalived_bfd.data' }[role]
  return `${dir}/${name}`
}
