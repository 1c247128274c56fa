/**
 * ha_suspend: the local addresses of this host (network namespace), watched through rtnetlink address events.
 *
 * keepalived suspends a virtual server's checkers while the virtual server's address is not configured on any
 * local interface (the backup router of a VRRP pair does not hold the VIP) and activates them when the address
 * appears. It decides on address presence, not on VRRP state: the checker process listens to RTM_NEWADDR /
 * RTM_DELADDR, so the rule holds whoever adds the address (kad's VRRP, keepalived, an operator, a script).
 */
import { formatIP, parseIP, type Address, type RtnlEvent } from '@kad/native'
import type { Logger } from '@kad/core'

/** The set of local addresses: once known, then on every change. */
export interface LocalAddresses {
  /** `onChange` gets the current set (canonical text, see canonicalIP) once known and after every change; returns a stop function */
  watch(onChange: (present: ReadonlySet<string>) => void): () => void
}

/** one spelling per address ('2001:DB8::0:1' and '2001:db8::1' are the same) */
export function canonicalIP(a: string): string {
  const b = parseIP(a)
  return b ? formatIP(b) : a
}

/** what the networking service's Rtnl offers (a test passes a stub) */
export interface AddressEventSource {
  subscribe(handler: (e: RtnlEvent) => void): () => void
  listAddresses(): Promise<Address[]>
}

/** an address's local side: IFA_LOCAL for IPv4 (on a point-to-point link IFA_ADDRESS is the peer), else IFA_ADDRESS */
function localOf(a: Address): string {
  return canonicalIP(a.family === 4 && a.local ? a.local : a.address)
}

/**
 * Local addresses from rtnetlink: subscribe first, dump, then replay what arrived during the dump (add and
 * delete are idempotent on the set, so the replay is safe whatever the dump already saw). An overrun's resync
 * replaces the whole set.
 */
export function rtnlLocalAddresses(rtnl: AddressEventSource, log?: Logger): LocalAddresses {
  return {
    watch(onChange) {
      // ifindex|address -> address: the same address on two interfaces stays present while either holds it
      const byIf = new Map<string, string>()
      let queued: RtnlEvent[] | undefined = []
      let stopped = false
      const present = () => new Set(byIf.values())
      const apply = (e: RtnlEvent) => {
        if (e.kind === 'address') {
          const k = `${e.address.ifindex}|${localOf(e.address)}`
          if (e.action === 'new') byIf.set(k, localOf(e.address))
          else byIf.delete(k)
        } else if (e.kind === 'resync') {
          byIf.clear()
          for (const a of e.addresses) byIf.set(`${a.ifindex}|${localOf(a)}`, localOf(a))
        } else if (e.action === 'del') {
          // a deleted interface takes its addresses along (the kernel also sends RTM_DELADDR; this is belt and braces)
          for (const k of [...byIf.keys()]) if (k.startsWith(`${e.link.ifindex}|`)) byIf.delete(k)
        } else return false
        return true
      }
      const unsubscribe = rtnl.subscribe((e) => {
        if (queued) queued.push(e)
        else if (apply(e)) onChange(present())
      })
      rtnl.listAddresses().then(
        (list) => {
          if (stopped) return
          for (const a of list) byIf.set(`${a.ifindex}|${localOf(a)}`, localOf(a))
          for (const e of queued ?? []) apply(e)
          queued = undefined
          onChange(present())
        },
        (e: Error) => {
          if (stopped) return
          // without a list the suspended virtual servers stay suspended; events still arrive and may activate them
          log?.error(`ha_suspend: cannot list local addresses: ${e.message}`)
          for (const ev of queued ?? []) apply(ev)
          queued = undefined
          onChange(present())
        },
      )
      return () => {
        stopped = true
        unsubscribe()
      }
    },
  }
}
