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

/** The VIPs each no_accept MASTER wants dropped; applied to the kernel in order, one transaction per change. */
export class AcceptFirewall {
  private readonly owners = new Map<string, FwAddress[]>()
  private chain: Promise<void> = Promise.resolve()
  private applied = false

  constructor(private readonly log: Logger, private readonly nft: (script: string) => Promise<void> = runNft, private readonly opts: NftOptions = {}) {}

  /** the addresses `owner` (an instance) wants dropped; an empty list removes them */
  set(owner: string, addrs: FwAddress[]): Promise<void> {
    if (addrs.length) this.owners.set(owner, addrs)
    else if (!this.owners.delete(owner)) return this.chain
    return this.apply()
  }

  clear(owner: string): Promise<void> {
    return this.set(owner, [])
  }

  addresses(): FwAddress[] {
    return [...this.owners.values()].flat()
  }

  private apply(): Promise<void> {
    this.chain = this.chain.then(async () => {
      const addrs = this.addresses()
      if (!addrs.length && !this.applied) return
      try {
        await this.nft(nftScript(addrs, this.opts))
        this.applied = addrs.length > 0
      } catch (err) {
        this.log.limited('vrrp-nft', 'error', `no_accept: cannot update nftables table ${this.opts.table ?? NFT_TABLE}: ${(err as Error).message}`)
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
