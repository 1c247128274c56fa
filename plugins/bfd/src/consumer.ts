/**
 * The consumer side, in the vrrp and check children: the last known state of every BFD instance (fed by
 * `hooks.remoteEvent.for('bfd.session')`), the `BFD_CHECK` checker (push-driven) and the track_bfd arithmetic
 * the VRRP plugin applies.
 */
import type { CheckOutcome, Checker, CheckerSpec, ConfigModel } from '@kad/core'
import type { BfdSessionEvent } from './io.js'
import { bfdSection, effectiveTrack, trackEffect } from './model.js'

export interface BfdStatus {
  readonly name: string
  readonly up: boolean
  readonly state: string
  readonly since: number
  readonly diagText?: string
}

type Listener = (s: BfdStatus) => void

/** The `bfdStatus` service: current state of each BFD instance as seen by this process. */
export class BfdStatusBoard {
  private readonly states = new Map<string, BfdStatus>()
  private readonly byName = new Map<string, Set<Listener>>()
  private readonly all = new Set<Listener>()
  events = 0
  ignored = 0

  /** apply one `bfd.session` event; malformed payloads are counted and ignored */
  update(payload: unknown): boolean {
    if (!isSessionEvent(payload)) {
      this.ignored++
      return false
    }
    this.events++
    const prev = this.states.get(payload.name)
    const s: BfdStatus = { name: payload.name, up: payload.up, state: payload.state, since: payload.at, diagText: payload.diagText }
    this.states.set(payload.name, s)
    if (prev && prev.up === s.up) return true
    for (const l of this.byName.get(payload.name) ?? []) l(s)
    for (const l of this.all) l(s)
    return true
  }

  /** down until the bfd child says otherwise (keepalived starts tracked BFDs down) */
  isUp(name: string): boolean {
    return this.states.get(name)?.up ?? false
  }

  get(name: string): BfdStatus | undefined {
    return this.states.get(name)
  }

  /** call `fn` on every up/down change of `name` (or of any instance when name is '*'); returns an unsubscribe */
  subscribe(name: string, fn: Listener): () => void {
    if (name === '*') {
      this.all.add(fn)
      return () => this.all.delete(fn)
    }
    let set = this.byName.get(name)
    if (!set) this.byName.set(name, (set = new Set()))
    set.add(fn)
    return () => set!.delete(fn)
  }

  snapshot(): BfdStatus[] {
    return [...this.states.values()]
  }

  /**
   * What the track_bfd entries of a vrrp_instance (kind 'instance') or vrrp_sync_group ('group') add up to now:
   * FAULT if any weight-0 entry says so, and the sum of the priority deltas.
   */
  trackedEffect(model: ConfigModel | undefined, kind: 'instance' | 'group', owner: string): { fault: boolean; delta: number; entries: { name: string; up: boolean; weight: number; reverse: boolean }[] } {
    const sec = bfdSection(model)
    const list = (kind === 'instance' ? sec.vrrpInstances : sec.syncGroups)[owner] ?? []
    let fault = false
    let delta = 0
    const entries = []
    for (const t of list) {
      const inst = sec.instances.find((i) => i.name === t.name)
      if (!inst) continue
      const { weight, reverse } = effectiveTrack(t, inst)
      const up = this.isUp(t.name)
      const eff = trackEffect(up, weight, reverse)
      fault ||= eff.fault
      delta += eff.delta
      entries.push({ name: t.name, up, weight, reverse })
    }
    return { fault, delta, entries }
  }
}

export function isSessionEvent(p: unknown): p is BfdSessionEvent {
  if (typeof p !== 'object' || p === null) return false
  const o = p as Record<string, unknown>
  return typeof o.name === 'string' && typeof o.up === 'boolean' && typeof o.state === 'string' && typeof o.at === 'number'
}

/** BFD_CHECK: up while the named BFD session is up; pushes every change to the check framework. */
export class BfdChecker implements Checker {
  readonly type = 'BFD_CHECK'
  readonly name: string

  constructor(
    private readonly spec: CheckerSpec,
    private readonly board: BfdStatusBoard,
  ) {
    this.name = String(spec.options.name ?? '')
  }

  private outcome(): CheckOutcome {
    const s = this.board.get(this.name)
    return s?.up ? { ok: true } : { ok: false, reason: s ? `BFD instance ${this.name} is ${s.state}${s.diagText ? ` (${s.diagText})` : ''}` : `BFD instance ${this.name} not up yet` }
  }

  async check(_signal: AbortSignal): Promise<CheckOutcome> {
    return this.outcome()
  }

  subscribe(push: (o: CheckOutcome) => void): () => void {
    return this.board.subscribe(this.name, () => push(this.outcome()))
  }

  compare(spec: CheckerSpec): boolean {
    return spec.type === 'BFD_CHECK' && String(spec.options.name ?? '') === this.name
  }

  key(): string {
    return `BFD_CHECK|${this.name}`
  }

  dump(): Record<string, unknown> {
    const s = this.board.get(this.name)
    return { name: this.name, up: s?.up ?? false, state: s?.state ?? 'unknown', realServer: this.spec.realServer }
  }
}
