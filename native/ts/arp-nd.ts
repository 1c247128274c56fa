// Senders for gratuitous ARP (AF_PACKET) and unsolicited neighbour advertisements (raw ICMPv6).
import { ETH_P, ICMPV6_FILTER, IPPROTO, SOL } from './constants.js'
import { ARPOP, BROADCAST_MAC, gratuitousArp } from './codec/arp.js'
import { ALL_NODES, encodeNa } from './codec/ndisc.js'
import { openSocket, type KadSocket } from './socket.js'
import type { Dev, Rtnl } from './rtnl.js'
import { systemError } from './errors.js'

async function linkMac(rtnl: Rtnl, dev: Dev): Promise<{ ifindex: number; mac: string }> {
  const link = await rtnl.getLink(dev)
  if (!link) throw systemError(19, 'RTM_GETLINK', `no interface ${dev}`)
  if (!link.mac || link.mac.length !== 17) throw systemError(22, 'RTM_GETLINK', `interface ${dev} has no Ethernet address`)
  return { ifindex: link.ifindex, mac: link.mac }
}

export interface GratuitousArpOptions {
  dev: Dev
  ip: string
  /** Source MAC (default: the interface's, as for a VMAC-less VRRP instance). */
  mac?: string
  /** ARP reply instead of request (keepalived sends requests). */
  reply?: boolean
}

/** A sender with one lazily opened socket in the instance's namespace. */
abstract class Sender {
  protected sock?: KadSocket
  constructor(protected readonly rtnl: Rtnl, protected readonly netns?: string) {}
  close(): void { this.sock?.close(); this.sock = undefined }
}

export class Arp extends Sender {
  /** Sends one gratuitous ARP for `ip` on `dev`. Needs CAP_NET_RAW. */
  async sendGratuitous(o: GratuitousArpOptions): Promise<void> {
    const { ifindex, mac: ifMac } = await linkMac(this.rtnl, o.dev)
    const mac = o.mac ?? ifMac
    // protocol 0: a send-only packet socket receives nothing.
    this.sock ??= openSocket({ domain: 'packet', type: 'raw', protocol: 0, netns: this.netns })
    this.sock.send(gratuitousArp(o.ip, mac, o.reply ? ARPOP.REPLY : ARPOP.REQUEST), { family: 'packet', ifindex, protocol: ETH_P.ARP, address: BROADCAST_MAC })
  }
}

export interface UnsolicitedNaOptions {
  dev: Dev
  /** The address being advertised. */
  ip: string
  mac?: string
  router?: boolean
  /** Source address (default: chosen by the kernel, normally the interface's link-local). */
  src?: string
}

export class Nd extends Sender {
  /** Sends one unsolicited NA (override set, solicited clear) to ff02::1 with hop limit 255. Needs CAP_NET_RAW. */
  async sendUnsolicitedNa(o: UnsolicitedNaOptions): Promise<void> {
    const { ifindex, mac: ifMac } = await linkMac(this.rtnl, o.dev)
    if (!this.sock) {
      const s = openSocket({ domain: 'inet6', type: 'raw', protocol: IPPROTO.ICMPV6, netns: this.netns })
      // Block every ICMPv6 type on receive: this socket only sends.
      s.setOption(SOL.ICMPV6, ICMPV6_FILTER, Buffer.alloc(32, 0xff))
      this.sock = s
    }
    const msg = encodeNa({ target: o.ip, mac: o.mac ?? ifMac, router: o.router ?? false, solicited: false, override: true })
    this.sock.send(msg, { family: 'inet6', address: ALL_NODES, scopeId: ifindex }, { hopLimit: 255, ifindex, src: o.src })
  }
}
