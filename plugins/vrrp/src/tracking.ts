/**
 * Trackers feeding instances: interfaces (rtnetlink link events), vrrp_script (the core ScriptRunner on the
 * Scheduler, rise/fall), track_process (/proc scan), track_file (file polling; the blocks belong to the checker-file
 * plugin) and track_bfd (remote `bfd.session` events from the bfd child).
 */
import { readdirSync, readFileSync } from 'node:fs'
import type { ConfigModel, Logger, Scheduler, ScriptRunner, TaskHandle } from '@kad/core'
import type { Networking, RtnlEvent } from '@kad/native'
import type { TrackProcessModel, TrackRef, VrrpScriptModel } from './model.js'
import { trackEffect, type TrackEffect } from './instance.js'

/** something a tracker can update: an instance, or a sync group forwarding to its members */
export interface TrackTarget {
  setTracker(key: string, eff: TrackEffect): void
}

interface Subscriber {
  target: TrackTarget
  key: string
  weight: number
  reverse: boolean
}

class Subject {
  up = true
  readonly subs: Subscriber[] = []
  set(up: boolean): void {
    this.up = up
    for (const s of this.subs) s.target.setTracker(s.key, trackEffect(up, s.weight, s.reverse))
  }
  add(s: Subscriber): void {
    this.subs.push(s)
    s.target.setTracker(s.key, trackEffect(this.up, s.weight, s.reverse))
  }
}

export class Trackers {
  private readonly ifaces = new Map<string, Subject>()
  private readonly scripts = new Map<string, Subject>()
  private readonly procs = new Map<string, Subject>()
  private readonly files = new Map<string, { subs: Subscriber[]; value: number; path: string }>()
  private readonly bfds = new Map<string, Subject>()
  private readonly tasks: TaskHandle[] = []
  private unsub?: () => void
  readonly scriptStats = new Map<string, { runs: number; failures: number; state: 'GOOD' | 'BAD' }>()
  /** interface_up_down_delays: seconds before a link change counts */
  delays = new Map<string, { down: number; up: number }>()
  private readonly pendingLink = new Map<string, TaskHandle>()
  /** linkbeat_interfaces / linkbeat_use_polling: interfaces whose carrier is polled instead of followed by netlink */
  linkbeat: { all: boolean; names: Set<string> } = { all: false, names: new Set() }
  private pollTask?: TaskHandle
  /** scripts, processes and files already polled ('script:NAME', …), so that a reload starts only new ones */
  private readonly started = new Set<string>()
  /** what the trackers of the stack a reload replaced last said ('script:NAME', 'bfd:NAME'): where new ones start */
  private readonly seeded = new Map<string, boolean>()

  constructor(
    private readonly d: { net: Networking; scheduler: Scheduler; scriptRunner?: ScriptRunner; log: Logger; model: ConfigModel },
    private readonly scriptDefs: VrrpScriptModel[],
    private readonly procDefs: TrackProcessModel[],
  ) {}

  /**
   * A reload replaced the stack: scripts and BFD sessions start from what the old trackers last said instead of
   * their initial state (keepalived: a script that was good is "considered successful on reload"; the bfd child
   * sends a session's state only when it changes). Interfaces, processes and files are read again at start.
   */
  seedFrom(prev: Trackers): void {
    for (const [name, s] of prev.scripts) this.seeded.set(`script:${name}`, s.up)
    for (const [name, s] of prev.bfds) this.seeded.set(`bfd:${name}`, s.up)
  }

  // ------------------------------------------------------------- interfaces

  trackInterface(name: string, target: TrackTarget, key: string, weight: number, reverse: boolean): void {
    let s = this.ifaces.get(name)
    if (!s) {
      s = new Subject()
      s.up = false
      this.ifaces.set(name, s)
    }
    s.add({ target, key, weight, reverse })
  }

  async startInterfaces(): Promise<void> {
    if (this.ifaces.size === 0) return
    const links = await this.d.net.rtnl.listLinks()
    for (const [name, s] of this.ifaces) {
      const l = links.find((x) => x.name === name)
      s.set(Boolean(l && l.up && l.lowerUp))
    }
    this.startLinkbeat()
    this.unsub = this.d.net.rtnl.subscribe((e: RtnlEvent) => {
      if (e.kind === 'link') {
        const s = this.ifaces.get(e.link.name)
        if (!s || this.polled(e.link.name)) return
        const up = e.action === 'new' && e.link.up && e.link.lowerUp
        const name = e.link.name
        const pending = this.pendingLink.get(name)
        if (up === s.up) {
          // a change that reverted within its delay never happened
          pending?.cancel()
          this.pendingLink.delete(name)
          return
        }
        const delay = this.delays.get(name)
        const secs = delay ? (up ? delay.up : delay.down) : 0
        const apply = () => {
          this.pendingLink.delete(name)
          this.d.log.info(`Netlink reports ${name} ${up ? 'up' : 'down'}`)
          s.set(up)
        }
        pending?.cancel()
        if (secs > 0) this.pendingLink.set(name, this.d.scheduler.addTimer(`vrrp.if-delay.${name}`, secs * 1000, apply))
        else apply()
      } else if (e.kind === 'resync') {
        for (const [name, s] of this.ifaces) {
          if (this.polled(name)) continue
          const l = e.links.find((x) => x.name === name)
          const up = Boolean(l && l.up && l.lowerUp)
          if (up !== s.up) s.set(up)
        }
      }
    })
  }

  private polled(name: string): boolean {
    return this.linkbeat.all || this.linkbeat.names.has(name)
  }

  /** an interface's link as the linkbeat poll sees it: administratively up with carrier (sysfs, the ETHTOOL view) */
  static readCarrier(name: string, sysfs = '/sys/class/net'): boolean {
    try {
      const flags = parseInt(readFileSync(`${sysfs}/${name}/flags`, 'utf8').trim(), 16)
      return (flags & 1) === 1 && readFileSync(`${sysfs}/${name}/carrier`, 'utf8').trim() === '1'
    } catch {
      return false // no such interface, or carrier unreadable while down
    }
  }

  /** keepalived polls linkbeat interfaces once a second */
  private startLinkbeat(): void {
    if (this.pollTask || !(this.linkbeat.all || this.linkbeat.names.size)) return
    this.pollTask = this.d.scheduler.every('vrrp.linkbeat', 1000, () => {
      for (const [name, s] of this.ifaces) {
        if (!this.polled(name)) continue
        const up = Trackers.readCarrier(name)
        if (up === s.up) continue
        this.d.log.info(`Linkbeat reports ${name} ${up ? 'up' : 'down'}`)
        s.set(up)
      }
    })
  }

  // ------------------------------------------------------------- scripts

  trackScript(ref: TrackRef, target: TrackTarget, key: string): boolean {
    const def = this.scriptDefs.find((s) => s.name === ref.name)
    if (!def) return false
    let s = this.scripts.get(def.name)
    if (!s) {
      s = new Subject()
      s.up = this.seeded.get(`script:${def.name}`) ?? !def.initFail
      this.scripts.set(def.name, s)
    }
    s.add({ target, key, weight: ref.weight ?? def.weight, reverse: ref.reverse ?? def.reverse })
    return true
  }

  private startScripts(): void {
    const runner = this.d.scriptRunner
    if (!runner) return
    for (const [name, subj] of this.scripts) {
      if (this.once(`script:${name}`)) continue
      const def = this.scriptDefs.find((s) => s.name === name)!
      const st = { runs: 0, failures: 0, state: (subj.up ? 'GOOD' : 'BAD') as 'GOOD' | 'BAD' }
      this.scriptStats.set(name, st)
      let good = 0
      let bad = 0
      let running = false
      const intervalMs = def.interval * 1000
      this.tasks.push(this.d.scheduler.every(`vrrp.script.${name}`, intervalMs, () => {
        if (running) return
        running = true
        runner
          .run({ command: def.script!.command, user: def.script!.user, group: def.script!.group, timeoutMs: (def.timeout ?? def.interval) * 1000 })
          .then((r) => {
            st.runs++
            const ok = r.code === 0 && !r.timedOut
            if (ok) {
              good++
              bad = 0
            } else {
              st.failures++
              bad++
              good = 0
            }
            if (!subj.up && ok && good >= def.rise) {
              this.d.log.info(`VRRP_Script(${name}) succeeded`)
              st.state = 'GOOD'
              subj.set(true)
            } else if (subj.up && !ok && bad >= def.fall) {
              this.d.log.info(`VRRP_Script(${name}) failed (${r.timedOut ? 'timed out' : `exited with status ${r.code}`})`)
              st.state = 'BAD'
              subj.set(false)
            }
          })
          .catch((err) => this.d.log.limited(`script:${name}`, 'warn', `VRRP_Script(${name}) cannot run: ${(err as Error).message}`))
          .finally(() => {
            running = false
          })
      }, { firstDelayMs: 0 }))
    }
  }

  // ------------------------------------------------------------- processes

  trackProcess(ref: TrackRef, target: TrackTarget, key: string): boolean {
    const def = this.procDefs.find((p) => p.name === ref.name)
    if (!def) return false
    let s = this.procs.get(def.name)
    if (!s) {
      s = new Subject()
      s.up = false
      this.procs.set(def.name, s)
    }
    s.add({ target, key, weight: ref.weight ?? def.weight, reverse: ref.reverse ?? def.reverse })
    return true
  }

  /** processes matching a definition, from /proc (comm, or cmdline with full_command / parameters) */
  static countProcesses(def: TrackProcessModel, procRoot = '/proc'): number {
    let n = 0
    let pids: string[]
    try {
      pids = readdirSync(procRoot).filter((p) => /^\d+$/.test(p))
    } catch {
      return 0
    }
    for (const pid of pids) {
      try {
        if (def.fullCommand || def.args) {
          const argv = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0').filter((x, i, a) => i < a.length - 1 || x !== '')
          if (argv[0] !== def.process) continue
          const want = def.args ?? []
          const got = argv.slice(1)
          const match = def.paramMatch === 'initial' ? want.every((w, i) => got[i] === w)
            : def.paramMatch === 'partial' ? want.every((w, i) => (got[i] ?? '').startsWith(w))
            : want.length === got.length && want.every((w, i) => got[i] === w)
          if (match || (!def.args && def.fullCommand)) n++
        } else {
          const comm = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim()
          if (comm === (def.process ?? '').slice(0, 15)) n++
        }
      } catch {
        /* process gone */
      }
    }
    return n
  }

  private startProcesses(): void {
    for (const [name, subj] of this.procs) {
      if (this.once(`proc:${name}`)) continue
      const def = this.procDefs.find((p) => p.name === name)!
      const check = () => {
        const n = Trackers.countProcesses(def)
        const up = n >= def.quorum && (def.quorumMax === undefined || n <= def.quorumMax)
        if (up !== subj.up) {
          this.d.log.info(`Quorum ${up ? 'gained' : 'lost'} for tracked process ${name}`)
          subj.set(up)
        }
      }
      check()
      this.tasks.push(this.d.scheduler.every(`vrrp.process.${name}`, 1000, check))
    }
  }

  // ------------------------------------------------------------- files (blocks owned by checker-file)

  /** find NAME's file and weight in the checker-file plugin's section (any section listing {name, file|path}) */
  private fileDef(name: string): { path: string; weight: number; reverse: boolean } | undefined {
    const own = (this.d.model.sections.track_file as { files?: { name: string; path: string; weight?: number; reverse?: boolean }[] } | undefined)?.files?.find((f) => f.name === name)
    if (own) return { path: own.path, weight: own.weight ?? 1, reverse: own.reverse ?? false }
    for (const sec of Object.values(this.d.model.sections)) {
      const lists: unknown[] = []
      if (Array.isArray(sec)) lists.push(...sec)
      else if (sec && typeof sec === 'object') for (const v of Object.values(sec)) if (Array.isArray(v)) lists.push(...v)
      for (const x of lists) {
        const o = x as { name?: string; file?: string; path?: string; weight?: number; reverse?: boolean }
        if (o && o.name === name && typeof (o.file ?? o.path) === 'string') return { path: (o.file ?? o.path)!, weight: o.weight ?? 1, reverse: o.reverse ?? false }
      }
    }
    return undefined
  }

  trackFile(ref: TrackRef, target: TrackTarget, key: string): boolean {
    const def = this.fileDef(ref.name)
    if (!def) return false
    let f = this.files.get(ref.name)
    if (!f) {
      f = { subs: [], value: 0, path: def.path }
      this.files.set(ref.name, f)
    }
    const sub = { target, key, weight: ref.weight ?? def.weight, reverse: ref.reverse ?? def.reverse }
    f.subs.push(sub)
    // a subscriber added by a reload to a file already polled gets its current value at once
    if (this.started.has(`file:${ref.name}`)) target.setTracker(key, Trackers.fileEffect(f.value, sub.weight, sub.reverse))
    return true
  }

  static fileEffect(value: number, weight: number, reverse: boolean): TrackEffect {
    if (weight === 0) return { fault: value !== 0, delta: 0 }
    const d = value * weight * (reverse ? -1 : 1)
    if (d < -253) return { fault: true, delta: 0 }
    return { fault: false, delta: Math.max(-253, Math.min(253, d)) }
  }

  private startFiles(): void {
    for (const [name, f] of this.files) {
      if (this.once(`file:${name}`)) continue
      const read = () => {
        let v = 0
        try {
          const n = parseInt(readFileSync(f.path, 'utf8').trim(), 10)
          v = Number.isFinite(n) ? n : 0
        } catch {
          v = 0
        }
        if (v !== f.value || !started) {
          f.value = v
          for (const s of f.subs) s.target.setTracker(s.key, Trackers.fileEffect(v, s.weight, s.reverse))
        }
      }
      let started = false
      read()
      started = true
      this.tasks.push(this.d.scheduler.every(`vrrp.file.${name}`, 1000, read))
    }
  }

  // ------------------------------------------------------------- bfd

  trackBfd(name: string, target: TrackTarget, key: string, weight: number, reverse: boolean): void {
    let s = this.bfds.get(name)
    if (!s) {
      s = new Subject()
      s.up = this.seeded.get(`bfd:${name}`) ?? false
      this.bfds.set(name, s)
    }
    s.add({ target, key, weight, reverse })
  }

  /** payload of hooks.remoteEvent.for('bfd.session') */
  onBfd(payload: unknown): void {
    const p = payload as { name?: unknown; up?: unknown }
    if (typeof p?.name !== 'string' || typeof p.up !== 'boolean') return
    const s = this.bfds.get(p.name)
    if (s && s.up !== p.up) s.set(p.up)
  }

  // ------------------------------------------------------------- lifecycle

  /** true when KEY was already started (and marks it started) */
  private once(key: string): boolean {
    if (this.started.has(key)) return true
    this.started.add(key)
    return false
  }

  /** a reload removed this instance: it no longer hears from any tracker */
  unsubscribe(target: TrackTarget): void {
    for (const m of [this.ifaces, this.scripts, this.procs, this.bfds]) {
      for (const subj of m.values()) {
        const keep = subj.subs.filter((x) => x.target !== target)
        subj.subs.splice(0, subj.subs.length, ...keep)
      }
    }
    for (const f of this.files.values()) f.subs = f.subs.filter((x) => x.target !== target)
  }

  /** after a reload added instances: read the links of newly tracked interfaces, poll new scripts/processes/files */
  async refresh(): Promise<void> {
    if (!this.unsub) await this.startInterfaces()
    else if (this.ifaces.size) {
      const links = await this.d.net.rtnl.listLinks()
      for (const [name, s] of this.ifaces) {
        const l = links.find((x) => x.name === name)
        const up = Boolean(l && l.up && l.lowerUp)
        if (up !== s.up) s.set(up)
      }
    }
    this.startScripts()
    this.startProcesses()
    this.startFiles()
  }

  async start(): Promise<void> {
    await this.startInterfaces()
    this.startScripts()
    this.startProcesses()
    this.startFiles()
  }

  stop(): void {
    for (const t of this.tasks) t.cancel()
    this.tasks.length = 0
    for (const t of this.pendingLink.values()) t.cancel()
    this.pendingLink.clear()
    this.unsub?.()
    this.unsub = undefined
    this.pollTask?.cancel()
    this.pollTask = undefined
    this.started.clear()
  }
}
