/** The `vrrp` section of the configuration model (plain JSON) and its typed accessor. */
import type { ConfigModel } from '@kad/core'

export const SECTION = 'vrrp'

export interface ScriptRef {
  command: string
  user?: string
  group?: string
}

export interface VipModel {
  address: string
  family: 4 | 6
  prefixLength: number
  dev?: string
  scope?: string
  label?: string
  /** broadcast: an address, '+' or '-' */
  brd?: string
  peer?: string
  flags: string[]
  noTrack: boolean
  useVmac: boolean
  preferredLft?: string
  trackGroup?: string
  loc: string
}

export interface RouteModel {
  family: 4 | 6
  /** the destination prefix ('default' is 0.0.0.0/0 or ::/0) */
  to: string
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw'
  src?: string
  via?: string
  dev?: string
  table?: number
  metric?: number
  scope?: string
  protocol?: string
  onlink?: boolean
  nexthops?: { via?: string; dev?: string; weight?: number }[]
  noTrack: boolean
  trackGroup?: string
  /** every word as written, for options kad stores but does not interpret */
  words: string[]
  loc: string
}

export interface RuleModel {
  family: 4 | 6
  from?: string
  to?: string
  iif?: string
  oif?: string
  fwmark?: number
  fwmask?: number
  table?: number
  priority: number
  action?: 'goto' | 'blackhole' | 'unreachable' | 'prohibit'
  gotoTarget?: number
  invert?: boolean
  noTrack: boolean
  trackGroup?: string
  words: string[]
  loc: string
}

export interface TrackRef {
  name: string
  weight?: number
  reverse?: boolean
  loc: string
}

export interface TrackInterfaceModel {
  name: string
  weight: number
  reverse: boolean
}

export interface UnicastPeerModel {
  address: string
  minTtl?: number
  maxTtl?: number
}

export interface NotifyScripts {
  master?: ScriptRef
  backup?: ScriptRef
  fault?: ScriptRef
  stop?: ScriptRef
  deleted?: ScriptRef
  notify?: ScriptRef
  masterRxLowerPri?: ScriptRef
}

/** what instances and sync groups share: their trackers, notify scripts and alert settings */
export interface TrackHolder {
  trackScripts: TrackRef[]
  trackInterfaces: TrackInterfaceModel[]
  trackFiles: TrackRef[]
  trackProcesses: TrackRef[]
  notify: NotifyScripts
  smtpAlert?: boolean
  notifyPriorityChanges?: boolean
}

export interface VrrpInstanceModel extends TrackHolder {
  name: string
  loc: string
  state: 'MASTER' | 'BACKUP'
  interface?: string
  vrid: number
  priority: number
  /** seconds (fractions allowed for v3) */
  advertInt: number
  version?: 2 | 3
  family: 4 | 6
  vips: VipModel[]
  evips: VipModel[]
  routes: RouteModel[]
  rules: RuleModel[]
  preempt: boolean
  /** seconds */
  preemptDelay: number
  auth?: { type: 'PASS' | 'AH'; pass: string }
  unicastSrcIp?: string
  unicastPeers: UnicastPeerModel[]
  unicastTtl?: number
  unicastFaultNoPeer: boolean
  checkUnicastSrc?: boolean
  mcastSrcIp?: string
  mcastDstIp?: string
  trackSrcIp: boolean
  dontTrackPrimary: boolean
  accept?: boolean
  strict?: boolean
  skipCheckAdvAddr?: boolean
  useVmac?: { name?: string; mac?: string; netlinkNotify: boolean; group?: number }
  vmacXmitBase: boolean
  useVmacAddr: boolean
  useIpvlan?: { name?: string; address?: string; mode?: string }
  garpMasterDelay?: number
  garpMasterRepeat?: number
  garpLowerPrioDelay?: number
  garpLowerPrioRepeat?: number
  garpMasterRefresh?: number
  garpMasterRefreshRepeat?: number
  garpExtraIf?: { all: boolean; seconds: number }
  downTimerAdverts?: number
  lowerPrioNoAdvert?: boolean
  higherPrioSendAdvert?: boolean
  ownerIgnoreAdverts?: boolean
  oldUnicastChecksum?: 'auto' | 'never' | 'always'
  v3ChecksumAsV2?: boolean
  vrf?: string
  noVirtualIpaddress: boolean
  promoteSecondaries: boolean
  kernelRxBufSize?: number
  /** deprecated instance-level linkbeat_use_polling: poll this instance's interface */
  linkbeatUsePolling?: boolean
  lvsSyncDaemonInterface?: string
}

export interface SyncGroupModel extends TrackHolder {
  name: string
  loc: string
  group: string[]
  syncGroupTrackingWeight: boolean
}

export interface VrrpScriptModel {
  name: string
  loc: string
  script?: ScriptRef
  /** seconds */
  interval: number
  /** seconds; undefined = interval */
  timeout?: number
  weight: number
  reverse: boolean
  rise: number
  fall: number
  initFail: boolean
}

export interface TrackProcessModel {
  name: string
  loc: string
  process?: string
  args?: string[]
  paramMatch: 'exact' | 'initial' | 'partial'
  fullCommand: boolean
  quorum: number
  quorumMax?: number
  weight: number
  reverse: boolean
  delay: number
  forkDelay?: number
  terminateDelay?: number
}

export interface VrrpGlobals {
  mcastGroup4: string
  mcastGroup6: string
  version: 2 | 3
  strict: boolean
  v3ChecksumAsV2: boolean
  garpMasterDelay: number
  garpMasterRepeat: number
  garpLowerPrioDelay?: number
  garpLowerPrioRepeat?: number
  garpMasterRefresh: number
  garpMasterRefreshRepeat: number
  /** seconds between GARPs / NAs on one interface */
  garpInterval: number
  gnaInterval: number
  minGarp: boolean
  garpExtraIf?: { all: boolean; seconds: number }
  downTimerAdverts: number
  lowerPrioNoAdvert?: boolean
  higherPrioSendAdvert?: boolean
  checkUnicastSrc: boolean
  skipCheckAdvAddr: boolean
  ownerIgnoreAdverts: boolean
  startupDelay: number
  defaultInterface?: string
  dynamicInterfaces: boolean
  allowIfChanges: boolean
  vmacPrefix: string
  vmacAddrPrefix: string
  notifyPriorityChanges: boolean
  fifoWriteStatesOnReload: boolean
  logUnknownVrids: boolean
  disableLocalIgmp: boolean
  /** stored only: firewall, buffer and nftables tuning */
  tuning: Record<string, string[]>
}

export interface VrrpSection {
  globals: VrrpGlobals
  instances: VrrpInstanceModel[]
  syncGroups: SyncGroupModel[]
  scripts: VrrpScriptModel[]
  trackProcesses: TrackProcessModel[]
  staticAddresses: VipModel[]
  staticRoutes: RouteModel[]
  staticRules: RuleModel[]
  linkbeatInterfaces: { name: string; mode: 'MII' | 'ETHTOOL' | 'IOCTL' }[]
  /** top-level linkbeat_use_polling: poll every tracked interface's carrier instead of netlink link events */
  linkbeatUsePolling?: boolean
  interfaceUpDownDelays: { name: string; down: number; up: number }[]
  trackGroups: { name: string; group: string[] }[]
  garpGroups: { garpInterval?: number; gnaInterval?: number; interfaces: string[] }[]
}

export function defaultGlobals(): VrrpGlobals {
  return {
    mcastGroup4: '224.0.0.18',
    mcastGroup6: 'ff02::12',
    version: 2,
    strict: false,
    v3ChecksumAsV2: false,
    garpMasterDelay: 5,
    garpMasterRepeat: 5,
    garpMasterRefresh: 0,
    garpMasterRefreshRepeat: 1,
    garpInterval: 0,
    gnaInterval: 0,
    minGarp: false,
    downTimerAdverts: 3,
    checkUnicastSrc: false,
    skipCheckAdvAddr: false,
    ownerIgnoreAdverts: false,
    startupDelay: 0,
    dynamicInterfaces: false,
    allowIfChanges: false,
    vmacPrefix: 'vrrp',
    vmacAddrPrefix: 'vrrp',
    notifyPriorityChanges: false,
    fifoWriteStatesOnReload: false,
    logUnknownVrids: false,
    disableLocalIgmp: false,
    tuning: {},
  }
}

export function emptySection(): VrrpSection {
  return {
    globals: defaultGlobals(),
    instances: [],
    syncGroups: [],
    scripts: [],
    trackProcesses: [],
    staticAddresses: [],
    staticRoutes: [],
    staticRules: [],
    linkbeatInterfaces: [],
    interfaceUpDownDelays: [],
    trackGroups: [],
    garpGroups: [],
  }
}

/** The typed `vrrp` section of a model (an empty one when the config has none). */
export function vrrpSection(model: ConfigModel | undefined): VrrpSection {
  return (model?.sections?.[SECTION] as VrrpSection | undefined) ?? emptySection()
}

/**
 * keepalived's `vrrp_netlink_cmd_rcv_bufs BYTES` / `vrrp_netlink_monitor_rcv_bufs BYTES` and their `_force`
 * flags, for @kad/native's Rtnl.setReceiveBuffers(): a size without `_force` is a plain SO_RCVBUF (capped by
 * net.core.rmem_max), with it SO_RCVBUFFORCE. Sides not configured are left out (kad's default stays). Pure.
 */
export function netlinkBuffers(tuning: Record<string, string[]>): { cmd?: { bytes: number; force: boolean }; events?: { bytes: number; force: boolean } } {
  const side = (n: string) => {
    const bytes = Number(tuning[n]?.[0])
    return Number.isInteger(bytes) && bytes > 0 ? { bytes, force: tuning[`${n}_force`]?.[0] === 'true' } : undefined
  }
  const cmd = side('vrrp_netlink_cmd_rcv_bufs')
  const events = side('vrrp_netlink_monitor_rcv_bufs')
  return { ...(cmd ? { cmd } : {}), ...(events ? { events } : {}) }
}
