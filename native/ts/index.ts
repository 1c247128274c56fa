// @kad/native: the addon's typed socket API and kad's Linux networking library. See docs/native.md.
export * from './constants.js'
export * from './errors.js'
export { openSocket, KadSocket, ifNameToIndex, ifIndexToName } from './socket.js'
export type { OpenSocketOptions, SendOptions, MessageInfo, MessageHandler, ErrorHandler, SockAddrInput } from './socket.js'
export * from './codec/ip.js'
export * from './codec/sockaddr.js'
