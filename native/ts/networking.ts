// createNetworking(): the networking service kad injects as `net` (one per network namespace).
import { Rtnl } from './rtnl.js'
import { Genl } from './genl.js'
import { Arp, Nd } from './arp-nd.js'
import { Sysctl } from './sysctl.js'
import { ifIndexToName, ifNameToIndex, openSocket, type KadSocket, type OpenSocketOptions } from './socket.js'

export interface NetworkingOptions {
  /** Network namespace path (/run/netns/NAME); every socket of this instance is opened inside it. */
  netns?: string
  /** Netlink request time-out in ms (default 5000). */
  timeoutMs?: number
}

export interface Networking {
  readonly netns: string | undefined
  readonly rtnl: Rtnl
  readonly genl: Genl
  readonly arp: Arp
  readonly nd: Nd
  readonly sysctl: Sysctl
  /** openSocket() inside this instance's namespace. */
  openSocket(opts: Omit<OpenSocketOptions, 'netns'>): KadSocket
  ifNameToIndex(name: string): number
  ifIndexToName(index: number): string | undefined
  /** Closes every socket this instance opened (not the ones returned by openSocket). */
  close(): void
}

/** Sockets open lazily: creating the service needs no capability; each use needs the one its socket needs. */
export function createNetworking(opts: NetworkingOptions = {}): Networking {
  const netns = opts.netns
  const rtnl = new Rtnl({ netns, timeoutMs: opts.timeoutMs })
  const genl = new Genl({ netns })
  const arp = new Arp(rtnl, netns)
  const nd = new Nd(rtnl, netns)
  return {
    netns, rtnl, genl, arp, nd, sysctl: new Sysctl(netns),
    openSocket: (o) => openSocket({ ...o, netns }),
    ifNameToIndex: (name) => ifNameToIndex(name, netns),
    ifIndexToName: (index) => ifIndexToName(index, netns),
    close() {
      rtnl.close()
      genl.close()
      arp.close()
      nd.close()
    },
  }
}
