/** vrrp_sync_group: members move together; a faulty member takes the whole group to FAULT. */
import type { Clock, Logger, Notification } from '@kad/core'
import type { VrrpState } from './fsm.js'
import { runNotifyScripts, type TrackEffect, type VrrpInstance } from './instance.js'
import type { ScriptRef, SyncGroupModel } from './model.js'

export class SyncGroup {
  state: VrrpState | 'STOP' = 'INIT'
  private readonly groupTrackers = new Map<string, TrackEffect>()
  constructor(
    readonly m: SyncGroupModel,
    readonly members: VrrpInstance[],
    private readonly d: { clock: Clock; log: Logger; publish: (n: Notification) => void; runScript: (s: ScriptRef, extra?: string[]) => void },
  ) {
    for (const i of members) i.syncGroup = m.name
  }

  get name(): string {
    return this.m.name
  }

  /** group-level trackers apply to every member (weights only with sync_group_tracking_weight) */
  setTracker(key: string, eff: TrackEffect): void {
    this.groupTrackers.set(key, eff)
    const e = this.m.syncGroupTrackingWeight ? eff : { fault: eff.fault, delta: 0 }
    for (const i of this.members) i.trackers.set(`group:${key}`, e)
    this.recompute()
  }

  /** after any member's tracker changed: FAULT for all while one is faulty */
  recompute(): void {
    const anyFault = this.members.some((i) => [...i.trackers.values()].some((t) => t.fault))
    for (const i of this.members) {
      i.groupFault = anyFault
      i.reevaluate()
    }
  }

  /** after a reload: the group is in the state its members carried on in, when they all agree (no notify) */
  adoptMemberStates(): void {
    const s = this.members[0]?.state
    if (s !== undefined && s !== 'INIT' && this.members.every((m) => m.state === s)) this.state = s
  }

  /** a member changed state on its own: the others follow; the group notifies once per group state */
  onMemberTransition(inst: VrrpInstance, to: VrrpState | 'STOP', reason: string): void {
    if (reason !== 'sync group' && to !== 'STOP') {
      const now = this.d.clock.now()
      for (const o of this.members) {
        if (o === inst) continue
        if (to === 'MASTER' && o.state === 'BACKUP') o.dispatch({ type: 'sync', now, to: 'MASTER' })
        else if (to === 'BACKUP' && o.state === 'MASTER') o.dispatch({ type: 'sync', now, to: 'BACKUP' })
        else if (to === 'FAULT' && o.state !== 'FAULT') o.dispatch({ type: 'sync', now, to: 'FAULT' })
      }
    }
    if (to !== this.state && (to === 'STOP' ? this.members.every((m) => m.state === 'INIT') : this.members.every((m) => m.state === to))) {
      const from = this.state
      this.state = to
      this.d.log.info(`VRRP_Group(${this.name}) Syncing instances to ${to} state`)
      this.d.publish({
        source: 'vrrp', kind: 'vrrp-group', name: this.name, from, to, reason, time: this.d.clock.wallNow(), priority: 0,
        ...(this.m.smtpAlert !== undefined ? { smtpAlert: this.m.smtpAlert } : {}),
        detail: { members: this.members.map((m) => m.name) },
      })
      runNotifyScripts(this.m.notify, to, ['GROUP', this.name, to, '0'], this.d.runScript)
    }
  }
}
