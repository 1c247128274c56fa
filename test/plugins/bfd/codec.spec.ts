import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import {
  AuthType,
  BfdDiag,
  BfdState,
  checkAuthSequence,
  decode,
  encode,
  verifyAuth,
  type AuthKey,
  type ControlPacket,
} from '../../../plugins/bfd/src/codec/packet.js'

/** Captured from FRR 8.4.4 bfdd (tshark on a veth in a namespace), see plugins/bfd/README.md. */
const FRR = {
  downV4: '2040031811a1429600000000000f4240000f42400000c350',
  init: '20800318d9c66cd711a14296000f4240000f42400000c350',
  upPoll: '20e0031811a14296d9c66cd7000493e0000493e00000c350',
  upFinal: '20d00318d9c66cd711a14296000493e0000493e00000c350',
  up: '20c0031811a14296d9c66cd7000493e0000493e00000c350',
  pollTx200: '20e0031811a14296d9c66cd700030d40000493e00000c350',
  adminDown: '2000031811a14296d9c66cd700030d40000493e00000c350',
  downNeighborDown: '23400318d9c66cd700000000000493e0000493e00000c350',
  multihopDown: '204003187f0da81c00000000000f4240000f42400000c350',
}

/** Authentication vectors computed independently with Python's hashlib (RFC 5880 §6.7). */
const AUTH = {
  simple: '20c4032111a14296d9c66cd7000493e0000493e00000c350010905736563726574',
  md5: '20c4033011a14296d9c66cd7000493e0000493e00000c3500218020000000007cc6e02d27b731b2b5bc91b3efb8a756b',
  mmd5: '20c4033011a14296d9c66cd7000493e0000493e00000c350031802000000000846e3f9dbeb47dcc46ce69cc0e6e60f8b',
  sha1: '20c4033411a14296d9c66cd7000493e0000493e00000c350041c020000000009d71adfcf11fd045d29f4258357c248eb346efa06',
  msha1: '20c4033411a14296d9c66cd7000493e0000493e00000c350051c02000000000a32a00a3388e4beb1a1e0b5fcc2cc64150fdd499b',
}

const upBase: ControlPacket = {
  diag: 0,
  state: BfdState.Up,
  poll: false,
  final: false,
  cpi: false,
  demand: false,
  detectMult: 3,
  myDiscr: 0x11a14296,
  yourDiscr: 0xd9c66cd7,
  desiredMinTx: 300000,
  requiredMinRx: 300000,
  requiredMinEchoRx: 50000,
}

function dec(hex: string): ControlPacket {
  const r = decode(Buffer.from(hex, 'hex'))
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.packet
}

describe('bfd codec', () => {
  describe('golden bytes from FRR bfdd', () => {
    it('decodes the Down packet with slow timers', () => {
      const p = dec(FRR.downV4)
      assert.equal(p.state, BfdState.Down)
      assert.equal(p.yourDiscr, 0)
      assert.equal(p.myDiscr, 0x11a14296)
      assert.equal(p.desiredMinTx, 1_000_000)
      assert.equal(p.requiredMinRx, 1_000_000)
      assert.equal(p.requiredMinEchoRx, 50_000)
      assert.equal(p.detectMult, 3)
      assert.equal(p.auth, undefined)
    })
    it('decodes Init, Up+Poll, Up+Final, AdminDown, Down with diag 3', () => {
      assert.equal(dec(FRR.init).state, BfdState.Init)
      const poll = dec(FRR.upPoll)
      assert.equal(poll.state, BfdState.Up)
      assert.ok(poll.poll && !poll.final)
      const fin = dec(FRR.upFinal)
      assert.ok(fin.final && !fin.poll)
      assert.equal(dec(FRR.pollTx200).desiredMinTx, 200_000)
      assert.equal(dec(FRR.adminDown).state, BfdState.AdminDown)
      const nd = dec(FRR.downNeighborDown)
      assert.equal(nd.diag, BfdDiag.NeighborSignaledSessionDown)
      assert.equal(nd.state, BfdState.Down)
    })
    it('re-encodes every captured packet byte for byte', () => {
      for (const [name, hex] of Object.entries(FRR)) assert.equal(encode(dec(hex)).toString('hex'), hex, name)
    })
    it('encodes an Up packet as FRR does', () => {
      assert.equal(encode(upBase).toString('hex'), FRR.up)
      assert.equal(encode({ ...upBase, poll: true }).toString('hex'), FRR.upPoll)
    })
  })

  describe('authentication', () => {
    const keys: Record<keyof typeof AUTH, { key: AuthKey; seq: number }> = {
      simple: { key: { type: AuthType.SimplePassword, keyId: 5, secret: Buffer.from('secret') }, seq: 0 },
      md5: { key: { type: AuthType.KeyedMd5, keyId: 2, secret: Buffer.from('key1') }, seq: 7 },
      mmd5: { key: { type: AuthType.MeticulousKeyedMd5, keyId: 2, secret: Buffer.from('key1') }, seq: 8 },
      sha1: { key: { type: AuthType.KeyedSha1, keyId: 2, secret: Buffer.from('sha-key') }, seq: 9 },
      msha1: { key: { type: AuthType.MeticulousKeyedSha1, keyId: 2, secret: Buffer.from('sha-key') }, seq: 10 },
    }
    for (const name of Object.keys(AUTH) as (keyof typeof AUTH)[]) {
      it(`${name}: encodes the reference bytes and verifies them`, () => {
        const { key, seq } = keys[name]
        const bytes = encode(upBase, key, seq)
        assert.equal(bytes.toString('hex'), AUTH[name])
        const p = dec(AUTH[name])
        assert.equal(p.auth?.type, key.type)
        assert.deepEqual(verifyAuth(bytes, p, key), { ok: true })
      })
      it(`${name}: a flipped bit or a wrong secret fails`, () => {
        const { key } = keys[name]
        const bytes = Buffer.from(AUTH[name], 'hex')
        const wrong = { ...key, secret: Buffer.from('other') }
        assert.equal(verifyAuth(bytes, dec(AUTH[name]), wrong).ok, false)
        const flipped = Buffer.from(bytes)
        flipped[13] ^= 1 // desiredMinTx
        const pf = decode(flipped)
        assert.ok(pf.ok)
        if (key.type !== AuthType.SimplePassword) assert.equal(verifyAuth(flipped, pf.packet, key).ok, false)
        assert.equal(verifyAuth(bytes, dec(AUTH[name]), { ...key, keyId: 9 }).ok, false)
        assert.equal(verifyAuth(bytes, dec(AUTH[name]), undefined).ok, false)
      })
    }
    it('rejects a packet without authentication when a key is configured', () => {
      assert.equal(verifyAuth(Buffer.from(FRR.up, 'hex'), dec(FRR.up), keys.md5.key).ok, false)
      assert.deepEqual(verifyAuth(Buffer.from(FRR.up, 'hex'), dec(FRR.up), undefined), { ok: true })
    })
    it('applies the sequence window (keyed vs meticulous)', () => {
      let st = { known: false, last: 0 }
      const r0 = checkAuthSequence(st, 100, false, 3)
      assert.ok(r0.ok)
      st = r0.state
      assert.ok(checkAuthSequence(st, 100, false, 3).ok, 'keyed accepts a repeat')
      assert.equal(checkAuthSequence(st, 100, true, 3).ok, false, 'meticulous rejects a repeat')
      assert.ok(checkAuthSequence(st, 109, true, 3).ok)
      assert.equal(checkAuthSequence(st, 110, true, 3).ok, false)
      assert.equal(checkAuthSequence(st, 99, false, 3).ok, false)
      assert.ok(checkAuthSequence({ known: true, last: 0xffffffff }, 2, true, 1).ok, 'wraps')
    })
  })

  describe('malformed packets are verdicts', () => {
    const up = Buffer.from(FRR.up, 'hex')
    const mut = (f: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(up)
      f(b)
      return b
    }
    const cases: [string, Buffer, RegExp][] = [
      ['short', up.subarray(0, 23), /short/],
      ['version 0', mut((b) => (b[0] = 0x00)), /version/],
      ['length 20', mut((b) => (b[3] = 20)), /length/],
      ['length beyond', mut((b) => (b[3] = 40)), /beyond/],
      ['mult 0', mut((b) => (b[2] = 0)), /multiplier/],
      ['multipoint', mut((b) => (b[1] |= 1)), /multipoint/],
      ['my discr 0', mut((b) => b.writeUInt32BE(0, 4)), /my discriminator/],
      ['your discr 0 in Up', mut((b) => b.writeUInt32BE(0, 8)), /your discriminator/],
      ['P and F', mut((b) => (b[1] |= 0x30)), /poll and final/],
      ['A bit with no room', mut((b) => (b[1] |= 0x04)), /authentication/],
    ]
    for (const [name, buf, re] of cases)
      it(name, () => {
        const r = decode(buf)
        assert.equal(r.ok, false)
        if (!r.ok) assert.match(r.reason, re)
      })
    it('bad auth section shapes', () => {
      const a = Buffer.from(AUTH.md5, 'hex')
      const t = Buffer.from(a)
      t[24] = 9
      assert.equal(decode(t).ok, false)
      const l = Buffer.from(a)
      l[25] = 20
      assert.equal(decode(l).ok, false)
      const s = Buffer.from(AUTH.simple, 'hex')
      s[25] = 3
      assert.equal(decode(s).ok, false)
    })
  })

  describe('fuzzing', () => {
    const arbPacket = fc.record({
      diag: fc.integer({ min: 0, max: 31 }),
      state: fc.constantFrom(BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up),
      poll: fc.boolean(),
      final: fc.boolean(),
      cpi: fc.boolean(),
      demand: fc.boolean(),
      detectMult: fc.integer({ min: 1, max: 255 }),
      myDiscr: fc.integer({ min: 1, max: 0xffffffff }),
      yourDiscr: fc.integer({ min: 1, max: 0xffffffff }),
      desiredMinTx: fc.integer({ min: 0, max: 0xffffffff }),
      requiredMinRx: fc.integer({ min: 0, max: 0xffffffff }),
      requiredMinEchoRx: fc.integer({ min: 0, max: 0xffffffff }),
    })
    const arbKey = fc.option(
      fc.oneof(
        fc.record({ type: fc.constant(AuthType.SimplePassword), keyId: fc.integer({ min: 0, max: 255 }), secret: fc.uint8Array({ minLength: 1, maxLength: 16 }).map((u) => Buffer.from(u)) }),
        fc.record({
          type: fc.constantFrom(AuthType.KeyedMd5, AuthType.MeticulousKeyedMd5, AuthType.KeyedSha1, AuthType.MeticulousKeyedSha1),
          keyId: fc.integer({ min: 0, max: 255 }),
          secret: fc.uint8Array({ minLength: 1, maxLength: 16 }).map((u) => Buffer.from(u)),
        }),
      ),
      { nil: undefined },
    )
    it('decode(encode(p)) round-trips and verifies', () => {
      fc.assert(
        fc.property(arbPacket, arbKey, fc.integer({ min: 0, max: 0xffffffff }), (p0, key, seq) => {
          const p = { ...p0, final: p0.poll ? false : p0.final }
          const bytes = encode(p, key as AuthKey | undefined, seq)
          const r = decode(bytes)
          assert.ok(r.ok, r.ok ? '' : r.reason)
          const { version: _v, multipoint: _m, auth, ...rest } = r.packet
          assert.deepEqual(rest, p)
          assert.deepEqual(verifyAuth(bytes, r.packet, key as AuthKey | undefined), { ok: true })
          if (auth && 'sequence' in auth) assert.equal(auth.sequence, seq)
        }),
        { numRuns: 2000 },
      )
    })
    it('never throws on arbitrary bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (u) => {
          const r = decode(u)
          if (r.ok) verifyAuth(u, r.packet, { type: AuthType.KeyedSha1, keyId: 1, secret: Buffer.from('k') })
        }),
        { numRuns: 5000 },
      )
    })
    it('never throws on mutated valid packets', () => {
      fc.assert(
        fc.property(fc.constantFrom(...Object.values(AUTH), ...Object.values(FRR)), fc.array(fc.tuple(fc.nat(60), fc.nat(255)), { maxLength: 4 }), (hex, muts) => {
          const b = Buffer.from(hex, 'hex')
          for (const [i, v] of muts) if (i < b.length) b[i] = v
          const r = decode(b)
          if (r.ok) verifyAuth(b, r.packet, { type: AuthType.KeyedMd5, keyId: 2, secret: Buffer.from('key1') })
        }),
        { numRuns: 3000 },
      )
    })
  })
})
