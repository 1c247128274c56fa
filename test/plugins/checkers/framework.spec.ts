import { strict as assert } from 'node:assert'
import sinon from 'sinon'
import checkersPlugin from '@kad/plugin-checkers'
import { captureLog, createHost, weights, type Running, type TestHost } from './helpers/host.js'
import { behaviour, calls, fakePlugin } from './helpers/fake-checker.js'

const vs = (body: string, head = '192.0.2.1 80', extra = '') => `
virtual_server ${head} {
  delay_loop 10
  lb_algo rr
  lb_kind NAT
  protocol TCP
  ${extra}
  ${body}
}`

const rs = (ip: string, extra = '', check = 'FAKE_CHECK {\n connect_timeout 2\n retry 2\n delay_before_retry 1\n }') => `
  real_server ${ip} 80 {
    weight 5
    ${extra}
    ${check}
  }`

describe('check framework (fake timers)', () => {
  let clock: sinon.SinonFakeTimers
  let host: TestHost
  let run: Running | undefined

  beforeEach(async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance', 'Date'] })
    behaviour.clear()
    calls.length = 0
    host = await createHost([checkersPlugin, fakePlugin])
  })
  afterEach(async () => {
    await run?.stop()
    run = undefined
    clock.restore()
  })

  it('first check within warmup (spread by the random source), then every delay_loop', async () => {
    const servers = Array.from({ length: 10 }, (_, i) => rs(`198.51.100.${i + 1}`)).join('\n')
    let n = 0
    run = await host.run(vs(servers), { random: () => (n++ % 10) / 10 })
    await clock.tickAsync(1)
    assert.ok(calls.length <= 1)
    // spread: one check per second over the 10 s warmup, never a burst
    for (let s = 1; s <= 10; s++) {
      await clock.tickAsync(1000)
      assert.ok(calls.length <= s + 1, `burst: ${calls.length} checks after ${s}s`)
    }
    assert.equal(new Set(calls.map((c) => c.address)).size, 10)
    assert.ok(calls.length <= 12)
    const n10 = calls.length
    await clock.tickAsync(10000)
    assert.equal(calls.length, n10 + 10)
  })

  it('retries `retry` times with delay_before_retry before declaring the server down', async () => {
    behaviour.set('198.51.100.1', 'fail')
    run = await host.run(vs(rs('198.51.100.1') + rs('198.51.100.2')), { random: () => 0 })
    await clock.tickAsync(1)
    assert.equal(calls.filter((c) => c.address === '198.51.100.1').length, 1)
    await clock.tickAsync(999)
    assert.equal(run.results.length, 0)
    await clock.tickAsync(1)
    assert.equal(calls.filter((c) => c.address === '198.51.100.1').length, 2)
    await clock.tickAsync(1000)
    assert.equal(calls.filter((c) => c.address === '198.51.100.1').length, 3)
    assert.equal(run.results.length, 1)
    assert.deepEqual({ rs: run.results[0].realServer, up: run.results[0].up }, { rs: '[198.51.100.1]:80', up: false })
    await clock.tickAsync(1)
    assert.deepEqual(weights(run.latest()!), { '[198.51.100.2]:80': 5 })
    const n = run.notifications.find((x) => x.kind === 'real-server')!
    assert.equal(n.name, '[198.51.100.1]:tcp:80')
    assert.equal(n.to, 'DOWN')
  })

  it('a check that never settles is failed at the hard deadline and its signal aborted', async () => {
    behaviour.set('198.51.100.1', 'hang')
    run = await host.run(vs(rs('198.51.100.1', '', 'FAKE_CHECK {\n connect_timeout 2\n retry 0\n }')), { random: () => 0 })
    await clock.tickAsync(1)
    assert.equal(calls.length, 1)
    assert.equal(calls[0].signal.aborted, false)
    await clock.tickAsync(2000)
    assert.equal(calls[0].signal.aborted, true)
    assert.equal(run.results.at(-1)?.up, false)
    assert.match(run.results.at(-1)!.reason!, /timeout/)
    // the next cycle still runs one delay_loop after the first began
    await clock.tickAsync(8000)
    assert.equal(calls.length, 2)
  })

  it('checks an identical real server under several virtual servers once and fans the result out', async () => {
    behaviour.set('198.51.100.7', 'fail')
    const text = vs(rs('198.51.100.7'), '192.0.2.1 80') + vs(rs('198.51.100.7'), '192.0.2.2 80')
    run = await host.run(text, { random: () => 0 })
    assert.equal(run.fw.stats().probes, 1)
    await clock.tickAsync(2000)
    assert.equal(calls.length, 3)
    await clock.tickAsync(1)
    const t = run.latest()!
    assert.equal(t.virtualServers.length, 2)
    for (const v of t.virtualServers) assert.equal(v.realServers.length, 0)
    assert.equal(run.results.length, 2)
  })

  it('alpha starts a real server down until its first success; dynamic weight follows the checker', async () => {
    behaviour.set('198.51.100.1', { weight: 42 })
    run = await host.run(vs(rs('198.51.100.1'), undefined, 'alpha'), { random: () => 0.5 })
    await clock.tickAsync(1)
    assert.deepEqual(weights(run.latest()!), {})
    await clock.tickAsync(5000)
    await clock.tickAsync(1)
    assert.deepEqual(weights(run.latest()!), { '[198.51.100.1]:80': 42 })
  })

  it('inhibit_on_failure keeps a failed server at weight 0', async () => {
    behaviour.set('198.51.100.1', 'fail')
    run = await host.run(vs(rs('198.51.100.1', 'inhibit_on_failure', 'FAKE_CHECK {\n retry 0\n }')), { random: () => 0 })
    await clock.tickAsync(1)
    await clock.tickAsync(1)
    assert.deepEqual(weights(run.latest()!), { '[198.51.100.1]:80': 0 })
  })

  it('quorum with hysteresis installs the sorry server and runs quorum scripts', async () => {
    const servers = [1, 2, 3].map((i) => rs(`198.51.100.${i}`, '', 'FAKE_CHECK {\n retry 0\n }')).join('\n')
    // weights 5 each: quorum 11 hysteresis 2 -> down below 9, up again at 13
    run = await host.run(vs(servers, undefined, 'quorum 11\nhysteresis 2\nsorry_server 203.0.113.9 8080\nquorum_up /bin/true\nquorum_down "/bin/true down"'), {
      random: () => 0,
    })
    await clock.tickAsync(1)
    await clock.tickAsync(1)
    assert.equal(run.latest()!.virtualServers[0].quorumUp, true)
    behaviour.set('198.51.100.1', 'fail')
    await clock.tickAsync(10000)
    await clock.tickAsync(1)
    // 10 >= 11-2: still up
    assert.equal(run.latest()!.virtualServers[0].quorumUp, true)
    behaviour.set('198.51.100.2', 'fail')
    await clock.tickAsync(10000)
    await clock.tickAsync(1)
    const down = run.latest()!.virtualServers[0]
    assert.equal(down.quorumUp, false)
    assert.deepEqual(
      down.realServers.map((r) => [r.id, r.weight, r.sorry]),
      [['[203.0.113.9]:8080', 1, true]],
    )
    assert.deepEqual(run.scripts, ['/bin/true down'])
    assert.equal(run.notifications.filter((n) => n.kind === 'virtual-server').at(-1)?.to, 'DOWN')
    // one back: 10 < 11+2 -> stays down (hysteresis)
    behaviour.set('198.51.100.1', 'ok')
    await clock.tickAsync(10000)
    await clock.tickAsync(1)
    assert.equal(run.latest()!.virtualServers[0].quorumUp, false)
    behaviour.set('198.51.100.2', 'ok')
    await clock.tickAsync(10000)
    await clock.tickAsync(1)
    const up = run.latest()!.virtualServers[0]
    assert.equal(up.quorumUp, true)
    assert.deepEqual(Object.keys(weights(run.latest()!)).sort(), ['[198.51.100.1]:80', '[198.51.100.2]:80', '[198.51.100.3]:80'])
    assert.deepEqual(run.scripts, ['/bin/true down', '/bin/true'])
  })

  it('publishes one topology per event-loop turn with an increasing generation', async () => {
    const servers = [1, 2, 3].map((i) => rs(`198.51.100.${i}`, '', 'FAKE_CHECK {\n retry 0\n }')).join('\n')
    for (const i of [1, 2, 3]) behaviour.set(`198.51.100.${i}`, 'fail')
    run = await host.run(vs(servers), { random: () => 0 })
    await clock.tickAsync(1)
    await clock.tickAsync(1)
    const gens = run.topologies.map((t) => t.generation)
    assert.ok(run.topologies.length <= 2, `published ${run.topologies.length} times`)
    assert.deepEqual(gens, [...gens].sort((a, b) => a - b))
    assert.deepEqual(weights(run.latest()!), {})
  })

  it('reload keeps the state of unchanged checkers and stops removed ones', async () => {
    behaviour.set('198.51.100.1', 'fail')
    const a = vs(rs('198.51.100.1', '', 'FAKE_CHECK {\n retry 0\n }') + rs('198.51.100.2', '', 'FAKE_CHECK {\n retry 0\n }'))
    run = await host.run(a, { random: () => 0 })
    await clock.tickAsync(1)
    await clock.tickAsync(1)
    assert.deepEqual(weights(run.latest()!), { '[198.51.100.2]:80': 5 })
    const before = calls.length
    const b = vs(rs('198.51.100.1', '', 'FAKE_CHECK {\n retry 0\n }') + rs('198.51.100.3', '', 'FAKE_CHECK {\n retry 0\n }'))
    const { checkersSection } = await import('@kad/plugin-checkers')
    run.fw.reload(checkersSection(host.parse(b).model))
    await clock.tickAsync(1)
    // .1 kept its failed state without a new check; .3 is new (up until checked)
    assert.deepEqual(weights(run.latest()!), { '[198.51.100.3]:80': 5 })
    assert.equal(calls.length - before, 1)
    assert.equal(run.fw.stats().probes, 2)
  })

  it('ha_suspend: no check while the VIP is not local, real servers keep their state, checks resume when it appears', async () => {
    let push: (present: ReadonlySet<string>) => void = () => undefined
    let watching = 0
    const addresses = {
      watch(cb: (present: ReadonlySet<string>) => void) {
        push = cb
        watching++
        return () => void watching--
      },
    }
    const lines: string[] = []
    // VS .1 has ha_suspend; VS .2 (no ha_suspend) shares .5's probe, which must keep running for it
    const text = vs(rs('198.51.100.1', '', 'FAKE_CHECK {\n retry 0\n }') + rs('198.51.100.5', '', 'FAKE_CHECK {\n retry 0\n }'), '192.0.2.1 80', 'ha_suspend') + vs(rs('198.51.100.5', '', 'FAKE_CHECK {\n retry 0\n }'), '192.0.2.2 80')
    run = await host.run(text, { random: () => 0, addresses, log: captureLog(lines) })
    assert.equal(watching, 1)
    const of = (a: string) => calls.filter((c) => c.address === a).length
    // the address list is not known yet: suspended
    await clock.tickAsync(25000)
    assert.equal(of('198.51.100.1'), 0)
    assert.equal(of('198.51.100.5'), 3)
    assert.ok(lines.includes('Suspending healthchecker for service [198.51.100.1]:tcp:80 for VS [192.0.2.1]:tcp:80'), lines.join('\n'))
    push(new Set(['198.51.100.200']))
    await clock.tickAsync(10000)
    assert.equal(of('198.51.100.1'), 0)
    const dump: string[] = []
    run.fw.dumpData({ section: (_t, l) => dump.push(...l), json: () => undefined })
    assert.ok(dump.includes(' VS = [192.0.2.1]:tcp:80 (suspended)'), dump.join('\n'))
    assert.ok(dump.some((l) => /Checker = FAKE_CHECK up suspended/.test(l)))
    // the VIP appears (canonical spelling compared): checks run every delay_loop
    push(new Set(['198.51.100.200', '192.0.2.1']))
    await clock.tickAsync(1)
    assert.equal(of('198.51.100.1'), 1)
    assert.ok(lines.includes('Activating healthchecker for service [198.51.100.1]:tcp:80 for VS [192.0.2.1]:tcp:80'))
    behaviour.set('198.51.100.1', 'fail')
    await clock.tickAsync(10000)
    await clock.tickAsync(1)
    assert.equal(of('198.51.100.1'), 2)
    assert.deepEqual(weights(run.latest()!), { '[198.51.100.5]:80': 5 })
    // the VIP goes: no more checks; the failed server stays failed, a healed one is not noticed
    push(new Set(['198.51.100.200']))
    behaviour.set('198.51.100.1', 'ok')
    const n5 = of('198.51.100.5')
    await clock.tickAsync(30000)
    assert.equal(of('198.51.100.1'), 2)
    assert.equal(of('198.51.100.5'), n5 + 3)
    assert.deepEqual(weights(run.latest()!), { '[198.51.100.5]:80': 5 })
    const j: Record<string, any> = {}
    run.fw.dumpJson({ json: (k, v) => (j[k] = v), section: () => undefined })
    assert.equal(j.checkers.virtualServers[0].suspended, true)
    assert.equal(j.checkers.virtualServers[1].suspended, undefined)
    await run.stop()
    run = undefined
    assert.equal(watching, 0)
  })

  it('ha_suspend across a reload: dropping it resumes checks and stops watching; adding it back suspends again', async () => {
    let push: (present: ReadonlySet<string>) => void = () => undefined
    let watching = 0
    const addresses = {
      watch(cb: (present: ReadonlySet<string>) => void) {
        push = cb
        watching++
        return () => void watching--
      },
    }
    const check = 'FAKE_CHECK {\n retry 0\n }'
    const suspended = vs(rs('198.51.100.1', '', check), '192.0.2.1 80', 'ha_suspend')
    run = await host.run(suspended, { random: () => 0, addresses })
    push(new Set())
    await clock.tickAsync(20000)
    assert.equal(calls.length, 0)
    const { checkersSection } = await import('@kad/plugin-checkers')
    run.fw.reload(checkersSection(host.parse(vs(rs('198.51.100.1', '', check), '192.0.2.1 80')).model))
    assert.equal(watching, 0)
    await clock.tickAsync(1)
    assert.equal(calls.length, 1)
    run.fw.reload(checkersSection(host.parse(suspended).model))
    assert.equal(watching, 1)
    await clock.tickAsync(30000)
    assert.equal(calls.length, 1)
    push(new Set(['192.0.2.1']))
    await clock.tickAsync(1)
    assert.equal(calls.length, 2)
  })
})
