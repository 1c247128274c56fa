// Kernel state an instance (or the static sections) adds: addresses, routes, rules, through @kad/native's rtnl.
// Every successful add is remembered so that stop removes exactly what kad added.
import type { AddressFlag, Networking, RouteInput } from '@kad/native'
import type { Logger } from '@kad/core'
import type { RouteModel, RuleModel, VipModel } from './model.js'

function errno(e: unknown): string {
  return (e as { code?: string }).code ?? ''
}

export function broadcastOf(v: VipModel): string | undefined {
  if (v.family !== 4 || v.brd === undefined || v.brd === '-') return undefined
  if (v.brd !== '+') return v.brd
  if (v.prefixLength >= 31) return undefined
  const n = v.address.split('.').reduce((a, p) => a * 256 + Number(p), 0)
  const host = 2 ** (32 - v.prefixLength) - 1
  const b = (n - (n % (host + 1))) + host
  return [24, 16, 8, 0].map((s) => Math.floor(b / 2 ** s) % 256).join('.')
}

export class KernelState {
  /** keys of what is in the kernel because of kad */
  private readonly added = new Map<string, () => Promise<void>>()
  constructor(private readonly net: Networking, private readonly log: Logger) {}

  private async add(key: string, add: () => Promise<void>, del: () => Promise<void>): Promise<boolean> {
    try {
      await add()
      this.added.set(key, del)
      return true
    } catch (e) {
      if (errno(e) === 'EEXIST') {
        this.added.set(key, del)
        return true
      }
      this.log.limited(`add:${key}`, 'warn', `cannot add ${key}: ${(e as Error).message}`)
      return false
    }
  }

  private async remove(key: string): Promise<void> {
    const del = this.added.get(key)
    if (!del) return
    this.added.delete(key)
    try {
      await del()
    } catch (e) {
      if (!['EADDRNOTAVAIL', 'ESRCH', 'ENOENT', 'ENODEV'].includes(errno(e))) this.log.limited(`del:${key}`, 'warn', `cannot remove ${key}: ${(e as Error).message}`)
    }
  }

  static vipKey(v: VipModel, dev: string): string {
    return `addr ${v.address}/${v.prefixLength} dev ${dev}`
  }

  async addVip(v: VipModel, dev: string, isVip: boolean): Promise<boolean> {
    const flags: AddressFlag[] = v.flags.filter((f) => f !== '-nodad').map((f) => f as AddressFlag)
    if (v.family === 6 && (isVip || v.flags.includes('-nodad'))) flags.push('nodad')
    const spec = {
      dev, address: v.address, prefixLength: v.prefixLength, broadcast: broadcastOf(v), label: v.label, peer: v.peer,
      scope: v.scope as never, flags: flags.length ? flags : undefined,
    }
    const rt = this.net.rtnl
    return this.add(KernelState.vipKey(v, dev), () => rt.addAddress(spec), () => rt.delAddress(spec))
  }

  async delVip(v: VipModel, dev: string): Promise<void> {
    await this.remove(KernelState.vipKey(v, dev))
  }

  static routeKey(r: RouteModel): string {
    return `route ${r.words.join(' ')}`
  }

  private routeInput(r: RouteModel, defaultDev?: string): RouteInput {
    return {
      dst: r.to, via: r.via ?? r.nexthops?.[0]?.via, dev: r.dev ?? (r.via || r.type ? undefined : defaultDev), table: r.table, metric: r.metric,
      src: r.src, scope: r.scope as never, type: (r.type && r.type !== 'unicast' ? r.type : undefined) as never,
    }
  }

  async addRoute(r: RouteModel, defaultDev?: string): Promise<boolean> {
    const spec = this.routeInput(r, defaultDev)
    const rt = this.net.rtnl
    return this.add(KernelState.routeKey(r), () => rt.addRoute(spec), () => rt.delRoute(spec))
  }

  async delRoute(r: RouteModel): Promise<void> {
    await this.remove(KernelState.routeKey(r))
  }

  static ruleKey(r: RuleModel): string {
    return `rule ${r.words.join(' ')}`
  }

  async addRule(r: RuleModel): Promise<boolean> {
    const spec = {
      family: r.family, from: r.from === 'all' ? undefined : r.from, to: r.to === 'all' ? undefined : r.to, table: r.table, priority: r.priority,
      fwmark: r.fwmark, fwmask: r.fwmask, iif: r.iif, oif: r.oif, action: r.action === 'goto' ? undefined : (r.action as never),
    }
    const rt = this.net.rtnl
    return this.add(KernelState.ruleKey(r), () => rt.addRule(spec), () => rt.delRule(spec))
  }

  async delRule(r: RuleModel): Promise<void> {
    await this.remove(KernelState.ruleKey(r))
  }

  /** remove what KEY names, if kad added it */
  async removeKey(key: string): Promise<void> {
    await this.remove(key)
  }

  /** stop owning KEY without removing it (a reload adds it again: EEXIST adopts it) */
  forget(key: string): void {
    this.added.delete(key)
  }

  has(key: string): boolean {
    return this.added.has(key)
  }

  /** remove everything kad added (stop without -V) */
  async releaseAll(): Promise<void> {
    for (const k of [...this.added.keys()].reverse()) await this.remove(k)
  }

  /** forget without removing (-V) */
  forgetAll(): void {
    this.added.clear()
  }

  get size(): number {
    return this.added.size
  }
}
