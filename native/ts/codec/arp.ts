// Ethernet + ARP frames (RFC 826; gratuitous ARP per RFC 5227). Pure.
import { ETH_P } from '../constants.js'
import { formatIPv4, formatMac, parseIPv4, parseMac } from './ip.js'
import type { Verdict } from './netlink.js'

export const ARPOP = { REQUEST: 1, REPLY: 2 } as const
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff'
export const ARP_FRAME_LEN = 14 + 28

export interface ArpFrame {
  ethDst: string
  ethSrc: string
  op: number
  senderMac: string
  senderIp: string
  targetMac: string
  targetIp: string
}

function mac(text: string): Buffer {
  const m = parseMac(text)
  if (!m) throw new TypeError(`not a MAC address: ${text}`)
  return m
}

function ip4(text: string): Buffer {
  const a = parseIPv4(text)
  if (!a) throw new TypeError(`not an IPv4 address: ${text}`)
  return a
}

export function encodeArp(f: ArpFrame): Buffer {
  const b = Buffer.alloc(ARP_FRAME_LEN)
  mac(f.ethDst).copy(b, 0)
  mac(f.ethSrc).copy(b, 6)
  b.writeUInt16BE(ETH_P.ARP, 12)
  b.writeUInt16BE(1, 14) // ARPHRD_ETHER
  b.writeUInt16BE(ETH_P.IP, 16)
  b[18] = 6
  b[19] = 4
  b.writeUInt16BE(f.op, 20)
  mac(f.senderMac).copy(b, 22)
  ip4(f.senderIp).copy(b, 28)
  mac(f.targetMac).copy(b, 32)
  ip4(f.targetIp).copy(b, 38)
  return b
}

/** Gratuitous ARP as keepalived sends it: a broadcast request whose sender and target address are the VIP. */
export function gratuitousArp(ip: string, srcMac: string, op: number = ARPOP.REQUEST): Buffer {
  return encodeArp({ ethDst: BROADCAST_MAC, ethSrc: srcMac, op, senderMac: srcMac, senderIp: ip, targetMac: BROADCAST_MAC, targetIp: ip })
}

/** Decodes an Ethernet frame carrying IPv4-over-Ethernet ARP. */
export function decodeArp(b: Buffer): Verdict<{ arp: ArpFrame }> {
  if (b.length < ARP_FRAME_LEN) return { ok: false, reason: `frame of ${b.length} bytes is too short for ARP` }
  if (b.readUInt16BE(12) !== ETH_P.ARP) return { ok: false, reason: 'not an ARP ethertype' }
  if (b.readUInt16BE(14) !== 1 || b.readUInt16BE(16) !== ETH_P.IP || b[18] !== 6 || b[19] !== 4) return { ok: false, reason: 'not Ethernet/IPv4 ARP' }
  return {
    ok: true,
    arp: {
      ethDst: formatMac(b, 0), ethSrc: formatMac(b, 6), op: b.readUInt16BE(20), senderMac: formatMac(b, 22), senderIp: formatIPv4(b, 28),
      targetMac: formatMac(b, 32), targetIp: formatIPv4(b, 38),
    },
  }
}
