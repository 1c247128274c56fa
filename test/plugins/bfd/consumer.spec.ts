import { strict as assert } from 'node:assert'
import sinon from 'sinon'
import { Scheduler, type CheckOutcome, type CheckerSpec } from '@kad/core'
import { createTestHost } from '@kad/core/testing'
import bfdPlugin, { BfdChecker, BfdStatusBoard, bfdSection, type BfdSessionEvent } from '../../../plugins/bfd/src/index.js'
import { TimerQueue } from '../../../plugins/bfd/src/timer-queue.js'
import checkersPlugin from '../../../plugins/checkers/src/index.js'
import vrrpPlugin from '../../../plugins/vrrp/src/index.js'

const ev = (name: string, up: boolean, state = up ? 'Up' : 'Down'): BfdSessionEvent => ({
  name, up, state, from: up ? 'Init' : 'Up', diag: up ? 0 : 1, diagText: up ? 'No Diagnostic' : 'Control Detection Time Expired', remoteDiag: 0, neighbor: '192.0.2.2', at: Date.now(), mono: 0,
})

const spec = (name: string): CheckerSpec => ({
  type: 'BFD_CHECK',
  options: { name },
  target: { family: 4, address: '192.0.2.20', port: 80 },
  timing: { delayLoop: 60, connectTimeout: 5, retry: 1, delayBeforeRetry: 1, warmup: 0 },
  realServer: '[192.0.2.20]:80',
})

describe('bfd consumers (vrrp and check children)', () => {
  describe('status board', () => {
    it('starts down, follows events, notifies only on up/down changes', () => {
      const b = new BfdStatusBoard()
      const seen: boolean[] = []
      const all: string[] = []
      b.subscribe('x', (s) => seen.push(s.up))
      b.subscribe('*', (s) => all.push(s.name))
      assert.equal(b.isUp('x'), false)
      b.update(ev('x', true))
      b.update(ev('x', true))
      b.update(ev('x', false, 'Down'))
      b.update(ev('y', true))
      assert.deepEqual(seen, [true, false])
      assert.deepEqual(all, ['x', 'x', 'y'])
      assert.equal(b.isUp('y'), true)
    })
    it('ignores malformed payloads', () => {
      const b = new BfdStatusBoard()
      for (const p of [null, 1, 'x', {}, { name: 'x' }, { name: 'x', up: 'yes', state: 'Up', at: 1 }]) assert.equal(b.update(p), false)
      assert.equal(b.ignored, 6)
    })
  })

  describe('BFD_CHECK checker', () => {
    it('reports the session state and pushes every change', async () => {
      const b = new BfdStatusBoard()
      const c = new BfdChecker(spec('nb'), b)
      assert.equal((await c.check(new AbortController().signal)).ok, false)
      const pushed: CheckOutcome[] = []
      const un = c.subscribe((o) => pushed.push(o))
      b.update(ev('nb', true))
      b.update(ev('other', false))
      b.update(ev('nb', false))
      un()
      b.update(ev('nb', true))
      assert.deepEqual(pushed.map((o) => o.ok), [true, false])
      assert.match((pushed[1] as { reason: string }).reason, /Down \(Control Detection Time Expired\)/)
      assert.ok(c.compare(spec('nb')))
      assert.ok(!c.compare(spec('nb2')))
      assert.equal(c.key(), 'BFD_CHECK|nb')
      assert.equal(c.dump().up, true)
    })
  })

  describe('in the host', () => {
    const config = `bfd_instance nb {
  neighbor_ip 192.0.2.20
}
virtual_server 192.0.2.10 80 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  real_server 192.0.2.20 80 {
    BFD_CHECK {
      name nb
    }
  }
}
`
    it('check child: remoteEvent bfd.session feeds the board and createChecker builds BFD_CHECK', async () => {
      const t = await createTestHost({ plugins: [bfdPlugin, checkersPlugin, vrrpPlugin], config, role: 'check' })
      try {
        // the plugin import()s its run-time modules where it runs: compare with the classes of that module load
        // (this spec file itself may have been loaded through the test runner's CommonJS transform)
        const live = await import('../../../plugins/bfd/src/consumer.js')
        const board = (t.container.cradle as unknown as { bfdStatus: BfdStatusBoard }).bfdStatus
        assert.ok(board instanceof live.BfdStatusBoard)
        const checker = t.hooks.createChecker.for('BFD_CHECK').call(spec('nb'), {} as never)
        assert.ok(checker instanceof live.BfdChecker)
        const pushed: boolean[] = []
        checker.subscribe!((o) => pushed.push(o.ok))
        t.emitRemote('bfd.session', ev('nb', true), 'bfd')
        t.emitRemote('bfd.session', ev('nb', false), 'bfd')
        assert.deepEqual(pushed, [true, false])
      } finally {
        await t.stop()
      }
    })

    it('a starting vrrp child asks the bfd child for the current states', async () => {
      const t = await createTestHost({ plugins: [bfdPlugin, checkersPlugin, vrrpPlugin], config: 'bfd_instance nb {\n neighbor_ip 192.0.2.20\n}\n', role: 'vrrp' })
      try {
        await t.start()
        assert.deepEqual(t.events.filter(([c]) => c === 'bfd.resync'), [['bfd.resync', { role: 'vrrp' }]])
      } finally {
        await t.stop()
      }
    })

    it('track_bfd in vrrp_instance and vrrp_sync_group lands in the bfd section', async () => {
      const t = await createTestHost({
        plugins: [bfdPlugin, checkersPlugin, vrrpPlugin],
        role: 'parent',
        config: `bfd_instance nb {
  neighbor_ip 192.0.2.20
  weight 10
}
bfd_instance nb2 {
  neighbor_ip 192.0.2.21
}
vrrp_instance VI_1 {
  interface lo
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100/24
  }
  track_bfd {
    nb
    nb2 weight -20 reverse
    nosuch
  }
}
vrrp_sync_group G1 {
  group {
    VI_1
  }
  track_bfd {
    nb noreverse
  }
}
`,
      })
      await t.stop()
      const s = bfdSection(t.model)
      assert.deepEqual(
        s.vrrpInstances.VI_1.map((x) => [x.name, x.weight, x.reverse]),
        [
          ['nb', undefined, undefined],
          ['nb2', -20, true],
          ['nosuch', undefined, undefined],
        ],
      )
      assert.deepEqual(s.syncGroups.G1.map((x) => [x.name, x.reverse]), [['nb', false]])
      const m = t.diagnostics.map((d) => d.message)
      assert.ok(m.includes('(VI_1) track_bfd nosuch not found, ignoring...'), m.join('\n'))
      const board = new BfdStatusBoard()
      board.update(ev('nb2', true))
      // nb (weight 0 via track line? no: the instance default 10) down -> 0, nb2 up with -20 reverse -> -(-20)... reverse of a
      // negative weight adds when down; up -> 0
      assert.deepEqual(board.trackedEffect(t.model, 'instance', 'VI_1'), {
        fault: false,
        delta: 0,
        entries: [
          { name: 'nb', up: false, weight: 10, reverse: false },
          { name: 'nb2', up: true, weight: -20, reverse: true },
        ],
      })
    })
  })

  describe('timer queue', () => {
    let clock: sinon.SinonFakeTimers
    beforeEach(() => {
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance', 'Date'] })
    })
    afterEach(() => clock.restore())
    const sched = () => new Scheduler({ clock: { now: () => performance.now(), wallNow: () => Date.now(), setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout), setImmediate: (f) => setImmediate(f), clearImmediate: (h) => clearImmediate(h as NodeJS.Immediate) } })

    it('runs entries in deadline order, never before their earliest time, skips cancelled ones', () => {
      const s = sched()
      const q = new TimerQueue(s)
      const t0 = performance.now()
      const ran: [string, number][] = []
      q.at(t0 + 30, () => ran.push(['c', performance.now() - t0]))
      q.at(t0 + 10, () => ran.push(['a', performance.now() - t0]))
      const x = q.at(t0 + 20, () => ran.push(['x', performance.now() - t0]))
      q.at(t0 + 25, () => ran.push(['early', performance.now() - t0]), 5)
      x.cancel()
      clock.tick(100)
      assert.deepEqual(ran.map((r) => r[0]), ['a', 'early', 'c'])
      assert.ok(ran[0][1] >= 10)
      assert.ok(ran[1][1] >= 20 && ran[1][1] <= 25)
      assert.ok(ran[2][1] >= 30)
    })

    it('an entry added inside a callback for an earlier time re-arms the queue', () => {
      const s = sched()
      const q = new TimerQueue(s)
      const t0 = performance.now()
      const ran: number[] = []
      q.at(t0 + 50, () => ran.push(50))
      q.at(t0 + 10, () => q.at(t0 + 20, () => ran.push(20)))
      clock.tick(100)
      assert.deepEqual(ran, [20, 50])
    })

    it('stop() drops everything', () => {
      const s = sched()
      const q = new TimerQueue(s)
      let n = 0
      q.at(performance.now() + 5, () => n++)
      q.stop()
      clock.tick(50)
      assert.equal(n, 0)
      assert.equal(s.size, 0)
    })
  })
})

describe('bfd engine without sockets', () => {
  it('counts malformed packets and packets that match no session; dumps its counters and histograms', async () => {
    const { BfdEngine } = await import('../../../plugins/bfd/src/io.js')
    const { createNullLogger, systemClock } = await import('@kad/core')
    const scheduler = new Scheduler({ clock: systemClock })
    const e = new BfdEngine({ log: createNullLogger(), scheduler })
    e.onPacket(Buffer.from('garbage'), { from: '192.0.2.9', ttl: 255 }, 4, 3784)
    const good = Buffer.from('20c0031811a14296d9c66cd7000493e0000493e00000c350', 'hex')
    e.onPacket(good, { from: '192.0.2.9', ttl: 255 }, 4, 3784)
    assert.equal(e.counters.rxPackets, 2)
    assert.equal(e.counters.rxMalformed, 1)
    assert.equal(e.counters.rxNoSession, 1)
    const j = e.dumpJson() as { counters: Record<string, number>; sessions: unknown[]; txLatenessUs: { count: number } }
    assert.equal(j.counters.rxMalformed, 1)
    assert.deepEqual(j.sessions, [])
    assert.equal(j.txLatenessUs.count, 0)
    assert.ok(e.dumpLines().some((l) => l.includes('tx lateness us')))
    e.clearStats()
    assert.equal(e.counters.rxPackets, 0)
    e.stop()
  })
})
