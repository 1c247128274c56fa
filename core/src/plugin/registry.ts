import { createRequire } from 'node:module'
import type satisfiesFn from 'semver/functions/satisfies.js'
import { KadError } from '../errors.js'
import { HOST_API_VERSION } from '../version.js'
import type { Plugin } from './contract.js'

const require = createRequire(import.meta.url)
let satisfies: typeof satisfiesFn | undefined

/**
 * Whether this host's API version is in a plugin's range. The range `^` + this very version, which every built-in
 * plugin declares, holds by definition; any other range goes to semver (only its range check, required on first
 * use: loading and compiling semver's range parser is about 14 ms of a start).
 */
function hostInRange(range: string): boolean {
  if (range === '^' + HOST_API_VERSION) return true
  satisfies ??= require('semver/functions/satisfies.js') as typeof satisfiesFn
  return satisfies(HOST_API_VERSION, range)
}

export interface PluginRecord {
  readonly plugin: Plugin<any>
  /** package it came from, if any */
  readonly packageName?: string
  readonly source: 'built-in' | 'inline' | string
  readonly options?: unknown
}

/**
 * Orders plugins so that dependencies register first, and checks each in fastify's order: unique name, host API
 * range, dependencies present, provided keys free. Every failure is a KadError naming the plugin.
 */
export function orderPlugins(records: readonly PluginRecord[]): PluginRecord[] {
  const byName = new Map<string, PluginRecord>()
  for (const r of records) {
    const m = r.plugin?.meta
    if (!m || typeof m.name !== 'string' || typeof r.plugin.register !== 'function') {
      throw new KadError('KAD_ERR_PLUGIN_INVALID', `${r.packageName ?? 'a plugin'} does not export a plugin made with definePlugin({ meta, register })`, { details: { package: r.packageName } })
    }
    if (byName.has(m.name)) {
      throw new KadError('KAD_ERR_PLUGIN_DUPLICATE', `plugin ${m.name} is registered twice (${byName.get(m.name)!.source} and ${r.source})`, { details: { plugin: m.name } })
    }
    if (typeof m.host !== 'string' || !hostInRange(m.host)) {
      throw new KadError('KAD_ERR_PLUGIN_HOST_RANGE', `plugin ${m.name} needs host API ${m.host}, this host is ${HOST_API_VERSION}`, { details: { plugin: m.name, range: m.host } })
    }
    byName.set(m.name, r)
  }
  const out: PluginRecord[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (r: PluginRecord, chain: string[]) => {
    const name = r.plugin.meta.name
    if (state.get(name) === 'done') return
    if (state.get(name) === 'visiting') {
      throw new KadError('KAD_ERR_PLUGIN_DEPENDENCY', `plugin ${name} has a dependency cycle: ${[...chain, name].join(' -> ')}`, { details: { plugin: name } })
    }
    state.set(name, 'visiting')
    for (const d of r.plugin.meta.dependencies ?? []) {
      const dep = byName.get(d)
      if (!dep) throw new KadError('KAD_ERR_PLUGIN_DEPENDENCY', `plugin ${name} depends on ${d}, which is not installed`, { details: { plugin: name, dependency: d } })
      visit(dep, [...chain, name])
    }
    state.set(name, 'done')
    out.push(r)
  }
  // plain code-unit order: for kebab-case names the same order as localeCompare gave, without the ICU collator
  // that localeCompare initialises on its first call (about 11 ms of every start), and independent of the locale
  for (const r of [...records].sort((a, b) => (a.plugin.meta.name < b.plugin.meta.name ? -1 : a.plugin.meta.name > b.plugin.meta.name ? 1 : 0))) visit(r, [])
  return out
}
