/**
 * BFD control packets (RFC 5880 §4.1) with the optional authentication section (§4.2 - §4.4).
 * Pure functions: `encode(pkt, auth?)` and `decode(buf)` (a verdict, never throws), `verifyAuth` for the
 * digest / password check and `checkAuthSequence` for the §6.7.3 / §6.7.4 sequence-number window.
 * Timer fields are in microseconds, as on the wire.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

export const BFD_VERSION = 1
export const BFD_PORT_SINGLE_HOP = 3784
export const BFD_PORT_MULTI_HOP = 4784
export const BFD_HEADER_LEN = 24

export enum BfdState {
  AdminDown = 0,
  Down = 1,
  Init = 2,
  Up = 3,
}
export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const
export type StateName = (typeof STATE_NAMES)[number]

/** §4.1 diagnostic codes */
export enum BfdDiag {
  None = 0,
  ControlDetectionTimeExpired = 1,
  EchoFunctionFailed = 2,
  NeighborSignaledSessionDown = 3,
  ForwardingPlaneReset = 4,
  PathDown = 5,
  ConcatenatedPathDown = 6,
  AdministrativelyDown = 7,
  ReverseConcatenatedPathDown = 8,
}
export const DIAG_NAMES = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
] as const

export enum AuthType {
  SimplePassword = 1,
  KeyedMd5 = 2,
  MeticulousKeyedMd5 = 3,
  KeyedSha1 = 4,
  MeticulousKeyedSha1 = 5,
}

export type AuthSection =
  | { readonly type: AuthType.SimplePassword; readonly keyId: number; readonly password: Buffer }
  | {
      readonly type: AuthType.KeyedMd5 | AuthType.MeticulousKeyedMd5 | AuthType.KeyedSha1 | AuthType.MeticulousKeyedSha1
      readonly keyId: number
      readonly sequence: number
      /** the digest as received (16 bytes MD5, 20 bytes SHA1) */
      readonly digest: Buffer
    }

export interface ControlPacket {
  readonly version?: number
  readonly diag: BfdDiag | number
  readonly state: BfdState
  readonly poll: boolean
  readonly final: boolean
  readonly cpi: boolean // Control Plane Independent
  readonly demand: boolean
  readonly multipoint?: boolean
  readonly detectMult: number
  readonly myDiscr: number
  readonly yourDiscr: number
  /** microseconds */
  readonly desiredMinTx: number
  readonly requiredMinRx: number
  readonly requiredMinEchoRx: number
  /** present when the A bit is set */
  readonly auth?: AuthSection
}

/** What the sender knows to fill in the authentication section. */
export interface AuthKey {
  readonly type: AuthType
  readonly keyId: number
  /** password (1..16 bytes for simple, up to 16 for MD5, up to 20 for SHA1) */
  readonly secret: Buffer
}

export type DecodeResult = { readonly ok: true; readonly packet: ControlPacket } | { readonly ok: false; readonly reason: string }

const AUTH_LEN: Record<number, number> = {
  [AuthType.KeyedMd5]: 24,
  [AuthType.MeticulousKeyedMd5]: 24,
  [AuthType.KeyedSha1]: 28,
  [AuthType.MeticulousKeyedSha1]: 28,
}

export function isMd5(t: AuthType): boolean {
  return t === AuthType.KeyedMd5 || t === AuthType.MeticulousKeyedMd5
}
export function isSha1(t: AuthType): boolean {
  return t === AuthType.KeyedSha1 || t === AuthType.MeticulousKeyedSha1
}
export function isMeticulous(t: AuthType): boolean {
  return t === AuthType.MeticulousKeyedMd5 || t === AuthType.MeticulousKeyedSha1
}

/**
 * Encode a control packet. With `key`, the A bit is set and the authentication section is built from the key
 * (and `pkt.auth.sequence` for the keyed types); the digest is computed over the whole packet (§6.7.3, §6.7.4).
 */
export function encode(pkt: ControlPacket, key?: AuthKey, sequence = 0): Buffer {
  let authLen = 0
  if (key) {
    if (key.type === AuthType.SimplePassword) authLen = 3 + key.secret.length
    else authLen = AUTH_LEN[key.type]
  }
  const len = BFD_HEADER_LEN + authLen
  const b = Buffer.alloc(len)
  b[0] = (((pkt.version ?? BFD_VERSION) & 7) << 5) | (pkt.diag & 0x1f)
  b[1] =
    ((pkt.state & 3) << 6) |
    (pkt.poll ? 0x20 : 0) |
    (pkt.final ? 0x10 : 0) |
    (pkt.cpi ? 0x08 : 0) |
    (key ? 0x04 : 0) |
    (pkt.demand ? 0x02 : 0) |
    (pkt.multipoint ? 0x01 : 0)
  b[2] = pkt.detectMult & 0xff
  b[3] = len
  b.writeUInt32BE(pkt.myDiscr >>> 0, 4)
  b.writeUInt32BE(pkt.yourDiscr >>> 0, 8)
  b.writeUInt32BE(pkt.desiredMinTx >>> 0, 12)
  b.writeUInt32BE(pkt.requiredMinRx >>> 0, 16)
  b.writeUInt32BE(pkt.requiredMinEchoRx >>> 0, 20)
  if (key) {
    b[24] = key.type
    b[25] = authLen
    b[26] = key.keyId & 0xff
    if (key.type === AuthType.SimplePassword) {
      key.secret.copy(b, 27)
    } else {
      b[27] = 0
      b.writeUInt32BE(sequence >>> 0, 28)
      const dlen = isMd5(key.type) ? 16 : 20
      // the digest field holds the (zero-padded) key while hashing, then the digest
      const padded = Buffer.alloc(dlen)
      key.secret.copy(padded, 0, 0, dlen)
      padded.copy(b, 32)
      const digest = createHash(isMd5(key.type) ? 'md5' : 'sha1').update(b).digest()
      digest.copy(b, 32)
    }
  }
  return b
}

/**
 * Decode and apply the packet-level reception checks of RFC 5880 §6.8.6 (version, length, detect multiplier,
 * multipoint, discriminators, authentication section shape). Session-level checks (demultiplexing, whether
 * authentication is expected, the digest) are the caller's.
 */
export function decode(buf: Uint8Array): DecodeResult {
  if (buf.length < BFD_HEADER_LEN) return { ok: false, reason: `short packet (${buf.length} bytes)` }
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length)
  const version = b[0] >> 5
  if (version !== BFD_VERSION) return { ok: false, reason: `bad version ${version}` }
  const len = b[3]
  const a = (b[1] & 0x04) !== 0
  if (len < BFD_HEADER_LEN) return { ok: false, reason: `bad length ${len}` }
  if (a && len < BFD_HEADER_LEN + 2) return { ok: false, reason: `bad length ${len} with authentication` }
  if (len > b.length) return { ok: false, reason: `length ${len} beyond payload ${b.length}` }
  const detectMult = b[2]
  if (detectMult === 0) return { ok: false, reason: 'detect multiplier 0' }
  const multipoint = (b[1] & 0x01) !== 0
  if (multipoint) return { ok: false, reason: 'multipoint bit set' }
  const myDiscr = b.readUInt32BE(4)
  if (myDiscr === 0) return { ok: false, reason: 'my discriminator 0' }
  const yourDiscr = b.readUInt32BE(8)
  const state = (b[1] >> 6) as BfdState
  if (yourDiscr === 0 && state !== BfdState.Down && state !== BfdState.AdminDown)
    return { ok: false, reason: `your discriminator 0 in state ${STATE_NAMES[state]}` }
  const poll = (b[1] & 0x20) !== 0
  const final = (b[1] & 0x10) !== 0
  if (poll && final) return { ok: false, reason: 'poll and final both set' }
  let auth: AuthSection | undefined
  if (a) {
    const r = decodeAuth(b, len)
    if (!r.ok) return r
    auth = r.auth
  }
  return {
    ok: true,
    packet: {
      version,
      diag: b[0] & 0x1f,
      state,
      poll,
      final,
      cpi: (b[1] & 0x08) !== 0,
      demand: (b[1] & 0x02) !== 0,
      multipoint,
      detectMult,
      myDiscr,
      yourDiscr,
      desiredMinTx: b.readUInt32BE(12),
      requiredMinRx: b.readUInt32BE(16),
      requiredMinEchoRx: b.readUInt32BE(20),
      ...(auth ? { auth } : {}),
    },
  }
}

function decodeAuth(b: Buffer, len: number): { ok: true; auth: AuthSection } | { ok: false; reason: string } {
  const type = b[24]
  const alen = b[25]
  if (BFD_HEADER_LEN + alen > len) return { ok: false, reason: `auth length ${alen} beyond packet length ${len}` }
  if (type === AuthType.SimplePassword) {
    if (alen < 4 || alen > 19) return { ok: false, reason: `bad simple password auth length ${alen}` }
    return { ok: true, auth: { type, keyId: b[26], password: Buffer.from(b.subarray(27, 24 + alen)) } }
  }
  const want = AUTH_LEN[type]
  if (want === undefined) return { ok: false, reason: `unknown auth type ${type}` }
  if (alen !== want) return { ok: false, reason: `bad auth length ${alen} for type ${type}` }
  return {
    ok: true,
    auth: { type, keyId: b[26], sequence: b.readUInt32BE(28), digest: Buffer.from(b.subarray(32, 24 + alen)) } as AuthSection,
  }
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/**
 * Check the authentication section of a decoded packet (whose raw bytes are `buf`) against the configured key
 * (§6.7.2 - §6.7.4), without the sequence-number window (see `checkAuthSequence`). No key configured: the A bit
 * must be clear.
 */
export function verifyAuth(buf: Uint8Array, pkt: ControlPacket, key: AuthKey | undefined): Verdict {
  if (!key) return pkt.auth ? { ok: false, reason: 'authentication present but not configured' } : { ok: true }
  const a = pkt.auth
  if (!a) return { ok: false, reason: 'authentication configured but absent' }
  if (a.type !== key.type) return { ok: false, reason: `auth type ${a.type}, expected ${key.type}` }
  if (a.keyId !== key.keyId) return { ok: false, reason: `auth key id ${a.keyId}, expected ${key.keyId}` }
  if (a.type === AuthType.SimplePassword) {
    const p = (a as { password: Buffer }).password
    if (p.length !== key.secret.length || !timingSafeEqual(p, key.secret)) return { ok: false, reason: 'bad password' }
    return { ok: true }
  }
  const dlen = isMd5(a.type) ? 16 : 20
  const b = Buffer.from(buf.subarray(0, buf[3]))
  const padded = Buffer.alloc(dlen)
  key.secret.copy(padded, 0, 0, dlen)
  padded.copy(b, 32)
  const digest = createHash(isMd5(a.type) ? 'md5' : 'sha1').update(b).digest()
  const got = (a as { digest: Buffer }).digest
  if (got.length !== digest.length || !timingSafeEqual(got, digest)) return { ok: false, reason: 'bad digest' }
  return { ok: true }
}

/** bfd.RcvAuthSeq / bfd.AuthSeqKnown */
export interface AuthSeqState {
  readonly known: boolean
  readonly last: number
}

/**
 * The receive sequence window of §6.7.3 / §6.7.4: keyed types accept [last, last + 3*mult], meticulous types
 * (last, last + 3*mult] (modulo 2^32). Returns the new state, or a reason to discard.
 */
export function checkAuthSequence(
  st: AuthSeqState,
  seq: number,
  meticulous: boolean,
  detectMult: number,
): { ok: true; state: AuthSeqState } | { ok: false; reason: string } {
  if (st.known) {
    const diff = (seq - st.last) >>> 0
    const lo = meticulous ? 1 : 0
    if (diff < lo || diff > 3 * detectMult) return { ok: false, reason: `auth sequence ${seq} outside window after ${st.last}` }
  }
  return { ok: true, state: { known: true, last: seq >>> 0 } }
}
