// Fields the kernel stores in host byte order (sa_family, ifindex, nlmsghdr, attributes…).
import { endianness } from 'node:os'

export const LITTLE = endianness() === 'LE'

export function u16(b: Buffer, off: number): number { return LITTLE ? b.readUInt16LE(off) : b.readUInt16BE(off) }
export function u32(b: Buffer, off: number): number { return LITTLE ? b.readUInt32LE(off) : b.readUInt32BE(off) }
export function i32(b: Buffer, off: number): number { return LITTLE ? b.readInt32LE(off) : b.readInt32BE(off) }
export function w16(b: Buffer, v: number, off: number): void { if (LITTLE) b.writeUInt16LE(v, off); else b.writeUInt16BE(v, off) }
export function w32(b: Buffer, v: number, off: number): void { if (LITTLE) b.writeUInt32LE(v >>> 0, off); else b.writeUInt32BE(v >>> 0, off) }
export function wi32(b: Buffer, v: number, off: number): void { if (LITTLE) b.writeInt32LE(v, off); else b.writeInt32BE(v, off) }
