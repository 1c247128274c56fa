import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { AuthType, BfdDiag, BfdState, decode, encode, type ControlPacket } from '../../../plugins/bfd/src/codec/packet.js'
import { BfdSession, jitteredInterval, txWindows, type SessionConfig, type StateChange } from '../../../plugins/bfd/src/session.js'

/** A fake clock with a timer queue: time only moves when the test advances it. */
class FakeTime {
  t = 1000
  private seq = 0
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = []
  at(deadline: number, fn: () => void) {
    const e = { at: deadline, seq: this.seq++, fn, live: true }
    this.timers.push(e)
    return { cancel: () => void (e.live = false) }
  }
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      this.timers = this.timers.filter((x) => x.live)
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq)
      const next = this.timers[0]
      if (!next || next.at > end) break
      next.live = false
      if (next.at > this.t) this.t = next.at
      next.fn()
    }
    this.t = end
  }
}

interface Side {
  s: BfdSession
  sent: { at: number; pkt: ControlPacket; bytes: Buffer }[]
  changes: StateChange[]
  late: number[]
}

function makeSide(time: FakeTime, cfg: Partial<SessionConfig> & { localDiscr: number }, deliver: (b: Buffer) => void, rnd = () => 0.5): Side {
  const side: Side = { s: undefined as unknown as BfdSession, sent: [], changes: [], late: [] }
  side.s = new BfdSession(
    { name: 'b' + cfg.localDiscr, minRxUs: 10_000, minTxUs: 10_000, idleTxUs: 1_000_000, detectMult: 3, ...cfg },
    {
      now: () => time.t,
      at: (_w, d, fn) => time.at(d, fn),
      transmit: (bytes) => {
        const r = decode(bytes)
        assert.ok(r.ok)
        side.sent.push({ at: time.t, pkt: r.packet, bytes })
        deliver(bytes)
      },
      onStateChange: (ev) => side.changes.push(ev),
      onTxLateness: (l) => side.late.push(l),
      random: rnd,
    },
  )
  return side
}

/** Two sessions joined by a link that can be cut, with an optional one-way delay. */
function pair(a: Partial<SessionConfig> = {}, b: Partial<SessionConfig> = {}, delayMs = 0.1) {
  const time = new FakeTime()
  const link = { up: true, aToB: true, bToA: true }
  let A!: Side, B!: Side
  const to = (dst: () => Side, dir: 'aToB' | 'bToA') => (bytes: Buffer) => {
    if (!link.up || !link[dir]) return
    time.at(time.t + delayMs, () => {
      const r = decode(bytes)
      if (r.ok) dst().s.receive(r.packet, bytes)
    })
  }
  A = makeSide(time, { localDiscr: 0x1111, ...a }, to(() => B, 'aToB'))
  B = makeSide(time, { localDiscr: 0x2222, ...b }, to(() => A, 'bToA'))
  return { time, link, A, B }
}

describe('bfd session (RFC 5880 asynchronous mode)', () => {
  describe('jitter (§6.8.7)', () => {
    it('reduces by 0..25 %, never late; at 75..90 % with detect mult 1', () => {
      fc.assert(
        fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 10_000 }), (r, iv) => {
          const j3 = jitteredInterval(iv, 3, r)
          assert.ok(j3 <= iv && j3 >= 0.75 * iv)
          const j1 = jitteredInterval(iv, 1, r)
          assert.ok(j1 <= 0.9 * iv + 1e-9 && j1 >= 0.75 * iv)
        }),
      )
    })
    it('with an early window and a lateness margin the actual interval stays within 75..100 %', () => {
      fc.assert(
        fc.property(
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          fc.double({ min: 0, max: 0.1, noNaN: true }),
          fc.double({ min: 0, max: 0.1, noNaN: true }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.integer({ min: 1, max: 3 }),
          (r, e0, l0, where, mult) => {
            const iv = 10
            const planned = jitteredInterval(iv, mult, r, e0, l0)
            const { early: e, late: l } = txWindows(mult, e0, l0)
            // the timer runs anywhere from e early to l late
            const actual = planned - e * iv + where * (e + l) * iv
            const top = mult === 1 ? 0.9 : 1
            assert.ok(actual >= 0.75 * iv - 1e-9 && actual <= top * iv + 1e-9, `${actual}`)
          },
        ),
      )
    })

    it('every periodic interval of a running session is within the bounds', () => {
      let x = 0
      const time = new FakeTime()
      const side = makeSide(time, { localDiscr: 7 }, () => undefined, () => (x = (x + 0.37) % 1))
      side.s.start()
      time.advance(20_000)
      const gaps = side.sent.slice(1).map((p, i) => p.at - side.sent[i].at)
      assert.ok(gaps.length > 15)
      for (const g of gaps) assert.ok(g >= 750 - 1e-9 && g <= 1000 + 1e-9, `gap ${g}`)
      assert.ok(new Set(gaps.map((g) => g.toFixed(3))).size > 3, 'jitter varies')
    })
  })

  describe('session establishment', () => {
    it('both active: Down -> Init -> Up, then fast timers via poll/final', () => {
      const { time, A, B } = pair()
      A.s.start()
      B.s.start()
      time.advance(5)
      assert.equal(A.s.state, BfdState.Up)
      assert.equal(B.s.state, BfdState.Up)
      assert.equal(A.s.remoteDiscr, 0x2222)
      assert.equal(B.s.remoteDiscr, 0x1111)
      assert.ok(A.changes.some((c) => c.to === 'Up'))
      time.advance(100)
      assert.equal(A.s.pollActive, false)
      assert.equal(B.s.pollActive, false)
      assert.equal(A.s.txIntervalMs(), 10)
      assert.equal(A.s.detectionTimeMs(), 30)
      // steady state: periodic packets without P/F, 7.5..10 ms apart
      const before = A.sent.length
      time.advance(1000)
      const steady = A.sent.slice(before)
      assert.ok(steady.length >= 100 && steady.length <= 134, String(steady.length))
      assert.ok(steady.every((p) => p.pkt.state === BfdState.Up && !p.pkt.poll && !p.pkt.final))
    })

    it('the Up transition sends Up+Poll with the fast timers and the peer answers Final', () => {
      const { time, A, B } = pair()
      A.s.start()
      B.s.start()
      time.advance(5)
      const p = A.sent.find((x) => x.pkt.poll)
      assert.ok(p)
      assert.equal(p.pkt.state, BfdState.Up)
      assert.equal(p.pkt.desiredMinTx, 10_000)
      assert.ok(B.sent.some((x) => x.pkt.final))
    })

    it('advertises the idle interval while not Up', () => {
      const time = new FakeTime()
      const a = makeSide(time, { localDiscr: 3 }, () => undefined)
      a.s.start()
      time.advance(1)
      assert.equal(a.sent[0].pkt.state, BfdState.Down)
      assert.equal(a.sent[0].pkt.desiredMinTx, 1_000_000)
      assert.equal(a.sent[0].pkt.requiredMinRx, 10_000)
      assert.equal(a.sent[0].pkt.yourDiscr, 0)
    })

    it('passive waits for the peer and then comes up', () => {
      const { time, A, B } = pair({ passive: true })
      A.s.start()
      time.advance(5000)
      assert.equal(A.sent.length, 0)
      B.s.start()
      time.advance(10)
      assert.equal(A.s.state, BfdState.Up)
      assert.equal(B.s.state, BfdState.Up)
    })

    it('both passive never start', () => {
      const { time, A, B } = pair({ passive: true }, { passive: true })
      A.s.start()
      B.s.start()
      time.advance(5000)
      assert.equal(A.sent.length + B.sent.length, 0)
    })

    it('passive goes silent again when the peer disappears', () => {
      const { time, A, B, link } = pair({ passive: true })
      A.s.start()
      B.s.start()
      time.advance(100)
      link.up = false
      time.advance(100)
      assert.equal(A.s.state, BfdState.Down)
      const n = A.sent.length
      time.advance(5000)
      assert.equal(A.sent.length, n)
    })
  })

  describe('detection', () => {
    it('goes Down with diag 1 within the detection time when the peer stops', () => {
      const { time, A, B, link } = pair()
      A.s.start()
      B.s.start()
      time.advance(200)
      link.up = false
      const cut = time.t
      time.advance(50)
      const down = A.changes.find((c) => c.to === 'Down')
      assert.ok(down)
      assert.equal(down.diag, BfdDiag.ControlDetectionTimeExpired)
      assert.ok(down.at - cut <= 30 + 0.2, `detected after ${down.at - cut} ms`)
      assert.ok(down.at - cut >= 20, `too early: ${down.at - cut}`)
      assert.equal(A.s.remoteDiscr, 0)
      assert.equal(A.s.txIntervalMs(), 1000, 'back to the idle rate')
    })

    it('never goes down falsely over a long run with worst-case jitter', () => {
      const { time, A, B } = pair({}, {}, 0.5)
      A.s.start()
      B.s.start()
      time.advance(60_000)
      assert.equal(A.changes.filter((c) => c.to === 'Down').length, 0)
      assert.equal(B.changes.filter((c) => c.to === 'Down').length, 0)
    })

    it('one-way loss: the side that hears nothing goes down, the other follows on diag 3', () => {
      const { time, A, B, link } = pair()
      A.s.start()
      B.s.start()
      time.advance(200)
      link.bToA = false
      time.advance(40)
      assert.equal(A.s.state, BfdState.Down)
      time.advance(40)
      assert.equal(B.s.state, BfdState.Down)
      assert.equal(B.s.localDiag, BfdDiag.NeighborSignaledSessionDown)
    })

    it('recovers after the link comes back', () => {
      const { time, A, B, link } = pair()
      A.s.start()
      B.s.start()
      time.advance(200)
      link.up = false
      time.advance(200)
      link.up = true
      time.advance(3000)
      assert.equal(A.s.state, BfdState.Up)
      assert.equal(B.s.state, BfdState.Up)
    })

    it('uses the remote multiplier and the larger of our rx and its tx', () => {
      const { time, A, B } = pair({ minRxUs: 20_000 }, { detectMult: 5, minTxUs: 50_000 })
      A.s.start()
      B.s.start()
      time.advance(500)
      assert.equal(A.s.detectionTimeMs(), 5 * 50)
      assert.equal(B.s.detectionTimeMs(), 3 * 10)
      assert.equal(B.s.txIntervalMs(), 50)
      assert.equal(A.s.txIntervalMs(), 10)
    })
  })

  describe('poll / final on timer changes', () => {
    it('a slower tx is used only after Final; no flap', () => {
      const { time, A, B } = pair()
      A.s.start()
      B.s.start()
      time.advance(200)
      A.s.setTimers({ minTxUs: 100_000 })
      assert.equal(A.s.pollActive, true)
      assert.equal(A.s.txIntervalMs(), 10, 'old interval until Final')
      time.advance(5)
      assert.equal(A.s.pollActive, false)
      assert.equal(A.s.txIntervalMs(), 100)
      assert.equal(B.s.detectionTimeMs(), 300)
      time.advance(2000)
      assert.equal(A.s.state, BfdState.Up)
      assert.equal(B.changes.filter((c) => c.to === 'Down').length, 0)
    })

    it('a faster rx keeps the old detection time until Final', () => {
      const { time, A, B, link } = pair({ minRxUs: 100_000 }, { minTxUs: 10_000 })
      A.s.start()
      B.s.start()
      time.advance(1000)
      assert.equal(A.s.detectionTimeMs(), 300)
      link.bToA = false
      A.s.setTimers({ minRxUs: 10_000 })
      assert.equal(A.s.detectionTimeMs(), 300, 'no Final yet')
      link.bToA = true
      time.advance(50)
      assert.equal(A.s.detectionTimeMs(), 30)
      time.advance(1000)
      assert.equal(A.changes.filter((c) => c.to === 'Down').length, 0)
      assert.equal(B.changes.filter((c) => c.to === 'Down').length, 0)
    })

    it('keeps sending P until Final arrives, then stops', () => {
      const { time, A, B, link } = pair()
      A.s.start()
      B.s.start()
      time.advance(200)
      link.bToA = false
      const n = A.sent.length
      A.s.setTimers({ minTxUs: 20_000 })
      time.advance(25)
      assert.ok(A.sent.slice(n).every((p) => p.pkt.poll), 'P on every packet while polling')
      link.bToA = true
      time.advance(40)
      const last = A.sent[A.sent.length - 1]
      assert.equal(last.pkt.poll, false)
      assert.equal(A.s.pollActive, false)
    })

    it('a change during a poll runs a second poll after the first', () => {
      const { time, A, B } = pair()
      A.s.start()
      B.s.start()
      time.advance(200)
      const polls = A.s.counters.polls
      A.s.setTimers({ minTxUs: 20_000 })
      A.s.setTimers({ minTxUs: 30_000 })
      time.advance(100)
      assert.equal(A.s.counters.polls, polls + 2)
      assert.equal(A.s.txIntervalMs(), 30)
    })

    it('the peer changing its rx changes our tx interval', () => {
      const { time, A, B } = pair()
      A.s.start()
      B.s.start()
      time.advance(200)
      B.s.setTimers({ minRxUs: 50_000 })
      time.advance(100)
      assert.equal(A.s.txIntervalMs(), 50)
      assert.equal(B.s.detectionTimeMs(), 150)
    })

    it('no poll and immediate effect when the session is not Up', () => {
      const time = new FakeTime()
      const a = makeSide(time, { localDiscr: 3 }, () => undefined)
      a.s.start()
      a.s.setTimers({ minRxUs: 30_000, idleTxUs: 2_000_000 })
      assert.equal(a.s.pollActive, false)
      assert.equal(a.s.requiredMinRx, 30_000)
      assert.equal(a.s.desiredMinTx, 2_000_000)
    })
  })

  describe('admin down', () => {
    it('AdminDown tells the peer, which goes Down with diag 3 and stays down', () => {
      const { time, A, B } = pair()
      A.s.start()
      B.s.start()
      time.advance(200)
      A.s.adminDown()
      time.advance(5)
      assert.equal(A.s.state, BfdState.AdminDown)
      assert.equal(B.s.state, BfdState.Down)
      assert.equal(B.s.localDiag, BfdDiag.NeighborSignaledSessionDown)
      time.advance(5000)
      assert.equal(B.s.state, BfdState.Down)
      A.s.adminUp()
      time.advance(3000)
      assert.equal(A.s.state, BfdState.Up)
      assert.equal(B.s.state, BfdState.Up)
    })
    it('a session configured AdminDown ignores the peer', () => {
      const { time, A, B } = pair({ adminDown: true })
      A.s.start()
      B.s.start()
      time.advance(3000)
      assert.equal(A.s.state, BfdState.AdminDown)
      assert.equal(B.s.state, BfdState.Down)
    })
  })

  describe('reception checks', () => {
    it('drops a packet with a foreign your-discriminator', () => {
      const time = new FakeTime()
      const a = makeSide(time, { localDiscr: 3 }, () => undefined)
      const pkt: ControlPacket = {
        diag: 0, state: BfdState.Down, poll: false, final: false, cpi: false, demand: false, detectMult: 3,
        myDiscr: 9, yourDiscr: 4, desiredMinTx: 1e6, requiredMinRx: 1e4, requiredMinEchoRx: 0,
      }
      assert.equal(a.s.receive(pkt).ok, false)
      assert.equal(a.s.counters.rxDropped, 1)
      assert.equal(a.s.state, BfdState.Down)
    })

    for (const type of [AuthType.SimplePassword, AuthType.KeyedMd5, AuthType.MeticulousKeyedMd5, AuthType.KeyedSha1, AuthType.MeticulousKeyedSha1]) {
      it(`auth type ${type}: matching keys come up, a wrong key is dropped and counted`, () => {
        const key = { type, keyId: 1, secret: Buffer.from('s3cret') }
        const ok = pair({ auth: key }, { auth: key })
        ok.A.s.start()
        ok.B.s.start()
        ok.time.advance(500)
        assert.equal(ok.A.s.state, BfdState.Up)
        assert.equal(ok.A.s.counters.authFailures, 0)
        const bad = pair({ auth: key }, { auth: { ...key, secret: Buffer.from('other') } })
        bad.A.s.start()
        bad.B.s.start()
        bad.time.advance(500)
        assert.notEqual(bad.A.s.state, BfdState.Up)
        assert.ok(bad.A.s.counters.authFailures > 0)
        const none = pair({ auth: key }, {})
        none.A.s.start()
        none.B.s.start()
        none.time.advance(500)
        assert.notEqual(none.A.s.state, BfdState.Up)
      })
    }

    it('meticulous auth drops a replayed packet', () => {
      const key = { type: AuthType.MeticulousKeyedSha1, keyId: 1, secret: Buffer.from('k') }
      const { time, A, B } = pair({ auth: key }, { auth: key })
      A.s.start()
      B.s.start()
      time.advance(200)
      const last = B.sent[B.sent.length - 1].bytes
      const r = decode(last)
      assert.ok(r.ok)
      const v = A.s.receive(r.packet, last)
      assert.equal(v.ok, false)
      assert.equal(A.s.state, BfdState.Up)
    })

    it('answers a Poll with an immediate Final even when not Up', () => {
      const time = new FakeTime()
      const a = makeSide(time, { localDiscr: 3 }, () => undefined)
      a.s.start()
      time.advance(1)
      const n = a.sent.length
      const p = encode({
        diag: 0, state: BfdState.Down, poll: true, final: false, cpi: false, demand: false, detectMult: 3,
        myDiscr: 9, yourDiscr: 0, desiredMinTx: 1e6, requiredMinRx: 1e4, requiredMinEchoRx: 0,
      })
      const r = decode(p)
      assert.ok(r.ok)
      a.s.receive(r.packet, p)
      assert.ok(a.sent.slice(n).some((x) => x.pkt.final && !x.pkt.poll))
    })

    it('does not transmit periodically when the peer asks for a zero rx interval', () => {
      const time = new FakeTime()
      const a = makeSide(time, { localDiscr: 3 }, () => undefined)
      a.s.start()
      time.advance(1)
      const p: ControlPacket = {
        diag: 0, state: BfdState.Down, poll: false, final: false, cpi: false, demand: false, detectMult: 3,
        myDiscr: 9, yourDiscr: 0, desiredMinTx: 1e6, requiredMinRx: 0, requiredMinEchoRx: 0,
      }
      a.s.receive(p)
      const n = a.sent.length
      time.advance(2500)
      assert.equal(a.sent.length, n)
    })
  })

  describe('state machine exhaustively (§6.8.6)', () => {
    const expected: Record<string, Record<string, string>> = {
      Down: { AdminDown: 'Down', Down: 'Init', Init: 'Up', Up: 'Down' },
      Init: { AdminDown: 'Down', Down: 'Init', Init: 'Up', Up: 'Up' },
      Up: { AdminDown: 'Down', Down: 'Down', Init: 'Up', Up: 'Up' },
      AdminDown: { AdminDown: 'AdminDown', Down: 'AdminDown', Init: 'AdminDown', Up: 'AdminDown' },
    }
    const states = ['AdminDown', 'Down', 'Init', 'Up'] as const
    for (const from of states)
      for (const rx of states)
        it(`${from} + received ${rx} -> ${expected[from][rx]}`, () => {
          const time = new FakeTime()
          const a = makeSide(time, { localDiscr: 3, adminDown: from === 'AdminDown' }, () => undefined)
          a.s.start()
          const mk = (state: BfdState): ControlPacket => ({
            diag: 0, state, poll: false, final: false, cpi: false, demand: false, detectMult: 3,
            myDiscr: 9, yourDiscr: state === BfdState.Down || state === BfdState.AdminDown ? 0 : 3,
            desiredMinTx: 10_000, requiredMinRx: 10_000, requiredMinEchoRx: 0,
          })
          if (from === 'Init') a.s.receive(mk(BfdState.Down))
          if (from === 'Up') {
            a.s.receive(mk(BfdState.Down))
            a.s.receive(mk(BfdState.Up))
          }
          assert.equal(a.s.stateName, from)
          a.s.receive(mk(BfdState[rx]))
          assert.equal(a.s.stateName, expected[from][rx])
        })
  })

  it('reports tx lateness against the planned time (0 with an exact fake clock)', () => {
    const { time, A, B } = pair()
    A.s.start()
    B.s.start()
    time.advance(500)
    assert.ok(A.late.length > 10)
    assert.ok(A.late.every((l) => l >= 0 && l < 1e-6))
  })
})
