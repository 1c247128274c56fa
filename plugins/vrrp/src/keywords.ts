/**
 * Every VRRP keyword of keepalived 2.2.7 (features doc §1.4 vrrp globals, §1.5–1.8): `vrrp_instance`,
 * `vrrp_sync_group`, `vrrp_script`, `vrrp_track_process`, `static_ipaddress` / `static_routes` / `static_rules`,
 * `linkbeat_interfaces`, `interface_up_down_delays`, `track_group`, `garp_group`, and the `vrrp_*` globals in
 * `global_defs`, with keepalived's validation messages. `track_file` / `vrrp_track_file` blocks belong to the
 * checker-file plugin and `track_bfd` to the bfd plugin; instances only reference them.
 */
import { existsSync } from 'node:fs'
import { isIP } from 'node:net'
// the codec alone: @kad/native's index loads the addon's socket layer and every codec, which parsing never uses
import { formatIP, parseIP } from '@kad/native/codec/ip'
import type { BlockBuilder, ConfigModel, DiagnosticSink, KeywordContext, KeywordRegistrar, RootTarget } from '@kad/core'
import { defaultCoreSection } from '@kad/core/plugin'
import {
  SECTION, emptySection, type NotifyScripts, type RouteModel, type RuleModel, type ScriptRef, type SyncGroupModel,
  type TrackInterfaceModel, type TrackProcessModel, type TrackRef, type VipModel, type VrrpGlobals, type VrrpInstanceModel,
  type VrrpScriptModel, type VrrpSection,
  type TrackHolder,
} from './model.js'
import { VRRP_SCHEMA } from './schema.js'

/** Whether an interface exists (keepalived warns at parse time). Replaceable for tests. */
export const interfaceCheck = { exists: (name: string): boolean => existsSync(`/sys/class/net/${name}`) }

/**
 * interfaces can only be checked in our own namespace: with net_namespace set, keepalived -t skips the check; and
 * not at all in another machine's configuration (`kad config cluster`)
 */
const ifaceMissing = (k: KeywordContext, name: string): boolean =>
  k.forThisHost !== false && !k.section('core', defaultCoreSection).netNamespace && !interfaceCheck.exists(name)

const sec = (k: KeywordContext): VrrpSection => k.section<VrrpSection>(SECTION, emptySection)
const locOf = (k: KeywordContext): string => `${k.loc.file}:${k.loc.line}`

/** canonical text of an IPv4/IPv6 address (RFC 5952 for IPv6), or undefined */
export function canonicalIp(ip: string): string | undefined {
  const b = isIP(ip) ? parseIP(ip) : undefined
  return b ? formatIP(b) : undefined
}

/** `script "cmd args" [user [group]]` / `SCRIPT [USER[:GROUP]]` */
function scriptRef(k: KeywordContext, first = 0): ScriptRef | undefined {
  const command = k.string(first, 'script')
  if (command === undefined) return undefined
  const r: ScriptRef = { command }
  const u = k.args[first + 1]
  if (u !== undefined) {
    const [user, g] = u.split(':')
    r.user = user
    const group = g ?? k.args[first + 2]
    if (group) r.group = group
  }
  return r
}

// ---------------------------------------------------------------------------------------------------------------
// addresses, routes, rules

const VIP_FLAGS = new Set(['home', '-nodad', 'nodad', 'mngtmpaddr', 'noprefixroute', 'autojoin'])

/** one virtual_ipaddress / static_ipaddress line: `IP[/LEN] [brd X] [dev IF] [scope S] [label L] [peer IP] ...` */
export function parseVipLine(k: KeywordContext, words: readonly string[]): VipModel | undefined {
  const [addrWord, ...rest] = words
  const [a, lenWord] = addrWord.split('/', 2)
  const fam = isIP(a)
  const address = canonicalIp(a)
  if (!address || fam === 0) {
    k.error(`VRRP parsed invalid IP ${addrWord}. skipping IP...`)
    return undefined
  }
  const family = fam as 4 | 6
  const max = family === 4 ? 32 : 128
  let prefixLength = max
  if (lenWord !== undefined) {
    const n = /^\d+$/.test(lenWord) ? Number(lenWord) : NaN
    if (!(n >= 0 && n <= max)) {
      k.error(`Invalid address prefix len ${lenWord} for address ${addrWord} - using ${max}`)
    } else prefixLength = n
  }
  const vip: VipModel = { address, family, prefixLength, flags: [], noTrack: false, useVmac: false, loc: locOf(k) }
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]
    const next = (): string | undefined => {
      const v = rest[++i]
      if (v === undefined) k.error(`Missing parameter for ${w} in ${addrWord}`)
      return v
    }
    switch (w) {
      case 'dev': vip.dev = next(); break
      case 'scope': vip.scope = next(); break
      case 'label': vip.label = next(); break
      case 'brd':
      case 'broadcast': {
        const b = next()
        if (b !== undefined && b !== '+' && b !== '-' && isIP(b) !== 4) k.error(`Invalid broadcast address ${b} for ${addrWord}`)
        else vip.brd = b
        break
      }
      case 'peer': {
        const p = next()
        if (p !== undefined && !canonicalIp(p.split('/')[0])) k.error(`Invalid peer address ${p} for ${addrWord}`)
        else vip.peer = p
        break
      }
      case 'preferred_lft': vip.preferredLft = next(); break
      case 'no_track': vip.noTrack = true; break
      case 'use_vmac': vip.useVmac = true; break
      case 'track_group': vip.trackGroup = next(); break
      default:
        if (VIP_FLAGS.has(w)) vip.flags.push(w === 'nodad' ? '-nodad' : w)
        else k.error(`Unknown configuration entry '${w}' for ip address - ignoring`)
    }
  }
  if (vip.label && vip.dev && !vip.label.startsWith(vip.dev)) {
    k.warn(`label ${vip.label} for address ${address} does not start with the interface name ${vip.dev}`)
  }
  return vip
}

const ROUTE_TYPES = ['blackhole', 'unreachable', 'prohibit', 'throw'] as const

/** one virtual_routes / static_routes line (a subset of ip-route(8) interpreted, every word kept) */
export function parseRouteLine(k: KeywordContext, words: readonly string[]): RouteModel | undefined {
  let family: 4 | 6 | undefined = words.includes('inet6') ? 6 : undefined
  const r: Partial<RouteModel> & { words: string[]; noTrack: boolean } = { words: [...words], noTrack: false, loc: locOf(k) }
  const famOf = (s: string): 4 | 6 | undefined => (isIP(s.split('/')[0]) || undefined) as 4 | 6 | undefined
  const setFamily = (s: string): boolean => {
    const f = famOf(s)
    if (!f) return false
    if (family !== undefined && family !== f) {
      k.error(`Route ${words.join(' ')} mixes IPv4 and IPv6 - skipping`)
      return false
    }
    family = f
    return true
  }
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    const next = (): string | undefined => {
      const v = words[++i]
      if (v === undefined) k.error(`Missing parameter for ${w} in route`)
      return v
    }
    switch (w) {
      case 'inet6':
      case 'to':
        break
      case 'src': {
        const v = next()
        if (v && setFamily(v)) r.src = canonicalIp(v)
        else if (v) k.error(`Invalid route source address ${v}`)
        break
      }
      case 'gw':
      case 'via': {
        if (w === 'gw') k.deprecated('"gw" for routes is deprecated. Please use "via"', 'via')
        const v = next()
        if (v && setFamily(v)) r.via = canonicalIp(v)
        else if (v) k.error(`Invalid route gateway address ${v}`)
        break
      }
      case 'or': {
        k.deprecated('"or" for routes is deprecated. Please use "nexthop"', 'nexthop')
        const v = next()
        if (v && setFamily(v)) (r.nexthops ??= []).push({ via: canonicalIp(v) })
        break
      }
      case 'nexthop': {
        const nh: { via?: string; dev?: string; weight?: number } = {}
        while (i + 1 < words.length && ['via', 'dev', 'weight'].includes(words[i + 1])) {
          const key = words[++i]
          const v = words[++i]
          if (key === 'via' && v && setFamily(v)) nh.via = canonicalIp(v)
          else if (key === 'dev') nh.dev = v
          else if (key === 'weight') nh.weight = Number(v)
        }
        ;(r.nexthops ??= []).push(nh)
        break
      }
      case 'dev':
      case 'oif':
        r.dev = next()
        break
      case 'table': {
        const v = next()
        const n = v === 'main' ? 254 : v === 'local' ? 255 : v === 'default' ? 253 : Number(v)
        if (!Number.isInteger(n) || n < 0) k.error(`Invalid route table ${v}`)
        else r.table = n
        break
      }
      case 'metric':
      case 'preference':
      case 'priority': {
        const v = next()
        if (v !== undefined && /^\d+$/.test(v)) r.metric = Number(v)
        else k.error(`Invalid route metric ${v}`)
        break
      }
      case 'scope': r.scope = next(); break
      case 'proto':
      case 'protocol': r.protocol = next(); break
      case 'onlink': r.onlink = true; break
      case 'no_track': r.noTrack = true; break
      case 'track_group': r.trackGroup = next(); break
      // stored-only options with one argument
      case 'mtu': case 'advmss': case 'rtt': case 'rttvar': case 'reordering': case 'window': case 'cwnd': case 'ssthresh':
      case 'realms': case 'rto_min': case 'initcwnd': case 'initrwnd': case 'features': case 'quickack': case 'congctl':
      case 'pref': case 'tos': case 'dsfield': case 'hoplimit': case 'fastopen_no_cookie': case 'ttl-propagate': case 'expires':
      case 'encap': case 'lock':
        next()
        break
      case 'add': case 'append': case 'prepend': case 'replace':
        break
      default:
        if ((ROUTE_TYPES as readonly string[]).includes(w)) r.type = w as RouteModel['type']
        else if (w === 'unicast' || w === 'local' || w === 'broadcast' || w === 'multicast' || w === 'anycast' || w === 'nat') r.type = 'unicast'
        else if (r.to === undefined && (w === 'default' || setFamily(w))) r.to = w
        else {
          k.error(`Unknown route option '${w}' - ignoring route ${words.join(' ')}`)
          return undefined
        }
    }
  }
  if (r.to === undefined) {
    k.error(`Route ${words.join(' ')} has no destination - skipping`)
    return undefined
  }
  family ??= 4
  if (r.to === 'default') r.to = family === 4 ? '0.0.0.0/0' : '::/0'
  else {
    const [a, l] = r.to.split('/')
    r.to = `${canonicalIp(a)}/${l ?? (family === 4 ? 32 : 128)}`
  }
  return { ...(r as RouteModel), family }
}

let autoRulePreference = 16384

/** one virtual_rules / static_rules line (ip-rule(8) subset) */
export function parseRuleLine(k: KeywordContext, words: readonly string[]): RuleModel | undefined {
  let family: 4 | 6 | undefined = words.includes('inet6') ? 6 : undefined
  const r: Partial<RuleModel> & { words: string[]; noTrack: boolean } = { words: [...words], noTrack: false, loc: locOf(k) }
  const addr = (v: string | undefined, what: string): string | undefined => {
    if (v === undefined) return undefined
    if (v === 'all') return v
    const [a, l] = v.split('/')
    const f = isIP(a) as 0 | 4 | 6
    if (!f) {
      k.error(`Invalid rule ${what} address ${v}`)
      return undefined
    }
    family ??= f
    return `${canonicalIp(a)}/${l ?? (f === 4 ? 32 : 128)}`
  }
  let pref: number | undefined
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    const next = (): string | undefined => {
      const v = words[++i]
      if (v === undefined) k.error(`Missing parameter for ${w} in rule`)
      return v
    }
    switch (w) {
      case 'inet6': break
      case 'not': r.invert = true; break
      case 'from': { const a = addr(next(), 'from'); if (a === undefined) return undefined; r.from = a; break }
      case 'to': { const a = addr(next(), 'to'); if (a === undefined) return undefined; r.to = a; break }
      case 'iif': case 'dev': r.iif = next(); break
      case 'oif': r.oif = next(); break
      case 'fwmark': {
        const v = next() ?? ''
        const [m, mask] = v.split('/')
        r.fwmark = Number(m)
        if (mask !== undefined) r.fwmask = Number(mask)
        if (!Number.isFinite(r.fwmark)) k.error(`Invalid rule fwmark ${v}`)
        break
      }
      case 'table': case 'lookup': {
        const v = next()
        const n = v === 'main' ? 254 : v === 'local' ? 255 : v === 'default' ? 253 : Number(v)
        if (!Number.isInteger(n)) k.error(`Invalid rule table ${v}`)
        else r.table = n
        break
      }
      case 'preference': case 'priority': case 'pref': case 'order': {
        const v = next()
        if (v !== undefined && /^\d+$/.test(v)) pref = Number(v)
        else k.error(`Invalid rule preference ${v}`)
        break
      }
      case 'goto': r.action = 'goto'; r.gotoTarget = Number(next()); break
      case 'blackhole': case 'unreachable': case 'prohibit': r.action = w; break
      case 'no_track': r.noTrack = true; break
      case 'track_group': r.trackGroup = next(); break
      case 'tos': case 'dsfield': case 'realms': case 'suppress_prefixlength': case 'suppress_ifgroup': case 'uidrange':
      case 'sport': case 'dport': case 'ipproto': case 'ip_proto': case 'protocol': case 'tun_id': case 'nat': case 'map-to':
        next()
        break
      case 'l3mdev': break
      default:
        k.error(`Unknown rule option '${w}' - ignoring rule ${words.join(' ')}`)
        return undefined
    }
  }
  if (pref === undefined) {
    pref = autoRulePreference
    k.warn(`Rule has no preference specified - setting to ${pref}. This is probably not what you want.`)
  }
  return { ...(r as RuleModel), priority: pref, family: family ?? 4 }
}

// ---------------------------------------------------------------------------------------------------------------
// tracking blocks

/** `track_script { NAME [weight N] [reverse|noreverse] }` and the same for track_file / track_process */
function trackRefLine(what: string, range: [number, number]) {
  return (k: KeywordContext, list: TrackRef[]): void => {
    const ref: TrackRef = { name: k.keyword, loc: locOf(k) }
    for (let i = 0; i < k.args.length; i++) {
      const w = k.args[i]
      if (w === 'weight') {
        const v = Number(k.args[++i])
        if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
          k.error(`${what} ${ref.name} weight ${k.args[i] ?? ''} must be in [${range[0]}, ${range[1]}] - ignoring`)
          return
        }
        ref.weight = v
      } else if (w === 'reverse') ref.reverse = true
      else if (w === 'noreverse') ref.reverse = false
      else k.error(`(${ref.name}) unknown ${what} option ${w}`)
    }
    if (list.some((r) => r.name === ref.name)) k.error(`${what} ${ref.name} specified more than once - ignoring`)
    else list.push(ref)
  }
}

function trackInterfaceLine(k: KeywordContext, list: TrackInterfaceModel[]): void {
  const t: TrackInterfaceModel = { name: k.keyword, weight: 0, reverse: false }
  for (let i = 0; i < k.args.length; i++) {
    const w = k.args[i]
    if (w === 'weight') {
      const v = Number(k.args[++i])
      if (!Number.isInteger(v) || v < -253 || v > 253) {
        k.error(`weight for ${t.name} must be between [-253..253] inclusive. Ignoring...`)
        return
      }
      t.weight = v
    } else if (w === 'reverse') t.reverse = true
    else if (w === 'noreverse') t.reverse = false
    else k.error(`Unknown track_interface option ${w}`)
  }
  if (ifaceMissing(k, t.name)) k.warn(`WARNING - interface ${t.name} for track_interface doesn't exist`)
  list.push(t)
}


function trackAndNotify<T extends TrackHolder>(b: BlockBuilder<T>): BlockBuilder<T> {
  b.block<TrackRef[]>('track_script', { open: (_k, o) => o.trackScripts, lines: trackRefLine('track_script', [-253, 253]) })
    .block<TrackInterfaceModel[]>('track_interface', { open: (_k, o) => o.trackInterfaces, lines: trackInterfaceLine })
    .block<TrackRef[]>('track_file', { open: (_k, o) => o.trackFiles, lines: trackRefLine('track_file', [-254, 254]) })
    .block<TrackRef[]>('track_process', { open: (_k, o) => o.trackProcesses, lines: trackRefLine('track_process', [-254, 254]) })
  const notifyKw = (name: string, key: keyof NotifyScripts) =>
    b.keyword(name, (k, o) => {
      const s = scriptRef(k)
      if (s) o.notify[key] = s
    })
  notifyKw('notify_master', 'master')
  notifyKw('notify_backup', 'backup')
  notifyKw('notify_fault', 'fault')
  notifyKw('notify_stop', 'stop')
  notifyKw('notify', 'notify')
  b.keyword('notify_deleted', (k, o) => {
    o.notify.deleted = k.args.length ? scriptRef(k) : { command: '' }
  })
  b.keyword('smtp_alert', (k, o) => {
    const v = k.bool(0)
    if (v !== undefined) o.smtpAlert = v
  })
  b.keyword('notify_priority_changes', (k, o) => {
    const v = k.bool(0)
    if (v !== undefined) o.notifyPriorityChanges = v
  })
  return b
}

// ---------------------------------------------------------------------------------------------------------------
// vrrp_instance

function newInstance(name: string, loc: string): VrrpInstanceModel {
  return {
    name, loc, state: 'BACKUP', vrid: 0, priority: 100, advertInt: 1, family: 4, vips: [], evips: [], routes: [], rules: [],
    preempt: true, preemptDelay: 0, unicastPeers: [], unicastFaultNoPeer: false, trackSrcIp: false, trackScripts: [],
    trackInterfaces: [], trackFiles: [], trackProcesses: [], dontTrackPrimary: false, notify: {}, vmacXmitBase: false,
    useVmacAddr: false, noVirtualIpaddress: false, promoteSecondaries: false,
  }
}

const setBool = <T>(key: keyof T) => (k: KeywordContext, o: T): void => {
  const v = k.bool(0)
  if (v !== undefined) (o as Record<string, unknown>)[key as string] = v
}
const setTrue = <T>(key: keyof T, value: unknown = true) => (_k: KeywordContext, o: T): void => {
  ;(o as Record<string, unknown>)[key as string] = value
}
const setTimer = <T>(key: keyof T, opts: { min?: number; max?: number } = {}) => (k: KeywordContext, o: T): void => {
  const v = k.timer(0, opts)
  if (v !== undefined) (o as Record<string, unknown>)[key as string] = v
}
const setUnsigned = <T>(key: keyof T, opts: { min?: number; max?: number } = {}) => (k: KeywordContext, o: T): void => {
  const v = k.unsigned(0, opts)
  if (v !== undefined) (o as Record<string, unknown>)[key as string] = v
}

function addressBlock(k: KeywordContext, list: VipModel[]): void {
  const v = parseVipLine(k, [k.keyword, ...k.args])
  if (!v) return
  if (list.some((x) => x.address === v.address && x.dev === v.dev)) k.warn(`(${v.address}) duplicate address - ignoring`)
  else list.push(v)
}

function instanceChildren(b: BlockBuilder<VrrpInstanceModel>): void {
  b.keyword('state', (k, o) => {
    const v = k.string(0, 'state')
    if (v === 'MASTER' || v === 'BACKUP') o.state = v
    else if (v === 'EQUAL') o.state = 'BACKUP'
    else if (v !== undefined) k.error(`(${o.name}) unknown state '${v}', defaulting to BACKUP`)
  })
    .keyword('interface', (k, o) => {
      const v = k.string(0, 'interface')
      if (v === undefined) return
      if (v === 'lo') {
        k.error(`(${o.name}) cannot use a loopback interface (lo) for vrrp - ignoring`)
        return
      }
      if (ifaceMissing(k, v)) k.error(`WARNING - interface ${v} for vrrp_instance ${o.name} doesn't exist`, 'KAD_CFG_NO_INTERFACE')
      o.interface = v
    })
    .keyword('virtual_router_id', (k, o) => {
      const w = k.string(0, 'virtual_router_id')
      if (w === undefined) return
      const n = /^\d+$/.test(w) ? Number(w) : NaN
      if (!(n >= 1 && n <= 255)) {
        k.error(`(${o.name}): VRID '${w}' not valid - must be between 1 & 255`)
        return
      }
      o.vrid = n
    })
    .keyword('priority', (k, o) => {
      const w = k.string(0, 'priority')
      if (w === undefined) return
      const n = /^\d+$/.test(w) ? Number(w) : NaN
      if (!(n >= 1 && n <= 255)) {
        k.error(`(${o.name}) Priority not valid! must be between 1 & 255. Using default 100`)
        return
      }
      o.priority = n
    })
    .keyword('advert_int', (k, o) => {
      const w = k.string(0, 'advert_int')
      if (w === undefined) return
      const n = /^\d*\.?\d+$/.test(w) ? Number(w) : NaN
      if (!(n > 0) || n > 40.95) {
        k.error(`(${o.name}) Advert interval (${w}) not valid! Must be > 0 - ignoring`)
        return
      }
      o.advertInt = n
    })
    .keyword('version', (k, o) => {
      const v = k.unsigned(0, { min: 2, max: 3 })
      if (v === 2 || v === 3) o.version = v
      else if (v === undefined && k.args[0] !== undefined) k.error(`(${o.name}): Version must be either 2 or 3`)
    })
    .keyword('nopreempt', setTrue('preempt', false))
    .keyword('preempt', setTrue('preempt', true))
    .keyword('preempt_delay', (k, o) => {
      const v = k.timer(0, { min: 0, max: 1000 })
      if (v === undefined) k.error(`(${o.name}) Preempt_delay not valid! must be between 0-1000`)
      else o.preemptDelay = v
    })
    .block<{ type?: 'PASS' | 'AH'; pass?: string }>('authentication', {
      open: () => ({}),
      children: (a) =>
        a.keyword('auth_type', (k, o) => {
          const v = k.oneOf(0, ['PASS', 'AH'])
          if (v) o.type = v
        }).keyword('auth_pass', (k, o) => {
          const v = k.rest(0)
          if (!v) {
            k.error('auth_pass requires a password')
            return
          }
          if (Buffer.byteLength(v) > 8) k.warn('Truncating auth_pass to 8 characters')
          o.pass = Buffer.from(v).subarray(0, 8).toString()
        }),
      close: (k, a, inst) => {
        if (!a.type) return
        inst.auth = { type: a.type, pass: a.pass ?? '' }
      },
    })
    .keyword('unicast_src_ip', (k, o) => {
      const v = k.string(0, 'unicast_src_ip')
      const c = v === undefined ? undefined : canonicalIp(v)
      if (!c) k.error(`Configuration error: VRRP instance[${o.name}] malformed unicast src address[${v ?? ''}]. Skipping...`)
      else o.unicastSrcIp = c
    })
    .block<VrrpInstanceModel>('unicast_peer', {
      open: (_k, o) => o,
      lines: (k, o) => {
        const c = canonicalIp(k.keyword)
        if (!c) {
          k.error(`Configuration error: VRRP instance[${o.name}] malformed unicast peer address[${k.keyword}]. Skipping...`)
          return
        }
        const p: { address: string; minTtl?: number; maxTtl?: number } = { address: c }
        for (let i = 0; i < k.args.length; i++) {
          const w = k.args[i]
          const n = Number(k.args[i + 1])
          if ((w === 'min_ttl' || w === 'max_ttl') && Number.isInteger(n) && n >= 0 && n <= 255) {
            if (w === 'min_ttl') p.minTtl = n
            else p.maxTtl = n
            i++
          } else k.error(`Unknown unicast_peer option ${w}`)
        }
        o.unicastPeers.push(p)
      },
    })
    .keyword('unicast_ttl', setUnsigned('unicastTtl', { min: 1, max: 255 }))
    .keyword('unicast_fault_no_peer', setTrue('unicastFaultNoPeer'))
    .keyword('check_unicast_src', setTrue('checkUnicastSrc'))
    .keyword('mcast_src_ip', (k, o) => {
      const c = canonicalIp(k.string(0, 'mcast_src_ip') ?? '')
      if (!c) k.error(`Configuration error: VRRP instance[${o.name}] malformed mcast src address[${k.args[0] ?? ''}]. Skipping...`)
      else o.mcastSrcIp = c
    })
    .keyword('mcast_dst_ip', (k, o) => {
      const c = canonicalIp(k.string(0, 'mcast_dst_ip') ?? '')
      if (!c) k.error(`(${o.name}) mcast_dst_ip ${k.args[0] ?? ''} is not valid`)
      else o.mcastDstIp = c
    })
    .keyword('track_src_ip', setTrue('trackSrcIp'))
    .keyword('dont_track_primary', setTrue('dontTrackPrimary'))
    .keyword('notify_master_rx_lower_pri', (k, o) => {
      const s = scriptRef(k)
      if (s) o.notify.masterRxLowerPri = s
    })
    .keyword('accept', setTrue('accept', true))
    .keyword('no_accept', setTrue('accept', false))
    .keyword('strict_mode', setBool('strict'))
    .keyword('skip_check_adv_addr', setBool('skipCheckAdvAddr'))
    .keyword('use_vmac', (k, o) => {
      const u: NonNullable<VrrpInstanceModel['useVmac']> = { netlinkNotify: false }
      for (let i = 0; i < k.args.length; i++) {
        const w = k.args[i]
        if (w === 'netlink_notify_msg') u.netlinkNotify = true
        else if (w === 'group') u.group = Number(k.args[++i])
        else if (/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(w)) u.mac = w.toLowerCase()
        else if (u.name === undefined) u.name = w
        else k.error(`(${o.name}) unknown use_vmac option ${w}`)
      }
      if (u.name && u.name.length > 15) {
        k.error(`VMAC interface name '${u.name}' too long or invalid characters - ignoring`)
        delete u.name
      }
      o.useVmac = u
    })
    .keyword('vmac_xmit_base', setTrue('vmacXmitBase'))
    .keyword('use_vmac_addr', setTrue('useVmacAddr'))
    .keyword('use_ipvlan', (k, o) => {
      const u: NonNullable<VrrpInstanceModel['useIpvlan']> = {}
      for (const w of k.args) {
        if (['bridge', 'private', 'vepa'].includes(w)) u.mode = w
        else if (isIP(w.split('/')[0])) u.address = w
        else u.name = w
      }
      o.useIpvlan = u
    })
    .keyword('garp_master_delay', setUnsigned('garpMasterDelay', { max: 255 }))
    .keyword('garp_master_repeat', setUnsigned('garpMasterRepeat', { min: 1, max: 255 }))
    .keyword('garp_lower_prio_delay', setUnsigned('garpLowerPrioDelay', { max: 255 }))
    .keyword('garp_lower_prio_repeat', setUnsigned('garpLowerPrioRepeat', { max: 255 }))
    .keyword('garp_master_refresh', setUnsigned('garpMasterRefresh'))
    .keyword('garp_master_refresh_repeat', setUnsigned('garpMasterRefreshRepeat', { min: 1, max: 255 }))
    .keyword('garp_extra_if', (k, o) => {
      const all = k.args[0] === 'all'
      const v = k.unsigned(all ? 1 : 0, { max: 86400 })
      if (v !== undefined) o.garpExtraIf = { all, seconds: v }
    })
    .keyword('down_timer_adverts', (k, o) => {
      const v = k.unsigned(0, { min: 1, max: 100 })
      if (v !== undefined) o.downTimerAdverts = v
    })
    .keyword('lower_prio_no_advert', setBool('lowerPrioNoAdvert'))
    .keyword('higher_prio_send_advert', setBool('higherPrioSendAdvert'))
    // timer_expired_backup / thread_timer_expired are not keepalived 2.2.7 keywords (its -t says
    // "Unknown keyword 'timer_expired_backup'"), so kad does not register them either
    .keyword('owner_ignore_adverts', setBool('ownerIgnoreAdverts'))
    .keyword('old_unicast_checksum', (k, o) => {
      o.oldUnicastChecksum = k.args[0] === 'never' ? 'never' : 'always'
    })
    .keyword('v3_checksum_as_v2', setBool('v3ChecksumAsV2'))
    .keyword('native_ipv6', (k) => k.deprecated('native_ipv6 is deprecated; the family follows the virtual addresses'))
    .keyword('vrf', (k, o) => {
      const v = k.string(0, 'vrf')
      if (v) o.vrf = v
    })
    .keyword('no_virtual_ipaddress', setTrue('noVirtualIpaddress'))
    .keyword('promote_secondaries', setTrue('promoteSecondaries'))
    .keyword('kernel_rx_buf_size', setUnsigned('kernelRxBufSize'))
    .keyword('linkbeat_use_polling', (k, o) => {
      k.deprecated('linkbeat_use_polling in vrrp_instance is deprecated; use the global keyword', 'linkbeat_use_polling')
      o.linkbeatUsePolling = true // still polls the instance's own interface, as keepalived 2.2.7
    })
    .keyword('debug', () => undefined)
    .keyword('lvs_sync_daemon_interface', (k, o) => {
      k.deprecated(`(${o.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.`, 'lvs_sync_daemon')
      o.lvsSyncDaemonInterface = k.args[0]
    })
    .block<VipModel[]>('virtual_ipaddress', { open: (_k, o) => o.vips, lines: addressBlock })
    .block<VipModel[]>('virtual_ipaddress_excluded', { open: (_k, o) => o.evips, lines: addressBlock })
    .block<VrrpInstanceModel>('virtual_routes', {
      open: (_k, o) => o,
      lines: (k, o) => {
        const r = parseRouteLine(k, [k.keyword, ...k.args])
        if (r) o.routes.push(r)
      },
    })
    .block<VrrpInstanceModel>('virtual_rules', {
      open: (_k, o) => o,
      lines: (k, o) => {
        const r = parseRuleLine(k, [k.keyword, ...k.args])
        if (r) o.rules.push(r)
      },
    })
  trackAndNotify(b)
}

function closeInstance(k: KeywordContext, o: VrrpInstanceModel): void {
  const s = sec(k)
  const g = s.globals
  if (!o.vrid) k.error(`(${o.name}) the virtual router id must be set`)
  const fams = new Set(o.vips.map((v) => v.family))
  if (fams.size > 1) {
    k.error(`(${o.name}) virtual_ipaddress has addresses of both families - the IPv6 ones are ignored`)
    o.vips = o.vips.filter((v) => v.family === 4)
  }
  const fromAddr = o.vips[0]?.family ?? (o.unicastSrcIp && isIP(o.unicastSrcIp) === 6 ? 6 : o.mcastSrcIp && isIP(o.mcastSrcIp) === 6 ? 6 : undefined)
  o.family = fromAddr ?? 4
  if (o.family === 6 && o.version === 2) {
    k.error(`(${o.name}) cannot use IPv6 with VRRP version 2; setting version 3`)
    o.version = 3
  }
  const version = o.version ?? (o.family === 6 ? 3 : g.version)
  if (version === 2 && !Number.isInteger(o.advertInt)) {
    const r = Math.max(1, Math.round(o.advertInt))
    k.warn(`(${o.name}) Version 2 does not support a fractional advert_int ${o.advertInt} - rounding to ${r}`)
    o.advertInt = r
  }
  if (version === 3) {
    const cs = Math.round(o.advertInt * 100)
    if (cs < 1) o.advertInt = 0.01
    else o.advertInt = cs / 100
  }
  if (o.vips.length === 0 && !o.noVirtualIpaddress) k.warn(`(${o.name}) No VIP specified; at least one is sensible`)
  if (o.auth && version === 3) {
    k.warn(`(${o.name}) VRRPv3 does not support authentication - ignoring`)
    delete o.auth
  }
  const strict = o.strict ?? g.strict
  if (strict) {
    if (o.auth) {
      k.error(`(${o.name}) Strict mode does not support authentication. Ignoring.`)
      delete o.auth
    }
    if (o.state === 'MASTER' && o.priority !== 255) k.error(`(${o.name}) State MASTER must match being address owner`)
    if (o.unicastPeers.length) k.error(`(${o.name}) Unicast peers are not supported in strict mode`)
    if (o.preemptDelay) {
      k.error(`(${o.name}) preempt_delay is incompatible with strict mode - resetting`)
      o.preemptDelay = 0
    }
  }
  if (o.auth?.type === 'AH' && o.state === 'MASTER' && o.priority !== 255) {
    // keepalived: an AH master would start its sequence numbers from scratch against a running peer
    k.error(`(${o.name}) Initial state master is incompatible with AH authentication - clearing`)
    o.state = 'BACKUP'
  }
  if (o.state === 'MASTER' && !o.preempt) {
    k.warn(`(${o.name}) Warning - nopreempt will not work with initial state MASTER - clearing`)
    o.preempt = true
  }
  if (!o.interface && o.unicastPeers.length === 0) k.error(`(${o.name}) Unknown interface!`)
  if (o.auth?.type === 'AH' && o.family === 6) {
    k.error(`(${o.name}) IPSEC-AH is not supported with IPv6 - ignoring authentication`)
    delete o.auth
  }
  s.instances.push(o)
}

// ---------------------------------------------------------------------------------------------------------------
// globals

function globalsChildren(b: BlockBuilder<unknown>): void {
  const G = (k: KeywordContext): VrrpGlobals => sec(k).globals
  const bool = (name: string, key: keyof VrrpGlobals) => b.keyword(name, (k) => {
    const v = k.bool(0)
    if (v !== undefined) (G(k) as unknown as Record<string, unknown>)[key] = v
  })
  const num = (name: string, key: keyof VrrpGlobals, opts: { min?: number; max?: number } = {}, timer = false) => b.keyword(name, (k) => {
    const v = timer ? k.timer(0, opts) : k.unsigned(0, opts)
    if (v !== undefined) (G(k) as unknown as Record<string, unknown>)[key] = v
  })
  const stored = (name: string) => b.keyword(name, (k) => {
    G(k).tuning[name] = [...k.args]
  })
  b.keyword('vrrp_mcast_group4', (k) => {
    const v = k.string(0, 'vrrp_mcast_group4')
    if (v === undefined) return
    const first = Number(v.split('.')[0])
    if (isIP(v) !== 4 || first < 224 || first > 239) k.error(`vrrp_mcast_group4 '${v}' is not a valid IPv4 multicast address`)
    else G(k).mcastGroup4 = v
  })
  b.keyword('vrrp_mcast_group6', (k) => {
    const v = canonicalIp(k.string(0, 'vrrp_mcast_group6') ?? '')
    if (!v || isIP(v) !== 6 || !v.startsWith('ff')) k.error(`vrrp_mcast_group6 '${k.args[0] ?? ''}' is not a valid IPv6 multicast address`)
    else G(k).mcastGroup6 = v
  })
  b.keyword('vrrp_version', (k) => {
    const v = k.unsigned(0, { min: 2, max: 3 })
    if (v === 2 || v === 3) G(k).version = v
  })
  bool('vrrp_strict', 'strict')
  bool('v3_checksum_as_v2', 'v3ChecksumAsV2')
  num('vrrp_garp_master_delay', 'garpMasterDelay', { max: 255 })
  num('vrrp_garp_master_repeat', 'garpMasterRepeat', { min: 1, max: 255 })
  num('vrrp_garp_lower_prio_delay', 'garpLowerPrioDelay', { max: 255 })
  num('vrrp_garp_lower_prio_repeat', 'garpLowerPrioRepeat', { max: 255 })
  num('vrrp_garp_master_refresh', 'garpMasterRefresh')
  num('vrrp_garp_master_refresh_repeat', 'garpMasterRefreshRepeat', { min: 1, max: 255 })
  num('vrrp_garp_interval', 'garpInterval', { max: 1 }, true)
  num('vrrp_gna_interval', 'gnaInterval', { max: 1 }, true)
  bool('vrrp_min_garp', 'minGarp')
  b.keyword('vrrp_garp_extra_if', (k) => {
    const all = k.args[0] === 'all'
    const v = k.unsigned(all ? 1 : 0, { max: 86400 })
    if (v !== undefined) G(k).garpExtraIf = { all, seconds: v }
  })
  num('vrrp_down_timer_adverts', 'downTimerAdverts', { min: 1, max: 100 })
  bool('vrrp_lower_prio_no_advert', 'lowerPrioNoAdvert')
  bool('vrrp_higher_prio_send_advert', 'higherPrioSendAdvert')
  bool('vrrp_check_unicast_src', 'checkUnicastSrc')
  bool('vrrp_skip_check_adv_addr', 'skipCheckAdvAddr')
  bool('vrrp_owner_ignore_adverts', 'ownerIgnoreAdverts')
  num('vrrp_startup_delay', 'startupDelay', { max: 3600 }, true)
  b.keyword('default_interface', (k) => {
    const v = k.string(0, 'default_interface')
    if (v) G(k).defaultInterface = v
  })
  b.keyword('dynamic_interfaces', (k) => {
    G(k).dynamicInterfaces = true
    if (k.args[0] === 'allow_if_changes') G(k).allowIfChanges = true
  })
  b.keyword('vmac_prefix', (k) => {
    const v = k.string(0, 'vmac_prefix')
    if (v) G(k).vmacPrefix = v
  })
  b.keyword('vmac_addr_prefix', (k) => {
    const v = k.string(0, 'vmac_addr_prefix')
    if (v) G(k).vmacAddrPrefix = v
  })
  bool('vrrp_notify_priority_changes', 'notifyPriorityChanges')
  bool('fifo_write_vrrp_states_on_reload', 'fifoWriteStatesOnReload')
  bool('log_unknown_vrids', 'logUnknownVrids')
  bool('disable_local_igmp', 'disableLocalIgmp')
  for (const n of [
    'vrrp_iptables', 'vrrp_ipsets', 'nftables', 'nftables_priority', 'nftables_counters', 'nftables_ifindex',
    'vrrp_rx_bufs_policy', 'vrrp_rx_bufs_multiplier',
  ]) stored(n)
  // the netlink sockets' receive buffers (netlinkBuffers() reads them): checked here, kept as text with the rest
  for (const n of ['vrrp_netlink_cmd_rcv_bufs', 'vrrp_netlink_monitor_rcv_bufs']) {
    b.keyword(n, (k) => {
      const v = k.unsigned(0, { min: 1 })
      if (v !== undefined) G(k).tuning[n] = [String(v)]
    })
    b.keyword(`${n}_force`, (k) => {
      const v = k.args.length === 0 ? true : k.bool(0)
      if (v !== undefined) G(k).tuning[`${n}_force`] = [v ? 'true' : 'false']
    })
  }
}


// ---------------------------------------------------------------------------------------------------------------
// install

export function installKeywords(kw: KeywordRegistrar): void {
  try {
    kw.extend('global_defs', globalsChildren)
  } catch {
    /* no global_defs (a registrar without the core): globals are unavailable */
  }
  const root = kw.root

  root.block<VrrpInstanceModel>('vrrp_instance', {
    open: (k, _r: RootTarget) => {
      const name = k.string(0, 'name') ?? ''
      if (sec(k).instances.some((i) => i.name === name)) k.error(`vrrp_instance ${name} defined more than once`)
      return newInstance(name, locOf(k))
    },
    children: instanceChildren,
    close: (k, o) => closeInstance(k, o),
  })

  root.block<SyncGroupModel>('vrrp_sync_group', {
    open: (k) => ({
      name: k.string(0, 'name') ?? '', loc: locOf(k), group: [], trackScripts: [], trackInterfaces: [], trackFiles: [],
      trackProcesses: [], notify: {}, syncGroupTrackingWeight: false,
    }),
    children: (b) => {
      b.block<string[]>('group', { open: (_k, g) => g.group, lines: (k, list) => { list.push(k.keyword, ...k.args) } })
        .keyword('sync_group_tracking_weight', setTrue('syncGroupTrackingWeight'))
        .keyword('global_tracking', (k, g) => k.error(`(${g.name}) global_tracking is deprecated. Use track_interface/script/file/bfd/process on the sync group`))
      trackAndNotify(b)
    },
    close: (k, g) => {
      if (g.group.length === 0) {
        k.error(`Sync group ${g.name} has no virtual router(s) - removing`)
        return
      }
      sec(k).syncGroups.push(g)
    },
  })

  root.block<VrrpScriptModel>('vrrp_script', {
    open: (k) => ({ name: k.string(0, 'name') ?? '', loc: locOf(k), interval: 1, weight: 0, reverse: false, rise: 1, fall: 1, initFail: false }),
    children: (b) =>
      b.keyword('script', (k, s) => {
        const r = scriptRef(k)
        if (r) s.script = r
      })
        .keyword('interval', (k, s) => {
          const v = k.timer(0, { min: 0.000001 })
          if (v !== undefined) s.interval = v
        })
        .keyword('timeout', (k, s) => {
          const v = k.timer(0, { min: 0.000001 })
          if (v !== undefined) s.timeout = v
        })
        .keyword('weight', (k, s) => {
          const v = k.integer(0)
          if (v === undefined) return
          if (v < -253 || v > 253) {
            k.error(`(${s.name}): vrrp script weight ${v} outside range -253..253 - ignoring`)
            return
          }
          s.weight = v
          if (k.args[1] === 'reverse') s.reverse = true
        })
        .keyword('rise', (k, s) => {
          const v = k.unsigned(0, { min: 1, max: 4294967295 })
          if (v !== undefined) s.rise = v
        })
        .keyword('fall', (k, s) => {
          const v = k.unsigned(0, { min: 1, max: 4294967295 })
          if (v !== undefined) s.fall = v
        })
        .keyword('user', (k, s) => {
          const u = k.string(0, 'user')
          if (!u) return
          const [user, g] = u.split(':')
          s.script = { ...(s.script ?? { command: '' }), user, ...(g ?? k.args[1] ? { group: g ?? k.args[1] } : {}) }
        })
        .keyword('init_fail', setTrue('initFail')),
    close: (k, s) => {
      if (!s.script?.command) {
        k.error(`vrrp script ${s.name} has no script specified - ignoring`)
        return
      }
      sec(k).scripts.push(s)
    },
  })

  root.block<TrackProcessModel>('vrrp_track_process', {
    open: (k) => ({ name: k.string(0, 'name') ?? '', loc: locOf(k), paramMatch: 'exact', fullCommand: false, quorum: 1, weight: 0, reverse: false, delay: 0 }),
    children: (b) =>
      b.keyword('process', (k, p) => {
        p.process = k.string(0, 'process')
        if (k.args.length > 1) p.args = k.args.slice(1)
      })
        .keyword('param_match', (k, p) => {
          const v = k.oneOf(0, ['initial', 'partial'])
          if (v) p.paramMatch = v
        })
        .keyword('full_command', setTrue('fullCommand'))
        .keyword('quorum', setUnsigned('quorum', { min: 1, max: 65535 }))
        .keyword('quorum_max', setUnsigned('quorumMax', { min: 1, max: 65535 }))
        .keyword('weight', (k, p) => {
          const v = k.integer(0, { min: -254, max: 254 })
          if (v !== undefined) p.weight = v
          if (k.args[1] === 'reverse') p.reverse = true
        })
        .keyword('delay', setTimer('delay', { max: 3600 }))
        .keyword('fork_delay', setTimer('forkDelay', { max: 3600 }))
        .keyword('terminate_delay', setTimer('terminateDelay', { max: 3600 })),
    close: (k, p) => {
      if (!p.process) {
        k.error(`Track process ${p.name} has no process specified - ignoring`)
        return
      }
      if (p.quorumMax !== undefined && p.quorumMax < p.quorum) k.error(`Track process ${p.name} quorum_max ${p.quorumMax} < quorum ${p.quorum} - ignoring`)
      sec(k).trackProcesses.push(p)
    },
  })

  root.block<VrrpSection>('static_ipaddress', {
    open: (k) => sec(k),
    lines: (k, s) => {
      const v = parseVipLine(k, [k.keyword, ...k.args])
      if (v) s.staticAddresses.push(v)
    },
  })
  root.block<VrrpSection>('static_routes', {
    open: (k) => sec(k),
    lines: (k, s) => {
      const r = parseRouteLine(k, [k.keyword, ...k.args])
      if (r) s.staticRoutes.push(r)
    },
  })
  root.block<VrrpSection>('static_rules', {
    open: (k) => sec(k),
    lines: (k, s) => {
      const r = parseRuleLine(k, [k.keyword, ...k.args])
      if (r) s.staticRules.push(r)
    },
  })
  root.keyword('linkbeat_use_polling', (k) => {
    sec(k).linkbeatUsePolling = true
  })
  root.block<VrrpSection>('linkbeat_interfaces', {
    open: (k) => sec(k),
    lines: (k, s) => {
      const mode = (k.args[0] ?? 'MII') as 'MII' | 'ETHTOOL' | 'IOCTL'
      if (!['MII', 'ETHTOOL', 'IOCTL'].includes(mode)) k.error(`unknown linkbeat type ${mode} for ${k.keyword}`)
      if (k.forThisHost !== false && !interfaceCheck.exists(k.keyword)) k.fatal(`unknown interface ${k.keyword} specified for linkbeat interface`)
      s.linkbeatInterfaces.push({ name: k.keyword, mode })
    },
  })
  root.block<VrrpSection>('interface_up_down_delays', {
    open: (k) => sec(k),
    lines: (k, s) => {
      if (k.forThisHost !== false && !interfaceCheck.exists(k.keyword)) {
        k.fatal(`unknown interface ${k.keyword} specified for up/down delay`)
        return
      }
      const down = k.timer(0, { max: 255 })
      const up = k.args[1] !== undefined ? k.timer(1, { max: 255 }) : down
      if (down !== undefined && up !== undefined) s.interfaceUpDownDelays.push({ name: k.keyword, down, up })
    },
  })
  root.block<{ name: string; group: string[] }>('track_group', {
    open: (k) => ({ name: k.string(0, 'name') ?? '', group: [] }),
    children: (b) => b.block<string[]>('group', { open: (_k, t) => t.group, lines: (k, l) => { l.push(k.keyword, ...k.args) } }),
    close: (k, t) => {
      sec(k).trackGroups.push(t)
    },
  })
  root.block<{ garpInterval?: number; gnaInterval?: number; interfaces: string[] }>('garp_group', {
    open: () => ({ interfaces: [] }),
    children: (b) =>
      b.keyword('garp_interval', setTimer('garpInterval', { max: 1 }))
        .keyword('gna_interval', setTimer('gnaInterval', { max: 1 }))
        .keyword('interface', (k, g) => {
          const v = k.string(0, 'interface')
          if (v) g.interfaces.push(v)
        })
        .block<string[]>('interfaces', { open: (_k, g) => g.interfaces, lines: (k, l) => { l.push(k.keyword, ...k.args) } }),
    close: (k, g) => {
      if (g.interfaces.length === 0) k.error('garp_group has no interfaces - ignoring')
      else sec(k).garpGroups.push(g)
    },
  })

  kw.schema(SECTION, VRRP_SCHEMA)
}

/** Cross-section checks after the parse: duplicate VRIDs, unknown scripts/processes/sync-group members. */
export function validateVrrp(model: ConfigModel, sink: DiagnosticSink): void {
  const s = model.sections[SECTION] as VrrpSection | undefined
  if (!s) return
  const report = (message: string, severity: 'error' | 'warning' = 'error') => sink.report({ code: 'KAD_CFG_VRRP', severity, message })
  const seen = new Map<string, string>()
  for (const i of s.instances) {
    if (!i.vrid) continue
    const key = `${i.vrid}/${i.family}/${i.interface ?? ''}/${i.unicastPeers.length ? 'u' : 'm'}`
    const prev = seen.get(key)
    if (prev) report(`${prev} and ${i.name} both use VRID ${i.vrid} with IPv${i.family} on interface ${i.interface ?? ''}`)
    else seen.set(key, i.name)
  }
  const scripts = new Set(s.scripts.map((x) => x.name))
  const procs = new Set(s.trackProcesses.map((x) => x.name))
  const owners: { name: string; trackScripts: TrackRef[]; trackProcesses: TrackRef[] }[] = [...s.instances, ...s.syncGroups]
  for (const o of owners) {
    for (const t of o.trackScripts) if (!scripts.has(t.name)) report(`(${o.name}) track script ${t.name} not found, ignoring...`)
    for (const t of o.trackProcesses) if (!procs.has(t.name)) report(`(${o.name}) track process ${t.name} not found, ignoring...`)
  }
  const names = new Set(s.instances.map((i) => i.name))
  const inGroup = new Map<string, string>()
  for (const g of s.syncGroups) {
    for (const m of g.group) {
      if (!names.has(m)) report(`Virtual router ${m} specified in sync group ${g.name} doesn't exist - ignoring`)
      else if (inGroup.has(m)) report(`Virtual router ${m} cannot exist in more than one sync group; ignoring ${g.name}`)
      else inGroup.set(m, g.name)
    }
    if (g.group.length === 1) report(`Sync group ${g.name} has only 1 virtual router(s) - this probably isn't what you want`, 'warning')
  }
}
