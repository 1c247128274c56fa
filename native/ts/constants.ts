// Linux socket constants kad uses (values from the uapi headers; identical on every Linux architecture
// kad targets). Grouped so a plugin can write `SOL.IPV6, IPV6.RECVHOPLIMIT`.

export const AF = { UNIX: 1, INET: 2, INET6: 10, NETLINK: 16, PACKET: 17 } as const
export const SOCK = { STREAM: 1, DGRAM: 2, RAW: 3 } as const

/** Option levels. */
export const SOL = { SOCKET: 1, IP: 0, IPV6: 41, ICMPV6: 58, PACKET: 263, NETLINK: 270 } as const

export const SO = {
  REUSEADDR: 2, ERROR: 4, BROADCAST: 6, SNDBUF: 7, RCVBUF: 8, PRIORITY: 12, BINDTODEVICE: 25,
  SNDBUFFORCE: 32, RCVBUFFORCE: 33, MARK: 36,
} as const

export const IP = {
  TOS: 1, TTL: 2, HDRINCL: 3, PKTINFO: 8, RECVTTL: 12, FREEBIND: 15, MULTICAST_IF: 32, MULTICAST_TTL: 33,
  MULTICAST_LOOP: 34, ADD_MEMBERSHIP: 35, DROP_MEMBERSHIP: 36, MULTICAST_ALL: 49,
} as const

export const IPV6 = {
  CHECKSUM: 7, UNICAST_HOPS: 16, MULTICAST_IF: 17, MULTICAST_HOPS: 18, MULTICAST_LOOP: 19, JOIN_GROUP: 20,
  LEAVE_GROUP: 21, V6ONLY: 26, RECVPKTINFO: 49, PKTINFO: 50, RECVHOPLIMIT: 51, HOPLIMIT: 52, MULTICAST_ALL: 29,
} as const

export const ICMPV6_FILTER = 1

export const PACKET = { ADD_MEMBERSHIP: 1, DROP_MEMBERSHIP: 2, MR_PROMISC: 1, MR_ALLMULTI: 2 } as const

export const NETLINK = {
  ROUTE: 0, GENERIC: 16,
  // SOL_NETLINK options
  ADD_MEMBERSHIP: 1, DROP_MEMBERSHIP: 2, NO_ENOBUFS: 5, CAP_ACK: 10, EXT_ACK: 11, GET_STRICT_CHK: 12,
} as const

export const ETH_P = { ALL: 0x0003, IP: 0x0800, ARP: 0x0806, IPV6: 0x86dd } as const
export const IPPROTO = { IP: 0, ICMP: 1, TCP: 6, UDP: 17, IPV6: 41, ICMPV6: 58, VRRP: 112 } as const

export type Domain = 'inet' | 'inet6' | 'packet' | 'netlink' | 'unix'
export type SocketType = 'raw' | 'dgram' | 'stream'

export const DOMAINS: Record<Domain, number> = {
  inet: AF.INET, inet6: AF.INET6, packet: AF.PACKET, netlink: AF.NETLINK, unix: AF.UNIX,
}
export const TYPES: Record<SocketType, number> = { raw: SOCK.RAW, dgram: SOCK.DGRAM, stream: SOCK.STREAM }
