/**
 * no_accept mode (RFC 5798 accept mode off): a MASTER that is not the address owner must not accept packets
 * addressed to its VIPs. keepalived 2.2.7 does it with a firewall (nftables table `keepalived` or iptables); kad
 * keeps one small nftables table `inet kad_vrrp` with the VIPs of every such MASTER in two sets and base chains
 * (priority -1, as keepalived) that drop traffic to and from them, neighbour discovery excepted. The table is
 * rewritten atomically (`nft -f -`, one transaction) on every change and deleted when empty and on stop.
 */
import { spawn } from 'node:child_process'
import type { Logger } from '@kad/core'

export const NFT_TABLE = 'kad_vrrp'

export interface FwAddress {
  family: 4 | 6
  address: string
}

const ND = 'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }'

/** keepalived's `nftables [TABLE]`, `nftables_priority N`, `nftables_counters` */
export interface NftOptions {
  table?: string
  priority?: number
  counters?: boolean
}

/** the options from the stored global keywords (`tuning`) */
export function nftOptions(tuning: Record<string, string[]>): NftOptions {
  const prio = Number(tuning.nftables_priority?.[0])
  return {
    table: tuning.nftables?.[0] || undefined,
    priority: Number.isInteger(prio) ? prio : undefined,
    counters: tuning.nftables_counters !== undefined,
  }
}

/** The nft script that makes the table hold exactly these addresses (pure). */
export function nftScript(addrs: FwAddress[], opts: NftOptions = {}): string {
  const table = opts.table ?? NFT_TABLE
  const prio = opts.priority ?? -1
  const drop = opts.counters ? 'counter drop' : 'drop'
  const accept = opts.counters ? 'counter accept' : 'accept'
  const v4 = [...new Set(addrs.filter((a) => a.family === 4).map((a) => a.address))].sort()
  const v6 = [...new Set(addrs.filter((a) => a.family === 6).map((a) => a.address))].sort()
  // creating then deleting makes the delete succeed whether or not the table exists (one transaction)
  const lines = [`table inet ${table}`, `delete table inet ${table}`]
  if (v4.length + v6.length === 0) return lines.join('\n') + '\n'
  const set = (name: string, type: string, els: string[]) => `  set ${name} {\n    type ${type}\n${els.length ? `    elements = { ${els.join(', ')} }\n` : ''}  }`
  lines.push(
    `table inet ${table} {`,
    set('vips4', 'ipv4_addr', v4),
    set('vips6', 'ipv6_addr', v6),
    '  chain in {',
    `    type filter hook input priority ${prio}; policy accept;`,
    `    ip6 daddr @vips6 ${ND} ${accept}`,
    `    ip daddr @vips4 ${drop}`,
    `    ip6 daddr @vips6 ${drop}`,
    '  }',
    '  chain out {',
    `    type filter hook output priority ${prio}; policy accept;`,
    `    ip6 saddr @vips6 ${ND} ${accept}`,
    `    ip saddr @vips4 ${drop}`,
    `    ip6 saddr @vips6 ${drop}`,
    '  }',
    '}',
  )
  return lines.join('\n') + '\n'
}

/** runs `nft -f -` with the script on stdin */
export function runNft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] })
    let err = ''
    p.stderr.on('data', (b: Buffer) => (err += b.toString()))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft exited ${code}: ${err.trim()}`))))
    p.stdin.end(script)
  })
}

/**
 * One nftables table that holds what several owners (instances) want, rewritten by one `nft -f -` transaction per
 * change, in order; deleted when nobody wants anything and on stop.
 */
class OwnedNftTable<T> {
  private readonly owners = new Map<string, T[]>()
  private chain: Promise<void> = Promise.resolve()
  private applied = false

  constructor(
    private readonly log: Logger,
    private readonly nft: (script: string) => Promise<void>,
    private readonly script: (items: T[]) => string,
    private readonly what: string,
  ) {}

  /** what `owner` (an instance) wants; an empty list removes it */
  set(owner: string, items: T[]): Promise<void> {
    if (items.length) this.owners.set(owner, items)
    else if (!this.owners.delete(owner)) return this.chain
    return this.apply()
  }

  clear(owner: string): Promise<void> {
    return this.set(owner, [])
  }

  /** whether `owner` has entries (clearing an absent owner still waits for the table's pending updates) */
  has(owner: string): boolean {
    return this.owners.has(owner)
  }

  items(): T[] {
    return [...this.owners.values()].flat()
  }

  private apply(): Promise<void> {
    this.chain = this.chain.then(async () => {
      const items = this.items()
      if (!items.length && !this.applied) return
      try {
        await this.nft(this.script(items))
        this.applied = items.length > 0
      } catch (err) {
        this.log.limited(`vrrp-nft:${this.what}`, 'error', `${this.what}: ${(err as Error).message}`)
      }
    })
    return this.chain
  }

  /** stop: delete the table */
  async close(): Promise<void> {
    this.owners.clear()
    await this.apply()
  }
}

/** The VIPs each no_accept MASTER wants dropped; applied to the kernel in order, one transaction per change. */
export class AcceptFirewall extends OwnedNftTable<FwAddress> {
  constructor(log: Logger, nft: (script: string) => Promise<void> = runNft, opts: NftOptions = {}) {
    super(log, nft, (a) => nftScript(a, opts), `no_accept: cannot update nftables table ${opts.table ?? NFT_TABLE}`)
  }

  addresses(): FwAddress[] {
    return this.items()
  }
}

export const VMAC_TABLE = 'kad_vmac'

/** a VMAC (macvlan) and the interface it sits on */
export interface VmacLink {
  name: string
  parent: string
  family: 4 | 6
}

/**
 * keepalived 2.2.7's multicast filter for VMACs (with its `nftables` firewall; checked against it here): IGMP
 * reports (IPv4 VMACs) and MLDv2 reports (IPv6 VMACs) leaving a VMAC are sent again from its parent interface
 * and dropped on the VMAC, so that switches never learn the virtual MAC from a backup's multicast joins; router
 * solicitations from IPv6 VMACs are dropped. Tables `ip kad_vmac` / `ip6 kad_vmac` (pure).
 */
export function vmacFilterScript(vmacs: VmacLink[], opts: NftOptions = {}): string {
  const table = VMAC_TABLE
  const prio = opts.priority ?? -1
  const drop = opts.counters ? 'counter drop' : 'drop'
  const lines = [`table ip ${table}`, `delete table ip ${table}`, `table ip6 ${table}`, `delete table ip6 ${table}`]
  for (const family of [4, 6] as const) {
    const mine = [...new Map(vmacs.filter((v) => v.family === family).map((v) => [v.name, v])).values()].sort((x, y) => x.name.localeCompare(y.name))
    if (!mine.length) continue
    const map = mine.map((v) => `"${v.name}" : "${v.parent}"`).join(', ')
    const names = mine.map((v) => `"${v.name}"`).join(', ')
    lines.push(
      `table ${family === 4 ? 'ip' : 'ip6'} ${table} {`,
      `  map vmac_map {
    type iface_index : iface_index
    elements = { ${map} }
  }`,
      ...(family === 6 ? [`  set vmac_set {
    type iface_index
    elements = { ${names} }
  }`] : []),
      '  chain out {',
      `    type filter hook output priority ${prio}; policy accept;`,
      family === 4
        ? `    ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map @vmac_map ${drop}`
        : `    icmpv6 type mld2-listener-report meta oifkind "macvlan" dup to ip6 daddr device oif map @vmac_map ${drop}`,
      ...(family === 6 ? [`    icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set ${drop}`] : []),
      '  }',
      '}',
    )
  }
  return lines.join('\n') + '\n'
}

/** The VMACs of every instance, filtered as vmacFilterScript() says. */
export class VmacMulticastFilter extends OwnedNftTable<VmacLink> {
  constructor(log: Logger, nft: (script: string) => Promise<void> = runNft, opts: NftOptions = {}) {
    super(log, nft, (v) => vmacFilterScript(v, opts), `VMAC IGMP/MLD filter: cannot update nftables tables ${VMAC_TABLE}`)
  }
}
