/**
 * The keywords of `virtual_server`, `virtual_server_group`, `real_server`, `SSL` and the common keywords of
 * every checker block, with keepalived 2.2.7's validation messages.
 */
import type { BlockBuilder, BlockSpec, Checker, CheckerSpec, ForwardingMethod, KeywordContext, KeywordRegistrar, PluginContext, RootTarget, TunnelSpec } from '@kad/core'
import { socketPlace, type SocketPlace, type SocketPluginOptions } from './socket-options.js'
import { isIP } from 'node:net'
import {
  SECTION,
  emptySection,
  fmtVirtualServer,
  type CheckerBlockModel,
  type CheckersSection,
  type RealServerModel,
  type ScriptModel,
  type TimingOverrides,
  type VirtualServerModel,
  type VsGroupEntry,
  type VsGroupModel,
} from './model.js'
import { CHECKERS_SCHEMA } from './schema.js'

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'sh', 'mh', 'dh', 'fo', 'ovf', 'lblcr', 'sed', 'nq', 'twos'] as const
const METHODS = ['NAT', 'DR', 'TUN'] as const
const SCHED_FLAGS = ['ops', 'flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback', 'hashed'] as const
const MAX_WEIGHT = 2147483647

function locOf(k: KeywordContext): string {
  return `${k.loc.file}:${k.loc.line}`
}

function section(k: KeywordContext): CheckersSection {
  return k.section<CheckersSection>(SECTION, emptySection)
}

/** `IP`, `IP PORT`; returns undefined (with keepalived's message) when invalid */
function readServer(k: KeywordContext, what: 'real' | 'sorry'): { family: 4 | 6; address: string; port: number } | undefined {
  const args = k.args
  const ip = args[0]
  const portStr = args[1]
  const fam = ip ? isIP(ip) : 0
  const port = portStr === undefined ? 0 : DIGITS.test(portStr) ? Number(portStr) : NaN
  if (!fam || !(port >= 0 && port <= 65535)) {
    k.error(`Invalid ${what} server ip address/port ${ip ?? ''}/${portStr ?? ''} - skipping`)
    return undefined
  }
  return { family: fam as 4 | 6, address: fam === 6 ? canonical6(ip) : ip, port }
}

/** module constants: a regex literal in a handler is a new RegExp object at every line it parses */
const DIGITS = /^\d+$/
const INTEGER = /^-?\d+$/

function canonical(ip: string): string {
  return isIP(ip) === 6 ? canonical6(ip) : ip
}

/** RFC 5952 text of an IPv6 address */
function canonical6(ip: string): string {
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
  } catch {
    return ip
  }
}

/** `SCRIPT [USER[:GROUP]]` */
export function readScript(k: KeywordContext): ScriptModel | undefined {
  const command = k.string(0, 'script')
  if (command === undefined) return undefined
  const s: ScriptModel = { command }
  const who = k.args[1]
  if (who !== undefined) {
    const [user, group] = who.split(':')
    s.user = user
    if (group) s.group = group
    else if (k.args[2] !== undefined) s.group = k.args[2]
  }
  return s
}

/** `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]` */
function readMethod(k: KeywordContext, what: string): { method: ForwardingMethod; tunnel?: TunnelSpec } | undefined {
  const m = k.args[0]
  if (!(METHODS as readonly string[]).includes(m ?? '')) {
    k.error(`PARSER : unknown [${m ?? ''}] routing method for ${what}.`)
    return undefined
  }
  const method = m as ForwardingMethod
  if (method !== 'TUN' || k.args.length < 2) return { method }
  let type: TunnelSpec['type'] = 'ipip'
  let port: number | undefined
  let checksum: TunnelSpec['checksum']
  for (let i = 1; i < k.args.length; i++) {
    const w = k.args[i]
    if (w === 'type') {
      const t = k.args[++i]
      if (t === 'ipip' || t === 'gue' || t === 'gre') type = t
      else k.error(`Unknown tunnel type ${t ?? ''}`)
    } else if (w === 'port') {
      port = k.unsigned(++i, { min: 1, max: 65535 })
    } else if (w === 'nocsum' || w === 'csum' || w === 'remcsum') checksum = w
    else k.error(`Unknown tunnel option ${w}`)
  }
  if (type === 'gue' && port === undefined) k.error('GUE tunnel requires a port')
  const tunnel: TunnelSpec = { type, ...(port !== undefined ? { port } : {}), ...(checksum ? { checksum } : {}) }
  return { method, tunnel }
}

function timingKeywords<T extends TimingOverrides>(b: BlockBuilder<T>): BlockBuilder<T> {
  return b
    .keyword('delay_loop', (k, o) => {
      const v = k.timer(0, { min: 0.000001 })
      if (v !== undefined) o.delayLoop = v
    })
    .keyword('connect_timeout', (k, o) => {
      const v = k.timer(0, { min: 0.000001 })
      if (v !== undefined) o.connectTimeout = v
    })
    .keyword('delay_before_retry', (k, o) => {
      const v = k.timer(0, { min: 0 })
      if (v !== undefined) o.delayBeforeRetry = v
    })
    .keyword('warmup', (k, o) => {
      const v = k.timer(0, { min: 0 })
      if (v !== undefined) o.warmup = v
    })
    .keyword('retry', (k, o) => readRetry(k, o))
    .keyword('nb_get_retry', (k, o) => {
      k.error('nb_get_retry is deprecated, please use retry', 'KAD_CFG_DEPRECATED')
      readRetry(k, o)
    })
}

function readRetry(k: KeywordContext, o: { retry?: number }): void {
  const s = k.string(0)
  if (s === undefined) return
  if (!DIGITS.test(s) || Number(s) > 0xffffffff) {
    k.error(`retry value invalid - ${s}`)
    return
  }
  o.retry = Number(s)
}

/**
 * The keywords every checker block accepts. `connection` adds connect_ip, connect_port, bindto, bind_if,
 * bind_port, fwmark and connect_timeout (not for MISC_CHECK, FILE_CHECK, BFD_CHECK).
 */
export function installCommonCheckerKeywords(b: BlockBuilder<CheckerBlockModel>, connection = true): BlockBuilder<CheckerBlockModel> {
  if (connection) {
    b.keyword('connect_ip', (k, c) => {
      const a = k.address(0)
      if (a) c.common.connectIp = a.address
    })
      .keyword('connect_port', (k, c) => {
        const v = k.unsigned(0, { min: 0, max: 65535 })
        if (v !== undefined) c.common.connectPort = v
      })
      .keyword('bindto', (k, c) => {
        const a = k.address(0)
        if (a) c.common.bindTo = a.address
      })
      .keyword('bind_if', (k, c) => {
        const v = k.string(0, 'interface')
        if (v !== undefined) c.common.bindIf = v
      })
      .keyword('bind_port', (k, c) => {
        const v = k.unsigned(0, { min: 1, max: 65535 })
        if (v !== undefined) c.common.bindPort = v
      })
      .keyword('fwmark', (k, c) => {
        const v = k.unsigned(0, { min: 0, max: 0xffffffff })
        if (v !== undefined) c.common.fwmark = v
      })
      .keyword('connect_timeout', (k, c) => {
        const v = k.timer(0, { min: 0.000001 })
        if (v !== undefined) c.common.connectTimeout = v
      })
  }
  return b
    .keyword('retry', (k, c) => readRetry(k, c.common))
    .keyword('nb_get_retry', (k, c) => {
      k.error('nb_get_retry is deprecated, please use retry', 'KAD_CFG_DEPRECATED')
      readRetry(k, c.common)
    })
    .keyword('delay_before_retry', (k, c) => {
      const v = k.timer(0, { min: 0 })
      if (v !== undefined) c.common.delayBeforeRetry = v
    })
    .keyword('warmup', (k, c) => {
      const v = k.timer(0, { min: 0 })
      if (v !== undefined) c.common.warmup = v
    })
    .keyword('delay_loop', (k, c) => {
      const v = k.timer(0, { min: 0.000001 })
      if (v !== undefined) c.common.delayLoop = v
    })
    .keyword('alpha', (k, c) => {
      const v = k.bool(0)
      if (v !== undefined) c.common.alpha = v
    })
    .keyword('log_all_failures', (k, c) => {
      const v = k.bool(0)
      if (v !== undefined) c.common.logAllFailures = v
    })
}

/**
 * The checker block opened last and its real server. Checker blocks do not nest, so while a block's keywords are
 * parsed it is the last one opened. (A WeakMap entry per block cost more than the rest of the block's parse:
 * ephemeron tables grow and are traced by every GC.)
 */
let lastBlock: CheckerBlockModel | undefined
let lastOwner: RealServerModel | undefined

/** the real server a checker block being parsed belongs to (SMTP_CHECK's `host {}` adds sibling checkers) */
export function realServerOf(block: CheckerBlockModel): RealServerModel | undefined {
  return block === lastBlock ? lastOwner : undefined
}

export interface CheckerBlockOptions {
  /** the type's own keywords */
  children?: (b: BlockBuilder<CheckerBlockModel>) => void
  /** validation at '}' */
  close?: (k: KeywordContext, block: CheckerBlockModel, rs: RealServerModel) => void
  /** install the connection keywords (default true) */
  connection?: boolean
  /** initial options */
  init?: () => Record<string, unknown>
}

/**
 * The block spec a checker plugin installs under `virtual_server/real_server`:
 * `ctx.keywords.extend('virtual_server/real_server', (b) => b.block('TCP_CHECK', checkerBlock('TCP_CHECK')))`.
 */
export function checkerBlock(type: string, o: CheckerBlockOptions = {}): BlockSpec<RealServerModel, CheckerBlockModel> {
  return {
    open: (k, rs) => {
      const block: CheckerBlockModel = { type, common: {}, options: o.init ? o.init() : {}, loc: locOf(k) }
      // a real server that failed to parse still gets an object so the block's keywords have a target. A real
      // server's first checker replaces its empty list: an empty array that is pushed to reserves 17 slots, 128
      // bytes per real server that the model would keep (and every GC would copy or trace)
      if (rs?.checkers) {
        if (rs.checkers.length === 0) rs.checkers = [block]
        else rs.checkers.push(block)
      }
      lastBlock = block
      lastOwner = rs ?? undefined
      return block
    },
    children: (b) => {
      installCommonCheckerKeywords(b, o.connection !== false)
      o.children?.(b)
    },
    ...(o.close ? { close: (k: KeywordContext, block: CheckerBlockModel, rs: RealServerModel) => o.close!(k, block, rs) } : {}),
  }
}

function newRealServer(k: KeywordContext, vs: VirtualServerModel): RealServerModel {
  const s = readServer(k, 'real')
  const rs: RealServerModel = {
    family: s?.family ?? 4,
    address: s?.address ?? '',
    port: s?.port ?? 0,
    weight: vs.weight,
    checkers: [],
    loc: locOf(k),
  }
  if (s) vs.realServers.push(rs)
  return rs
}

function realServerChildren(b: BlockBuilder<RealServerModel>): void {
  timingKeywords(b)
    .keyword('weight', (k, rs) => {
      const s = k.string(0)
      if (s === undefined) return
      const v = Number(s)
      if (!INTEGER.test(s) || v < 0 || v > MAX_WEIGHT) {
        k.error(`Real server weight ${s} is outside range 0-${MAX_WEIGHT}`)
        return
      }
      rs.weight = v
    })
    .keyword('lvs_method', (k, rs) => applyMethod(k, rs, 'real server'), { aliases: ['lb_kind'] })
    .keyword('notify_up', (k, rs) => {
      if (rs.notifyUp) {
        k.error(`notify_up script already specified - ignoring ${k.args[0] ?? ''}`)
        return
      }
      const s = readScript(k)
      if (s) rs.notifyUp = s
    })
    .keyword('notify_down', (k, rs) => {
      if (rs.notifyDown) {
        k.error(`notify_down script already specified - ignoring ${k.args[0] ?? ''}`)
        return
      }
      const s = readScript(k)
      if (s) rs.notifyDown = s
    })
    .keyword('inhibit_on_failure', (k, rs) => {
      const v = k.bool(0)
      if (v !== undefined) rs.inhibitOnFailure = v
    })
    .keyword('alpha', (k, rs) => {
      const v = k.bool(0)
      if (v !== undefined) rs.alpha = v
    })
    .keyword('uthreshold', (k, rs) => {
      const v = k.unsigned(0, { min: 0, max: 0xffffffff })
      if (v !== undefined) rs.uthreshold = v
    })
    .keyword('lthreshold', (k, rs) => {
      const v = k.unsigned(0, { min: 0, max: 0xffffffff })
      if (v !== undefined) rs.lthreshold = v
    })
    .keyword('smtp_alert', (k, rs) => {
      const v = k.bool(0)
      if (v !== undefined) rs.smtpAlert = v
    })
    .keyword('virtualhost', (k, rs) => {
      const v = k.string(0, 'virtualhost')
      if (v !== undefined) rs.virtualhost = v
    })
    .keyword('snmp_name', (k, rs) => {
      const v = k.string(0)
      if (v !== undefined) rs.snmpName = v
    })
}

function applyMethod(k: KeywordContext, o: { method?: ForwardingMethod; tunnel?: TunnelSpec }, what: string): void {
  const m = readMethod(k, what)
  if (!m) return
  o.method = m.method
  if (m.tunnel) o.tunnel = m.tunnel
  else delete o.tunnel
}

function openVirtualServer(k: KeywordContext): VirtualServerModel {
  const vs: VirtualServerModel = {
    kind: 'ip',
    protocol: null,
    scheduler: '',
    schedulerFlags: [],
    method: 'NAT',
    quorum: 1,
    hysteresis: 0,
    inhibitOnFailure: false,
    alpha: false,
    omega: false,
    haSuspend: false,
    weight: 1,
    realServers: [],
    loc: locOf(k),
  }
  const a0 = k.args[0]
  let ok = true
  if (a0 === 'fwmark') {
    vs.kind = 'fwmark'
    const v = k.unsigned(1, { min: 1, max: 0xffffffff })
    if (v === undefined) ok = false
    else vs.fwmark = v
  } else if (a0 === 'group') {
    vs.kind = 'group'
    const g = k.string(1, 'group name')
    if (g === undefined) ok = false
    else vs.group = g
  } else {
    const fam = a0 ? isIP(a0) : 0
    const p = k.args[1]
    if (!fam) {
      k.error(`Invalid virtual server ip address ${a0 ?? ''} - skipping`)
      ok = false
    } else {
      vs.family = fam as 4 | 6
      vs.address = canonical(a0!)
      if (p !== undefined) {
        const port = /^\d+$/.test(p) ? Number(p) : NaN
        if (!(port >= 0 && port <= 65535)) {
          k.error(`Invalid virtual server port ${p} - skipping`)
          ok = false
        } else vs.port = port
      }
    }
  }
  if (ok) section(k).virtualServers.push(vs)
  return vs
}

// keepalived sets method_set / sched_set flags; remember which were given without polluting the JSON model
const givenMethod = new WeakSet<object>()
const givenSched = new WeakSet<object>()

function closeVirtualServer(k: KeywordContext, vs: VirtualServerModel): void {
  const name = fmtVirtualServer(vs)
  if (vs.kind === 'fwmark' && vs.protocol !== null) {
    k.warn(`Warning: Virtual server ${name}: protocol specified for fwmark - protocol will be ignored`)
    vs.protocol = null
  }
  if (vs.protocol === null && vs.kind !== 'fwmark') {
    k.warn(`Virtual server ${name}: no protocol set - defaulting to UDP`)
    vs.protocol = 'UDP'
  }
  if (!givenSched.has(vs)) {
    k.warn(`Virtual server ${fmtVirtualServer(vs)}: no scheduler set, setting default 'wlc'`)
    vs.scheduler = 'wlc'
  }
  if (!givenMethod.has(vs)) {
    k.warn(`Virtual server ${fmtVirtualServer(vs)}: no forwarding method set, setting default NAT`)
  }
  for (const f of vs.schedulerFlags) {
    if ((f.startsWith('sh-') && vs.scheduler !== 'sh') || (f.startsWith('mh-') && vs.scheduler !== 'mh')) {
      k.error(`${f} only applies to ${f.slice(0, 2)} scheduler - ignoring`)
    }
  }
  vs.schedulerFlags = vs.schedulerFlags.filter((f) => !((f.startsWith('sh-') && vs.scheduler !== 'sh') || (f.startsWith('mh-') && vs.scheduler !== 'mh')))
  if (vs.kind === 'ip' && vs.port === undefined && !vs.persistence) {
    k.error(`Virtual server ${name}: no port specified and not persistent`)
  }
  // address families must agree unless the real server is tunnelled
  if (vs.family !== undefined) {
    vs.realServers = vs.realServers.filter((rs) => {
      if ((rs.method ?? vs.method) === 'TUN' || rs.family === vs.family) return true
      k.error(`Address family of virtual server and real server ${rs.address} don't match - skipping real server.`)
      return false
    })
    if (vs.sorryServer && (vs.sorryServer.method ?? vs.method) !== 'TUN' && vs.sorryServer.family !== vs.family) {
      k.error(`Address family of virtual server and sorry server ${vs.sorryServer.address} don't match - skipping sorry server.`)
      delete vs.sorryServer
    }
  } else {
    const fams = new Set(vs.realServers.map((r) => r.family))
    vs.family = fams.size === 1 ? [...fams][0] : (vs.sorryServer?.family ?? 4)
  }
}

function virtualServerChildren(b: BlockBuilder<VirtualServerModel>): void {
  timingKeywords(b)
    .keyword(
      'lvs_sched',
      (k, vs) => {
        const s = k.string(0, 'scheduler')
        if (s === undefined) return
        if (!(SCHEDULERS as readonly string[]).includes(s)) {
          k.error(`Invalid lvs_scheduler '${s}' - ignoring`)
          return
        }
        vs.scheduler = s
        givenSched.add(vs)
      },
      { aliases: ['lb_algo'] },
    )
    .keyword(
      'lvs_method',
      (k, vs) => {
        const m = readMethod(k, 'virtual server')
        if (!m) return
        vs.method = m.method
        if (m.tunnel) vs.tunnel = m.tunnel
        givenMethod.add(vs)
      },
      { aliases: ['lb_kind'] },
    )
    .keyword('protocol', (k, vs) => {
      const s = k.string(0, 'protocol')
      if (s === undefined) return
      const u = s.toUpperCase()
      if (u === 'TCP' || u === 'UDP' || u === 'SCTP') vs.protocol = u
      else k.error(`Unknown protocol ${s} - ignoring`)
    })
    .keyword('persistence_timeout', (k, vs) => {
      if (k.args.length === 0) {
        vs.persistence = { ...(vs.persistence ?? {}), timeout: 360 }
        return
      }
      const s = k.args[0]
      if (!/^\d+$/.test(s) || Number(s) === 0 || Number(s) > 0xffffffff) {
        k.error('persistence_timeout invalid')
        return
      }
      vs.persistence = { ...(vs.persistence ?? {}), timeout: Number(s) }
    })
    .keyword('persistence_granularity', (k, vs) => {
      const s = k.string(0, 'granularity')
      if (s === undefined) return
      if (s.includes('.')) {
        if (isIP(s) !== 4) {
          k.error(`Invalid IPv4 persistence_granularity specified - ${s}`)
          return
        }
        const n = s.split('.').reduce((a, o) => (a << 8) | Number(o), 0) >>> 0
        const inv = ~n >>> 0
        if ((inv & (inv + 1)) !== 0) {
          k.error(`IPv4 persistence_granularity netmask is not solid - ${s}`)
          return
        }
      } else if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 128) {
        k.error(`Invalid IPv6 persistence_granularity specified - ${s}`)
        return
      }
      vs.persistence = { timeout: vs.persistence?.timeout ?? 360, ...(vs.persistence?.engine ? { engine: vs.persistence.engine } : {}), granularity: s }
    })
    .keyword('persistence_engine', (k, vs) => {
      const s = k.string(0, 'engine')
      if (s === undefined) return
      vs.persistence = { timeout: vs.persistence?.timeout ?? 0, ...(vs.persistence?.granularity ? { granularity: vs.persistence.granularity } : {}), engine: s }
    })
    .keyword('quorum', (k, vs) => {
      const v = k.unsigned(0, { min: 1, max: 0xffffffff })
      if (v !== undefined) vs.quorum = v
    })
    .keyword('hysteresis', (k, vs) => {
      const v = k.unsigned(0, { min: 0, max: 0xffffffff })
      if (v !== undefined) vs.hysteresis = v
    })
    .keyword('quorum_up', (k, vs) => {
      const s = readScript(k)
      if (s) vs.quorumUp = s
    })
    .keyword('quorum_down', (k, vs) => {
      const s = readScript(k)
      if (s) vs.quorumDown = s
    })
    .keyword('sorry_server', (k, vs) => {
      const s = readServer(k, 'sorry')
      if (s) vs.sorryServer = { ...s, inhibit: vs.sorryServer?.inhibit ?? false }
    })
    .keyword('sorry_server_inhibit', (k, vs) => {
      if (vs.sorryServer) vs.sorryServer.inhibit = k.bool(0) ?? true
      else k.error('Ignoring sorry_server inhibit used before or without sorry_server')
    })
    .keyword('sorry_server_lvs_method', (k, vs) => {
      if (vs.sorryServer) applyMethod(k, vs.sorryServer, 'sorry server')
      else k.error('sorry_server forwarding used without sorry_server')
    }, { aliases: ['sorry_server_lb_kind'] })
    .keyword('inhibit_on_failure', (k, vs) => {
      vs.inhibitOnFailure = k.bool(0) ?? vs.inhibitOnFailure
    })
    .keyword('alpha', (k, vs) => {
      vs.alpha = k.bool(0) ?? vs.alpha
    })
    .keyword('omega', (k, vs) => {
      vs.omega = k.bool(0) ?? vs.omega
    })
    .keyword('ha_suspend', (k, vs) => {
      vs.haSuspend = k.bool(0) ?? vs.haSuspend
    })
    .keyword('smtp_alert', (k, vs) => {
      const v = k.bool(0)
      if (v === undefined) k.error(`Invalid virtual_server smtp_alert parameter ${k.args[0] ?? ''}`)
      else vs.smtpAlert = v
    })
    .keyword('virtualhost', (k, vs) => {
      const v = k.string(0, 'virtualhost')
      if (v !== undefined) vs.virtualhost = v
    })
    .keyword('snmp_name', (k, vs) => {
      const v = k.string(0)
      if (v !== undefined) vs.snmpName = v
    })
    .keyword('weight', (k, vs) => {
      const v = k.unsigned(0, { min: 0, max: MAX_WEIGHT })
      if (v !== undefined) vs.weight = v
    })
    .keyword('ip_family', (k, vs) => {
      const f = k.string(0, 'family')
      if (f !== 'inet' && f !== 'inet6') {
        k.error(`unknown address family ${f ?? ''}`)
        return
      }
      const fam = f === 'inet' ? 4 : 6
      if (vs.family !== undefined && vs.family !== fam) {
        k.error(`Virtual server specified family ${f} conflicts with server family`)
        return
      }
      vs.family = fam
    })
  for (const flag of SCHED_FLAGS) {
    b.keyword(flag, (k, vs) => {
      if (flag === 'hashed') {
        k.error('hashed is deprecated and ignored', 'KAD_CFG_DEPRECATED')
        return
      }
      if (k.args.length > 0 && k.bool(0) === false) return
      if (!vs.schedulerFlags.includes(flag)) vs.schedulerFlags.push(flag)
    })
  }
  b.block<RealServerModel>('real_server', {
    open: (k, vs) => newRealServer(k, vs),
    children: realServerChildren,
  })
}

/** `a.b.c.d-N`, `2001:db8::1-ff`, `10.0.0.0/30`; returns [first, last] */
export function parseRange(text: string): { family: 4 | 6; first: string; last: string } | undefined {
  const slash = text.indexOf('/')
  if (slash > 0) {
    const ip = text.slice(0, slash)
    const len = Number(text.slice(slash + 1))
    const fam = isIP(ip)
    if (fam !== 4 || !Number.isInteger(len) || len < 0 || len > 32) {
      if (fam === 6 && Number.isInteger(len) && len >= 96 && len <= 128) {
        const parts = expand6(ip)
        const host = 128 - len
        const base = (parts[7] | (parts[6] << 16)) >>> 0
        const mask = host >= 32 ? 0 : (~((1 << host) - 1)) >>> 0
        const lo = (base & mask) >>> 0
        const hi = (lo + (host >= 32 ? 0xffffffff : (1 << host) - 1)) >>> 0
        return { family: 6, first: join6(parts, lo), last: join6(parts, hi) }
      }
      return undefined
    }
    const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0)
    const size = 2 ** (32 - len)
    const lo = Math.floor(n / size) * size
    return { family: 4, first: int4(lo), last: int4(lo + size - 1) }
  }
  const dash = text.lastIndexOf('-')
  if (dash > 0) {
    const ip = text.slice(0, dash)
    const endS = text.slice(dash + 1)
    const fam = isIP(ip)
    if (fam === 4 && /^\d+$/.test(endS)) {
      const o = ip.split('.').map(Number)
      const end = Number(endS)
      if (end < o[3] || end > 255) return undefined
      return { family: 4, first: ip, last: `${o[0]}.${o[1]}.${o[2]}.${end}` }
    }
    if (fam === 6 && /^[0-9a-fA-F]{1,4}$/.test(endS)) {
      const parts = expand6(ip)
      const end = parseInt(endS, 16)
      if (end < parts[7]) return undefined
      const last = [...parts]
      last[7] = end
      return { family: 6, first: canonical(ip), last: canonical(last.map((p) => p.toString(16)).join(':')) }
    }
    return undefined
  }
  const fam = isIP(text)
  if (!fam) return undefined
  return { family: fam as 4 | 6, first: canonical(text), last: canonical(text) }
}

function int4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
}

function expand6(ip: string): number[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined]
  const h = head ? head.split(':').filter((x) => x !== '') : []
  const t = tail !== undefined && tail ? tail.split(':') : []
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0')
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16))
}

function join6(parts: number[], low32: number): string {
  const p = [...parts]
  p[6] = low32 >>> 16
  p[7] = low32 & 0xffff
  return canonical(p.map((x) => x.toString(16)).join(':'))
}

/** enumerate a range's addresses (bounded by `max`) */
export function* rangeAddresses(e: VsGroupEntry, max = 65536): Generator<string> {
  if (!e.address) return
  const last = e.last ?? e.address
  if (e.family === 6) {
    const a = expand6(e.address)
    const z = expand6(last)
    const lo = ((a[6] << 16) | a[7]) >>> 0
    const hi = ((z[6] << 16) | z[7]) >>> 0
    for (let n = lo, i = 0; n <= hi && i < max; n++, i++) yield join6(a, n)
    return
  }
  const toN = (s: string) => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
  for (let n = toN(e.address), i = 0; n <= toN(last) && i < max; n++, i++) yield int4(n)
}

function groupLine(k: KeywordContext, g: VsGroupModel): void {
  const words = [k.keyword, ...k.args]
  if (words[0] === 'fwmark') {
    const v = Number(words[1])
    if (!/^\d+$/.test(words[1] ?? '') || v < 1 || v > 0xffffffff) {
      k.error(`virtual server group ${g.name}: invalid fwmark ${words[1] ?? ''}`)
      return
    }
    const fam = words[2] === 'inet6' ? 6 : words[2] === 'inet' ? 4 : undefined
    g.entries.push({ kind: 'fwmark', fwmark: v, ...(fam ? { family: fam } : {}) })
    return
  }
  const r = parseRange(words[0])
  if (!r) {
    k.error(`Invalid virtual server group ${g.name} address ${words[0]} - skipping`)
    return
  }
  let port: number | undefined
  if (words[1] !== undefined) {
    if (!/^\d+$/.test(words[1]) || Number(words[1]) > 65535) {
      k.error(`Invalid virtual server group ${g.name} port ${words[1]} - skipping`)
      return
    }
    port = Number(words[1])
  }
  g.entries.push({ kind: 'range', family: r.family, address: r.first, last: r.last, ...(port !== undefined ? { port } : {}) })
}

/** install all framework keywords */
export function installFrameworkKeywords(reg: KeywordRegistrar): void {
  reg.root.block<VirtualServerModel>('virtual_server', {
    open: (k) => openVirtualServer(k),
    close: (k, vs) => closeVirtualServer(k, vs),
    children: virtualServerChildren,
  })
  reg.root.block<VsGroupModel>('virtual_server_group', {
    open: (k) => {
      const name = k.string(0, 'group name') ?? ''
      const g: VsGroupModel = { name, entries: [] }
      if (name) section(k).groups.push(g)
      return g
    },
    lines: groupLine,
    close: (k, g) => {
      if (g.entries.length === 0) {
        k.warn(`virtual server group ${g.name} has no entries - removing`)
        const s = section(k)
        s.groups = s.groups.filter((x) => x !== g)
      }
    },
  })
  reg.root.block<NonNullable<CheckersSection['ssl']>>('SSL', {
    open: (k, _root: RootTarget) => {
      const s = section(k)
      if (s.ssl) k.warn('SSL context already specified - replacing')
      s.ssl = {}
      return s.ssl
    },
    children: (b) => {
      for (const [kw, field] of [
        ['password', 'password'],
        ['ca', 'ca'],
        ['certificate', 'certificate'],
        ['key', 'key'],
      ] as const) {
        b.keyword(kw, (k, ssl) => {
          const v = k.string(0)
          if (v === undefined) return
          if (ssl[field] !== undefined) k.warn(`SSL ${field} already specified - replacing`)
          ssl[field] = v
        })
      }
    },
  })
  reg.schema(SECTION, CHECKERS_SCHEMA)
}

/** cross-section validation after the parse: group references */
export function validateSection(s: CheckersSection, report: (msg: string) => void): void {
  for (const vs of s.virtualServers) {
    if (vs.kind === 'group' && !s.groups.some((g) => g.name === vs.group)) {
      report(`Virtual server group ${vs.group} not found`)
    }
    if (vs.realServers.length === 0 && !vs.sorryServer) {
      // keepalived accepts it silently (nothing to check); no diagnostic
    }
  }
}

/** makes a checker for a spec; `place` is where its sockets open (the plugin's `netns` option or net_namespace) */
export type CheckerFactory = (spec: CheckerSpec, place: SocketPlace) => Checker

/**
 * A checker plugin's register() for one TYPE: its block (default: the common checker keywords only) under
 * real_server in every process, so that a parse (`kad -t`, the parent) knows the keyword; where checks run,
 * `load()` imports the checker module, which no parse ever loads, and its factory is tapped on createChecker.
 */
export async function registerCheckerType(
  ctx: PluginContext<SocketPluginOptions>,
  type: string,
  load: () => Promise<CheckerFactory>,
  block: BlockSpec<RealServerModel, CheckerBlockModel> = checkerBlock(type),
): Promise<void> {
  ctx.keywords.extend('virtual_server/real_server', (b) => b.block(type, block))
  if (!ctx.active) return
  const make = await load()
  ctx.hooks.createChecker.for(type).tap(ctx.meta.name, (spec) => make(spec, socketPlace(ctx.options.netns, ctx.container)))
}
