// The VRRP state machine of one instance: RFC 5798 §6 plus keepalived's FAULT state and tuning knobs.
// PURE: step(config, state, event) -> { state, actions }. Time only enters through `event.now` (ms); the runtime
// (instance.ts) executes the actions (send adverts, arm timers, add/remove VIPs, GARP, notify).

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT'
export const PRIO_OWNER = 255
export const PRIO_STOP = 0

export interface FsmConfig {
  version: 2 | 3
  /** configured priority 1..255 */
  priority: number
  /** own advertisement interval, centiseconds */
  advertIntCs: number
  /** initial state wanted (MASTER is immediate only for the address owner) */
  initialState: 'MASTER' | 'BACKUP'
  preempt: boolean
  /** ms; 0 = none */
  preemptDelayMs: number
  /** adverts missed before master down (keepalived down_timer_adverts, RFC: 3) */
  downTimerAdverts: number
  lowerPrioNoAdvert: boolean
  higherPrioSendAdvert: boolean
  ownerIgnoreAdverts: boolean
  /** our primary address (advert source), for the equal-priority tie-break */
  primaryIp: string
}

export interface FsmState {
  state: VrrpState
  /** priority after tracking weights (owner stays 255) */
  effectivePriority: number
  /** v3: the master's advertised interval (cs); v2: own */
  masterAdvertIntCs: number
  /** tracking says FAULT */
  fault: boolean
  /** preempt_delay: when lower-priority adverts stop counting (ms, clock of the events) */
  preemptAt?: number
  /** the master we last heard (for dumps) */
  masterIp?: string
  masterPriority?: number
}

export type FsmEvent =
  | { type: 'startup'; now: number }
  | { type: 'advert'; now: number; priority: number; advertIntCs: number; src: string }
  | { type: 'masterDown'; now: number }
  | { type: 'advertTimer'; now: number }
  | { type: 'fault'; now: number; reason?: string }
  | { type: 'faultCleared'; now: number }
  | { type: 'priority'; now: number; priority: number }
  | { type: 'sync'; now: number; to: 'MASTER' | 'BACKUP' | 'FAULT' } // sync group: follow the group
  | { type: 'shutdown'; now: number; notifyAs?: 'STOP' | 'DELETED' | 'FAULT' } // FAULT/DELETED: removed at a reload
  /**
   * a reload handed this (new) instance the state of the one it replaces (keepalived's restore_vrrp_state): it
   * carries on in that state without a transition of its own (no notify, no GARP); a tracker fault found by then
   * or one that has cleared moves it on as usual
   */
  | { type: 'resume'; now: number; state: VrrpState; masterIp?: string; masterPriority?: number; masterAdvertIntCs?: number }

export type FsmAction =
  | { type: 'sendAdvert'; priority: number }
  | { type: 'armAdvertTimer'; ms: number }
  | { type: 'cancelAdvertTimer' }
  | { type: 'armMasterDown'; ms: number }
  | { type: 'cancelMasterDown' }
  | { type: 'addVips' }
  /** a resumed MASTER: its addresses are (mostly) in place already; add what is missing, announce nothing */
  | { type: 'restoreVips' }
  | { type: 'removeVips' }
  | { type: 'sendGarp'; lowerPrio?: boolean }
  | { type: 'notify'; from: VrrpState; to: VrrpState | 'STOP' | 'DELETED'; reason: string }
  | { type: 'masterRxLowerPri'; priority: number; src: string }

export interface StepResult {
  state: FsmState
  actions: FsmAction[]
}

export function initialState(c: FsmConfig): FsmState {
  return { state: 'INIT', effectivePriority: c.priority, masterAdvertIntCs: c.advertIntCs, fault: false }
}

/** RFC 5798 skew time in ms: ((256 - priority) * Master_Adver_Interval) / 256; v2 (RFC 3768): (256 - priority) / 256 s */
export function skewMs(c: FsmConfig, s: FsmState): number {
  if (c.version === 2) return ((256 - s.effectivePriority) * 1000) / 256
  return ((256 - s.effectivePriority) * s.masterAdvertIntCs * 10) / 256
}

/** Master_Down_Interval = N * Master_Adver_Interval + Skew_Time (N = down_timer_adverts, RFC 3) */
export function masterDownMs(c: FsmConfig, s: FsmState): number {
  return c.downTimerAdverts * s.masterAdvertIntCs * 10 + skewMs(c, s)
}

/** IPv4/IPv6 address compare as unsigned numbers (RFC 5798 §6.4.3: the higher primary address wins) */
export function compareIp(a: string, b: string): number {
  const norm = (x: string): bigint => {
    if (x.includes('.') && !x.includes(':')) return x.split('.').reduce((acc, p) => (acc << 8n) + BigInt(Number(p) & 255), 0n)
    const [h, t = ''] = x.includes('::') ? x.split('::') : [x, undefined as unknown as string]
    const hs = h ? h.split(':') : []
    const ts = x.includes('::') && t ? t.split(':') : []
    const words = [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts]
    return words.reduce((acc, w) => (acc << 16n) + BigInt(parseInt(w || '0', 16) || 0), 0n)
  }
  const x = norm(a)
  const y = norm(b)
  return x === y ? 0 : x > y ? 1 : -1
}

function becomeMaster(c: FsmConfig, s: FsmState, reason: string, actions: FsmAction[]): FsmState {
  const from = s.state
  actions.push(
    { type: 'cancelMasterDown' },
    { type: 'addVips' },
    { type: 'sendAdvert', priority: s.effectivePriority },
    { type: 'sendGarp' },
    { type: 'armAdvertTimer', ms: c.advertIntCs * 10 },
    { type: 'notify', from, to: 'MASTER', reason },
  )
  return { ...s, state: 'MASTER', masterAdvertIntCs: c.advertIntCs, preemptAt: undefined, masterIp: c.primaryIp, masterPriority: s.effectivePriority }
}

function becomeBackup(c: FsmConfig, s: FsmState, reason: string, actions: FsmAction[], masterIntCs?: number): FsmState {
  const from = s.state
  const next: FsmState = { ...s, state: 'BACKUP', masterAdvertIntCs: c.version === 3 && masterIntCs ? masterIntCs : c.advertIntCs }
  if (from === 'MASTER') actions.push({ type: 'cancelAdvertTimer' }, { type: 'removeVips' })
  actions.push({ type: 'armMasterDown', ms: masterDownMs(c, next) })
  if (from !== 'BACKUP') actions.push({ type: 'notify', from, to: 'BACKUP', reason })
  return next
}

function becomeFault(c: FsmConfig, s: FsmState, reason: string, actions: FsmAction[]): FsmState {
  const from = s.state
  if (from === 'MASTER') actions.push({ type: 'cancelAdvertTimer' }, { type: 'sendAdvert', priority: PRIO_STOP }, { type: 'removeVips' })
  if (from === 'BACKUP') actions.push({ type: 'cancelMasterDown' })
  if (from !== 'FAULT') actions.push({ type: 'notify', from, to: 'FAULT', reason })
  return { ...s, state: 'FAULT', preemptAt: undefined, masterIp: undefined, masterPriority: undefined }
}

/** one step of the machine */
export function step(c: FsmConfig, s: FsmState, e: FsmEvent): StepResult {
  const actions: FsmAction[] = []
  const owner = c.priority === PRIO_OWNER
  switch (e.type) {
    case 'startup': {
      if (s.state !== 'INIT') return { state: s, actions }
      if (s.fault) return { state: becomeFault(c, s, 'init', actions), actions }
      if (owner || (c.initialState === 'MASTER' && s.effectivePriority === PRIO_OWNER)) return { state: becomeMaster(c, s, 'owner', actions), actions }
      return { state: becomeBackup(c, s, 'init', actions), actions }
    }
    case 'resume': {
      if (s.state !== 'INIT') return { state: s, actions }
      if (e.state === 'INIT') return step(c, s, { type: 'startup', now: e.now })
      if (e.state === 'MASTER') {
        const m: FsmState = { ...s, state: 'MASTER', masterAdvertIntCs: c.advertIntCs, masterIp: c.primaryIp, masterPriority: s.effectivePriority }
        if (s.fault) return { state: becomeFault(c, m, 'tracking', actions), actions }
        actions.push({ type: 'restoreVips' }, { type: 'sendAdvert', priority: s.effectivePriority }, { type: 'armAdvertTimer', ms: c.advertIntCs * 10 })
        return { state: m, actions }
      }
      if (e.state === 'BACKUP') {
        const b: FsmState = {
          ...s, state: 'BACKUP', masterIp: e.masterIp, masterPriority: e.masterPriority,
          masterAdvertIntCs: c.version === 3 && e.masterAdvertIntCs ? e.masterAdvertIntCs : c.advertIntCs,
        }
        if (s.fault) return { state: becomeFault(c, b, 'tracking', actions), actions }
        actions.push({ type: 'armMasterDown', ms: masterDownMs(c, b) })
        return { state: b, actions }
      }
      // FAULT: stays there while a tracker says so, else leaves it as a cleared fault does
      const f: FsmState = { ...s, state: 'FAULT', masterIp: undefined, masterPriority: undefined }
      if (s.fault) return { state: f, actions }
      if (owner) return { state: becomeMaster(c, f, 'fault cleared (owner)', actions), actions }
      return { state: becomeBackup(c, f, 'fault cleared', actions), actions }
    }
    case 'shutdown': {
      if (s.state === 'MASTER') actions.push({ type: 'cancelAdvertTimer' }, { type: 'sendAdvert', priority: PRIO_STOP }, { type: 'removeVips' })
      if (s.state === 'BACKUP') actions.push({ type: 'cancelMasterDown' })
      const as = e.notifyAs ?? 'STOP'
      if (s.state !== 'INIT') actions.push({ type: 'notify', from: s.state, to: as, reason: as === 'STOP' ? 'shutdown' : 'deleted' })
      return { state: { ...s, state: 'INIT', preemptAt: undefined }, actions }
    }
    case 'fault': {
      const next = { ...s, fault: true }
      if (s.state === 'INIT') return { state: next, actions }
      return { state: becomeFault(c, next, e.reason ?? 'tracking', actions), actions }
    }
    case 'faultCleared': {
      const next = { ...s, fault: false }
      if (s.state !== 'FAULT') return { state: next, actions }
      if (owner) return { state: becomeMaster(c, next, 'fault cleared (owner)', actions), actions }
      return { state: becomeBackup(c, next, 'fault cleared', actions), actions }
    }
    case 'priority': {
      const p = owner ? PRIO_OWNER : Math.max(1, Math.min(254, e.priority))
      const next = { ...s, effectivePriority: p }
      // a MASTER's next advert carries the new priority; a BACKUP's skew follows it from the next re-arm
      return { state: next, actions }
    }
    case 'sync': {
      if (e.to === 'FAULT') return { state: s.state === 'FAULT' ? s : becomeFault(c, s, 'sync group', actions), actions }
      if (s.state === 'FAULT' || s.state === 'INIT') return { state: s, actions }
      if (e.to === 'MASTER' && s.state !== 'MASTER') return { state: becomeMaster(c, s, 'sync group', actions), actions }
      if (e.to === 'BACKUP' && s.state !== 'BACKUP') return { state: becomeBackup(c, s, 'sync group', actions), actions }
      return { state: s, actions }
    }
    case 'masterDown': {
      if (s.state !== 'BACKUP') return { state: s, actions }
      return { state: becomeMaster(c, s, 'master down', actions), actions }
    }
    case 'advertTimer': {
      if (s.state !== 'MASTER') return { state: s, actions }
      actions.push({ type: 'sendAdvert', priority: s.effectivePriority }, { type: 'armAdvertTimer', ms: c.advertIntCs * 10 })
      return { state: s, actions }
    }
    case 'advert':
      return onAdvert(c, s, e, actions)
  }
}

function onAdvert(c: FsmConfig, s: FsmState, e: Extract<FsmEvent, { type: 'advert' }>, actions: FsmAction[]): StepResult {
  if (s.state === 'BACKUP') {
    if (e.priority === PRIO_STOP) {
      // the master is leaving: take over after the skew time only
      const next = { ...s, masterIp: undefined, masterPriority: 0 }
      actions.push({ type: 'armMasterDown', ms: skewMs(c, next) })
      return { state: next, actions }
    }
    const lower = e.priority < s.effectivePriority
    if (!c.preempt || !lower) {
      const next: FsmState = {
        ...s, masterAdvertIntCs: c.version === 3 ? e.advertIntCs || c.advertIntCs : c.advertIntCs, masterIp: e.src, masterPriority: e.priority,
        preemptAt: lower ? s.preemptAt : undefined,
      }
      actions.push({ type: 'armMasterDown', ms: masterDownMs(c, next) })
      return { state: next, actions }
    }
    // a lower-priority master and we preempt: with preempt_delay, keep accepting it until the delay has passed
    if (c.preemptDelayMs > 0) {
      const at = s.preemptAt ?? e.now + c.preemptDelayMs
      if (e.now < at) {
        const next: FsmState = { ...s, preemptAt: at, masterIp: e.src, masterPriority: e.priority, masterAdvertIntCs: c.version === 3 ? e.advertIntCs || c.advertIntCs : c.advertIntCs }
        // the master-down timer must not outlive the preempt delay
        actions.push({ type: 'armMasterDown', ms: Math.min(masterDownMs(c, next), at - e.now + skewMs(c, next)) })
        return { state: next, actions }
      }
      return { state: { ...s, preemptAt: at }, actions }
    }
    return { state: s, actions } // discard: the master-down timer will fire and we preempt
  }
  if (s.state === 'MASTER') {
    if (c.priority === PRIO_OWNER && c.ownerIgnoreAdverts) return { state: s, actions }
    if (e.priority === PRIO_STOP) {
      actions.push({ type: 'sendAdvert', priority: s.effectivePriority }, { type: 'armAdvertTimer', ms: c.advertIntCs * 10 })
      return { state: s, actions }
    }
    const higher = e.priority > s.effectivePriority || (e.priority === s.effectivePriority && compareIp(e.src, c.primaryIp) > 0)
    if (higher) {
      if (c.higherPrioSendAdvert) actions.push({ type: 'sendAdvert', priority: s.effectivePriority })
      const next = becomeBackup(c, { ...s, masterIp: e.src, masterPriority: e.priority }, 'higher priority advert', actions, e.advertIntCs)
      return { state: next, actions }
    }
    // lower priority (or equal and lower address): reassert ourselves (keepalived) unless lower_prio_no_advert
    if (e.priority < s.effectivePriority) actions.push({ type: 'masterRxLowerPri', priority: e.priority, src: e.src })
    if (!c.lowerPrioNoAdvert) {
      actions.push({ type: 'sendAdvert', priority: s.effectivePriority }, { type: 'sendGarp', lowerPrio: true })
    }
    return { state: s, actions }
  }
  return { state: s, actions } // INIT, FAULT: adverts are ignored
}
