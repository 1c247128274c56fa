// @kad/native: the addon's typed socket API and kad's Linux networking library. See docs/native.md.
export * from './constants.js'
export * from './errors.js'
export { openSocket, KadSocket, ifNameToIndex, ifIndexToName } from './socket.js'
export type { OpenSocketOptions, SendOptions, MessageInfo, MessageHandler, ErrorHandler, SockAddrInput } from './socket.js'
export { createNetworking } from './networking.js'
export type { Networking, NetworkingOptions } from './networking.js'
export { Rtnl } from './rtnl.js'
export type { Dev, AddressInput, RouteInput, MacvlanInput, RtnlBuffers, RtnlEvent, RtnlOptions } from './rtnl.js'
export { Genl } from './genl.js'
export { Arp, Nd } from './arp-nd.js'
export type { GratuitousArpOptions, UnsolicitedNaOptions } from './arp-nd.js'
export { Sysctl, sysctlPath } from './sysctl.js'
export { NetlinkSocket } from './netlink-socket.js'
export type { NetlinkSocketOptions } from './netlink-socket.js'
export * from './codec/ip.js'
export * from './codec/checksum.js'
export * from './codec/sockaddr.js'
export * from './codec/netlink.js'
export * from './codec/rtnetlink.js'
export * from './codec/genl.js'
export * from './codec/arp.js'
export * from './codec/ndisc.js'

/** Network byte order for a 16-bit value (packet socket protocols: socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))). */
export function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff)
}
export { watchSignal } from './signals.js'
export { preciseTimer } from './timer.js'
export type { PreciseTimer } from './timer.js'
export { streams, streamTarget, StreamEngine, streamFailure } from './streams.js'
export type { StreamTarget, StreamTargetInput, StreamHandler } from './streams.js'
