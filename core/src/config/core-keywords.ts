/**
 * The keywords the core itself owns: the `global_defs` block (which plugins extend with their own keywords) with
 * the process-wide globals, and the top-level globals (net_namespace, instance, use_pid_dir, child_wait_time …).
 * Everything lands in the `core` section (`getCoreSection(model)`), validated by CORE_SCHEMA.
 *
 * Keywords of VRRP, the checkers, SMTP, SNMP, DBus, LVS and the FIFOs are registered by their plugins.
 */
import * as os from 'node:os'
import type { ConfigModel, KeywordContext, RootTarget } from './types.js'
import type { KeywordTree } from './keyword-tree.js'

export interface CoreScriptSpec {
  command: string
  user?: string
  group?: string
}

export interface ProcessTuning {
  /** nice value, -20..19 (`vrrp_priority` …) */
  nice?: number
  /** SCHED_RR priority 1..99 (`vrrp_rt_priority` …) */
  rtPriority?: number
  /** RLIMIT_RTTIME in microseconds (`vrrp_rlimit_rttime` …) */
  rlimitRttime?: number
  noSwap: boolean
  cpuAffinity?: number[]
}

export interface CoreSection {
  routerId?: string
  scriptUser?: { user: string; group?: string; setSupplementaryGroups?: boolean }
  enableScriptSecurity: boolean
  useSymlinkPaths: boolean
  startupScript?: CoreScriptSpec
  /** seconds */
  startupScriptTimeout: number
  shutdownScript?: CoreScriptSpec
  shutdownScriptTimeout: number
  umask?: number
  randomSeed?: number
  stateDumpFile?: string
  statsDumpFile?: string
  jsonDumpFile?: string
  jsonVersion: 1 | 2
  dataUseInstance: boolean
  processNames: { parent?: string; vrrp?: string; checker?: string; bfd?: string }
  vrrp: ProcessTuning
  checker: ProcessTuning
  bfd: ProcessTuning
  /** -1 disables; undefined = not set (0 in keepalived) */
  maxAutoPriority?: number
  /** microseconds */
  minAutoPriorityDelay?: number
  tmpConfigDirectory?: string
  configSaveDir?: string
  /** log file for the pre-reload config check; '/dev/null' when given without a file */
  reloadCheckConfig?: string
  reloadTimeFile?: string
  reloadRepeat: boolean
  /** '' = keepalived's default location (keepalived.reload in the pid directory) */
  reloadFile?: string
  netNamespace?: string
  /** '' = the default namespace */
  netNamespaceIpvs?: string
  namespaceWithIpsets: boolean
  instance?: string
  usePidDir: boolean
  /** seconds */
  childWaitTime: number
}

export const CORE_SECTION = 'core'

export function defaultCoreSection(): CoreSection {
  return {
    enableScriptSecurity: false,
    useSymlinkPaths: false,
    startupScriptTimeout: 10,
    shutdownScriptTimeout: 10,
    jsonVersion: 1,
    dataUseInstance: false,
    processNames: {},
    vrrp: { noSwap: false },
    checker: { noSwap: false },
    bfd: { noSwap: false },
    reloadRepeat: false,
    namespaceWithIpsets: false,
    usePidDir: false,
    childWaitTime: 5,
  }
}

/** The core section of a parsed model (defaults when absent). */
export function getCoreSection(model: ConfigModel): Readonly<CoreSection> {
  return (model.sections[CORE_SECTION] as CoreSection | undefined) ?? defaultCoreSection()
}

const str = { type: 'string' }
const tuning = {
  type: 'object',
  additionalProperties: false,
  required: ['noSwap'],
  properties: {
    nice: { type: 'integer', minimum: -20, maximum: 19 },
    rtPriority: { type: 'integer', minimum: 1, maximum: 99 },
    rlimitRttime: { type: 'integer', minimum: 1, maximum: 4294967295 },
    noSwap: { type: 'boolean' },
    cpuAffinity: { type: 'array', items: { type: 'integer', minimum: 0 } },
  },
}
const script = {
  type: 'object',
  additionalProperties: false,
  required: ['command'],
  properties: { command: str, user: str, group: str },
}

export const CORE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['enableScriptSecurity', 'startupScriptTimeout', 'shutdownScriptTimeout', 'jsonVersion', 'childWaitTime', 'vrrp', 'checker', 'bfd'],
  properties: {
    routerId: str,
    scriptUser: {
      type: 'object',
      additionalProperties: false,
      required: ['user'],
      properties: { user: str, group: str, setSupplementaryGroups: { type: 'boolean' } },
    },
    enableScriptSecurity: { type: 'boolean' },
    useSymlinkPaths: { type: 'boolean' },
    startupScript: script,
    startupScriptTimeout: { type: 'integer', minimum: 1, maximum: 1000 },
    shutdownScript: script,
    shutdownScriptTimeout: { type: 'integer', minimum: 1, maximum: 1000 },
    umask: { type: 'integer', minimum: 0, maximum: 0o777 },
    randomSeed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    stateDumpFile: str,
    statsDumpFile: str,
    jsonDumpFile: str,
    jsonVersion: { enum: [1, 2] },
    dataUseInstance: { type: 'boolean' },
    processNames: {
      type: 'object',
      additionalProperties: false,
      properties: { parent: str, vrrp: str, checker: str, bfd: str },
    },
    vrrp: tuning,
    checker: tuning,
    bfd: tuning,
    maxAutoPriority: { type: 'integer', minimum: -1, maximum: 99 },
    minAutoPriorityDelay: { type: 'integer', minimum: 1, maximum: 10000000 },
    tmpConfigDirectory: str,
    configSaveDir: str,
    reloadCheckConfig: str,
    reloadTimeFile: str,
    reloadRepeat: { type: 'boolean' },
    reloadFile: str,
    netNamespace: str,
    netNamespaceIpvs: str,
    namespaceWithIpsets: { type: 'boolean' },
    instance: str,
    usePidDir: { type: 'boolean' },
    childWaitTime: { type: 'integer', minimum: 0 },
  },
} as const

const TASK_COMM_LEN = 16
const UMASK_BITS: Record<string, number> = {
  IRUSR: 0o400,
  IWUSR: 0o200,
  IXUSR: 0o100,
  IRGRP: 0o040,
  IWGRP: 0o020,
  IXGRP: 0o010,
  IROTH: 0o004,
  IWOTH: 0o002,
  IXOTH: 0o001,
}

function core(k: KeywordContext): CoreSection {
  return k.section(CORE_SECTION, defaultCoreSection)
}

function processName(k: KeywordContext, set: (name: string) => void): void {
  const name = k.string(0)
  if (name === undefined) return
  if (name.length >= TASK_COMM_LEN) {
    k.error(`Process name ${name} more than ${TASK_COMM_LEN - 1} characters, truncating`)
    set(name.slice(0, TASK_COMM_LEN - 1))
  } else set(name)
}

function readUmask(k: KeywordContext): number | undefined {
  const first = k.args[0]
  if (first === undefined) {
    k.string(0)
    return undefined
  }
  if (/^[0-9]/.test(first)) {
    if (k.args.length !== 1) {
      k.error('Extra parameter(s) to umask option')
      return undefined
    }
    const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(first)
    const v = m ? (first.startsWith('0x') || first.startsWith('0X') ? parseInt(first.slice(2), 16) : first.length > 1 && first[0] === '0' ? parseInt(first, 8) : parseInt(first, 10)) : NaN
    if (!Number.isInteger(v) || v < 0 || (v & ~0o777) !== 0) {
      k.error(`invalid umask value ${first}`)
      return undefined
    }
    return v
  }
  let bits = 0
  const text = k.args.join('')
  const parts = text.split('|')
  for (const p of parts) {
    if (p === '') {
      k.error(p === parts[parts.length - 1] ? 'umask missing bit value' : `Invalid umask syntax ${text}`)
      return undefined
    }
    const b = UMASK_BITS[p]
    if (b === undefined) {
      k.error(`Unknown umask bit ${p}`)
      return undefined
    }
    bits |= b
  }
  return bits
}

function tuningKeywords(b: import('./types.js').BlockBuilder<CoreSection>, proc: 'vrrp' | 'checker' | 'bfd'): void {
  b.keyword(`${proc}_priority`, (k) => {
    const v = k.integer(0, { min: -20, max: 19 })
    if (v !== undefined) core(k)[proc].nice = v
  })
  b.keyword(`${proc}_no_swap`, (k) => {
    core(k)[proc].noSwap = true
  })
  b.keyword(`${proc}_rt_priority`, (k) => {
    const v = k.integer(0, { min: 1, max: 99 })
    if (v !== undefined) core(k)[proc].rtPriority = v
  })
  b.keyword(
    `${proc}_rlimit_rttime`,
    (k) => {
      const v = k.unsigned(0, { min: 1, max: 4294967295 })
      if (v !== undefined) core(k)[proc].rlimitRttime = v === 1 ? 2 : v
    },
    { deprecatedAliases: [`${proc}_rlimit_rtime`] },
  )
  b.keyword(`${proc}_cpu_affinity`, (k) => {
    if (k.args.length === 0) {
      k.string(0, 'cpu id')
      return
    }
    const cpus = os.cpus().length || 1
    const set: number[] = []
    for (let i = 0; i < k.args.length; i++) {
      const v = k.integer(i, { min: 0, max: cpus - 1 })
      if (v === undefined) return
      if (!set.includes(v)) set.push(v)
    }
    core(k)[proc].cpuAffinity = set
  })
}

function scriptKeyword(k: KeywordContext, which: 'startupScript' | 'shutdownScript'): void {
  const c = core(k)
  const type = which === 'startupScript' ? 'startup' : 'shutdown'
  if (c[which]) {
    k.error(`${type} script already specified`)
    return
  }
  const command = k.string(0, 'script')
  if (command === undefined) return
  const s: CoreScriptSpec = { command }
  if (k.args[1] !== undefined) s.user = k.args[1]
  if (k.args[2] !== undefined) s.group = k.args[2]
  c[which] = s
}

/** Register the core's keywords (and the `core` section's defaults and schema) in a tree. */
export function registerCoreKeywords(tree: KeywordTree): void {
  const reg = tree.forPlugin('core')
  tree.ensureSection(CORE_SECTION, defaultCoreSection)
  reg.schema(CORE_SECTION, CORE_SCHEMA)

  const root = reg.root
  root.block<CoreSection>('global_defs', {
    open: (k: KeywordContext, _parent: RootTarget) => core(k),
    children: (b) => {
      b.keyword('router_id', (k, c) => {
        const v = k.string(0, 'router id')
        if (v !== undefined) c.routerId = v
      })
      b.keyword('script_user', (k, c) => {
        const user = k.string(0, 'user name')
        if (user === undefined) return
        const su: NonNullable<CoreSection['scriptUser']> = { user }
        const g = k.args[1]
        if (g !== undefined) {
          if (g.startsWith(':')) {
            su.setSupplementaryGroups = true
            if (g.length > 1) su.group = g.slice(1)
          } else su.group = g
        }
        c.scriptUser = su
      })
      b.keyword('enable_script_security', (_k, c) => {
        c.enableScriptSecurity = true
      })
      b.keyword('use_symlink_paths', (k, c) => {
        const v = k.bool(0)
        if (v !== undefined) c.useSymlinkPaths = v
      })
      b.keyword('startup_script', (k) => scriptKeyword(k, 'startupScript'))
      b.keyword('shutdown_script', (k) => scriptKeyword(k, 'shutdownScript'))
      b.keyword('startup_script_timeout', (k, c) => {
        const v = k.unsigned(0, { min: 1, max: 1000 })
        if (v !== undefined) c.startupScriptTimeout = v
      })
      b.keyword('shutdown_script_timeout', (k, c) => {
        const v = k.unsigned(0, { min: 1, max: 1000 })
        if (v !== undefined) c.shutdownScriptTimeout = v
      })
      b.keyword('umask', (k, c) => {
        const v = readUmask(k)
        if (v !== undefined) c.umask = v
      })
      b.keyword('random_seed', (k, c) => {
        const v = k.unsigned(0)
        if (v !== undefined) c.randomSeed = v
      })
      for (const [kw, field] of [
        ['state_dump_file', 'stateDumpFile'],
        ['stats_dump_file', 'statsDumpFile'],
        ['json_dump_file', 'jsonDumpFile'],
        ['tmp_config_directory', 'tmpConfigDirectory'],
        ['config_save_dir', 'configSaveDir'],
      ] as const) {
        b.keyword(kw, (k, c) => {
          const v = k.string(0, 'path')
          if (v === undefined) return
          if (kw === 'tmp_config_directory' && c.tmpConfigDirectory !== undefined) {
            k.error(`${kw} already specified - ignoring`)
            return
          }
          c[field] = kw === 'config_save_dir' && v.length > 1 && v.endsWith('/') ? v.slice(0, -1) : v
        })
      }
      b.keyword('json_version', (k, c) => {
        const v = k.unsigned(0, { min: 1, max: 2 })
        if (v !== undefined) c.jsonVersion = v as 1 | 2
      })
      b.keyword('data_use_instance', (k, c) => {
        const v = k.bool(0)
        if (v !== undefined) c.dataUseInstance = v
      })
      b.keyword('process_names', (_k, c) => {
        c.processNames.vrrp ??= 'keepalived_vrrp'
        c.processNames.checker ??= 'keepalived_ipvs'
        c.processNames.bfd ??= 'keepalived_bfd'
      })
      b.keyword('process_name', (k, c) => processName(k, (n) => (c.processNames.parent = n)))
      b.keyword('vrrp_process_name', (k, c) => processName(k, (n) => (c.processNames.vrrp = n)))
      b.keyword('checker_process_name', (k, c) => processName(k, (n) => (c.processNames.checker = n)), { deprecatedAliases: ['lvs_process_name'] })
      b.keyword('bfd_process_name', (k, c) => processName(k, (n) => (c.processNames.bfd = n)))
      tuningKeywords(b, 'vrrp')
      tuningKeywords(b, 'checker')
      tuningKeywords(b, 'bfd')
      b.keyword('max_auto_priority', (k, c) => {
        if (k.args.length === 0) {
          c.maxAutoPriority = 99
          return
        }
        const v = k.integer(0, { min: -1, max: 99 })
        if (v !== undefined) c.maxAutoPriority = v
      })
      b.keyword('min_auto_priority_delay', (k, c) => {
        const v = k.integer(0, { min: 1, max: 10000000 })
        if (v !== undefined) c.minAutoPriorityDelay = v
      })
      b.keyword('reload_check_config', (k, c) => {
        c.reloadCheckConfig = k.args[0] ?? '/dev/null'
      })
      b.keyword('reload_time_file', (k, c) => {
        if (k.args.length !== 1) {
          if (k.args.length === 0) k.string(0, 'file')
          else k.error('reload_time_file invalid: exactly one file name expected')
          return
        }
        c.reloadTimeFile = k.args[0]
      })
      b.keyword('reload_repeat', (_k, c) => {
        c.reloadRepeat = true
      })
      b.keyword('reload_file', (k, c) => {
        c.reloadFile = k.args[0] ?? ''
      })
      // applied by the preprocessor (it changes how later includes are checked); accepted here so it is known
      b.keyword('include_check', () => {})
    },
  })

  root.keyword('net_namespace', (k) => {
    const c = core(k)
    const v = k.string(0, 'namespace name')
    if (v === undefined) return
    if (c.netNamespace !== undefined) {
      k.error(`Duplicate net_namespace definition ${v} - ignoring`)
      return
    }
    c.netNamespace = v
    c.usePidDir = true
  })
  root.keyword('net_namespace_ipvs', (k) => {
    const c = core(k)
    if (c.netNamespaceIpvs !== undefined) {
      k.error(`Duplicate net_namespace_ipvs definition ${k.args[0] ?? ''} - ignoring`)
      return
    }
    c.netNamespaceIpvs = k.args[0] ?? ''
  })
  root.keyword('namespace_with_ipsets', (k) => {
    core(k).namespaceWithIpsets = true
  })
  root.keyword('instance', (k) => {
    const c = core(k)
    const v = k.string(0, 'instance name')
    if (v === undefined) return
    if (c.instance !== undefined) {
      k.error(`Duplicate instance definition ${v} - ignoring`)
      return
    }
    c.instance = v
    c.usePidDir = true
  })
  root.keyword('use_pid_dir', (k) => {
    core(k).usePidDir = true
  })
  root.keyword('child_wait_time', (k) => {
    const v = k.unsigned(0)
    if (v !== undefined) core(k).childWaitTime = v
  })
}
