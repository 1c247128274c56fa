import type { ConfigModel } from './config/types.js'

/** The few global_defs facts the host itself needs, read from the `core` section whatever its exact field names. */
export interface CoreFacts {
  enableScriptSecurity?: boolean
  scriptUser?: { user: string; group?: string }
  routerId?: string
  childWaitTime?: number
  stateDumpFile?: string
  statsDumpFile?: string
  jsonDumpFile?: string
}

export function coreSection(model: ConfigModel | undefined): CoreFacts {
  const c = (model?.sections?.core ?? {}) as Record<string, any>
  const pick = (...keys: string[]) => {
    for (const k of keys) if (c[k] !== undefined) return c[k]
    return undefined
  }
  const su = pick('scriptUser', 'script_user')
  return {
    enableScriptSecurity: pick('enableScriptSecurity', 'enable_script_security') === true,
    scriptUser: typeof su === 'string' ? { user: su } : su && typeof su === 'object' ? { user: su.user, group: su.group } : undefined,
    routerId: pick('routerId', 'router_id'),
    childWaitTime: pick('childWaitTime', 'child_wait_time'),
    stateDumpFile: pick('stateDumpFile', 'state_dump_file'),
    statsDumpFile: pick('statsDumpFile', 'stats_dump_file'),
    jsonDumpFile: pick('jsonDumpFile', 'json_dump_file'),
  }
}
