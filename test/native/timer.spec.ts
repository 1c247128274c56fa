// The addon's precise timer (a timerfd polled by the event loop): accuracy, re-arming, cancel, close, fds, and
// whether it keeps the process alive.
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { preciseTimer, type PreciseTimer } from '../../native/ts/index.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const openFds = () => readdirSync('/proc/self/fd').length

describe('native preciseTimer', () => {
  const timers: PreciseTimer[] = []
  const make = (fn: (wokeLateUs: number) => void) => {
    const t = preciseTimer(fn)
    timers.push(t)
    return t
  }
  afterEach(() => {
    for (const t of timers.splice(0)) t.close()
  })

  it('fires once, never before its deadline and well within a bound, with and without a spin lead', async () => {
    for (const spin of [undefined, 0.3]) {
      const late: number[] = []
      for (let i = 0; i < 20; i++) {
        const due = performance.now() + 2.5
        await new Promise<void>((done) => {
          const t = make((wokeLateUs) => {
            late.push(performance.now() - due)
            assert.ok(Number.isInteger(wokeLateUs) && wokeLateUs >= 0, `woke late ${wokeLateUs} us`)
            done()
          })
          t.arm(2.5, spin)
        })
      }
      assert.ok(late.every((l) => l >= 0), `spin ${spin}: early by ${-Math.min(...late)} ms`)
      late.sort((a, b) => a - b)
      // generous: the machine is shared; the median is what the design promises (tens of microseconds)
      assert.ok(late[10] < 2, `spin ${spin}: median ${late[10]} ms late`)
    }
  })

  it('re-arming replaces the deadline; arm(0) and negative delays fire on the next poll', async () => {
    let n = 0
    const t = make(() => n++)
    const t0 = performance.now()
    t.arm(200)
    t.arm(3)
    await sleep(60)
    assert.equal(n, 1)
    assert.ok(performance.now() - t0 < 200)
    t.arm(0)
    await sleep(5)
    assert.equal(n, 2)
    t.arm(-5)
    await sleep(5)
    assert.equal(n, 3)
    await sleep(200)
    assert.equal(n, 3, 'a replaced deadline does not fire later')
  })

  it('disarm cancels, also after the expiry is already pending in this loop turn', async () => {
    let n = 0
    const t = make(() => n++)
    t.arm(5)
    t.disarm()
    await sleep(30)
    assert.equal(n, 0)
    t.arm(1)
    const end = performance.now() + 5
    while (performance.now() < end) {
      // the timerfd becomes readable while JavaScript runs
    }
    t.disarm()
    await sleep(10)
    assert.equal(n, 0)
  })

  it('close is idempotent; arm after close throws EBADF; a callback may close its own timer', async () => {
    const t = make(() => undefined)
    assert.ok(t.fd >= 0)
    t.close()
    t.close()
    assert.equal(t.fd, -1)
    assert.throws(() => t.arm(1), { code: 'EBADF' })
    let n = 0
    const self: PreciseTimer = make(() => {
      n++
      self.close()
      self.close()
    })
    self.arm(1)
    await sleep(20)
    assert.equal(n, 1)
  })

  it('leaks no file descriptor over 10,000 timers armed and closed', async () => {
    await sleep(5)
    const before = openFds()
    let fired = 0
    for (let i = 0; i < 10_000; i++) {
      const t = preciseTimer(() => fired++)
      t.arm(i % 2 === 0 ? 0 : 1000)
      t.close()
    }
    await sleep(5) // libuv frees the closed poll handles on the next turn
    assert.equal(openFds(), before)
    assert.equal(fired, 0, 'a closed timer never fires')
  })

  it('keeps the process alive only while armed', () => {
    const timerTs = fileURLToPath(new URL('../../native/ts/timer.ts', import.meta.url))
    const run = (body: string) =>
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { preciseTimer } from '${timerTs}'\n${body}`], { encoding: 'utf8', timeout: 10_000 })
    assert.equal(run(`const t = preciseTimer(() => console.log('fired')); t.arm(50)`), 'fired\n')
    const t0 = Date.now()
    assert.equal(run(`const t = preciseTimer(() => console.log('fired')); t.arm(5000); t.disarm()`), '')
    assert.equal(run(`preciseTimer(() => console.log('fired'))`), '')
    assert.ok(Date.now() - t0 < 5000)
  })
})
