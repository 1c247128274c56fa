import { strict as assert } from 'node:assert'
import { asValue } from 'awilix'
import { Host } from '../../core/src/host.js'
import { definePlugin, type Plugin } from '../../core/src/plugin/contract.js'
import { isKadError } from '../../core/src/errors.js'
import { HookError } from '../../core/src/hooks/hook-error.js'
import { HOST_API_VERSION } from '../../core/src/version.js'
import { createTestHost } from '../../core/src/testing/index.js'

const p = (name: string, extra: Partial<Plugin<any>['meta']> = {}, register: Plugin<any>['register'] = () => undefined): Plugin<any> =>
  definePlugin({ meta: { name, version: '1.0.0', host: '^' + HOST_API_VERSION, roles: ['check'], ...extra }, register })

async function rejects(fn: () => Promise<unknown>, code: string, re: RegExp) {
  try {
    await fn()
  } catch (e) {
    assert.ok(isKadError(e), `not a KadError: ${e}`)
    assert.equal((e as { code: string }).code, code)
    assert.match((e as Error).message, re)
    return
  }
  assert.fail('did not throw')
}
const host = (plugins: Plugin<any>[], role: 'check' | 'vrrp' = 'check') => Host.create({ role, plugins: plugins.map((plugin) => ({ plugin, source: 'inline' })) })

describe('core/host: plugin registration', () => {
  it('refuses a duplicate name, naming the plugin', () => rejects(() => host([p('a'), p('a')]), 'KAD_ERR_PLUGIN_DUPLICATE', /plugin a is registered twice/))
  it('refuses an incompatible host range', () => rejects(() => host([p('old', { host: '^0.1.0' })]), 'KAD_ERR_PLUGIN_HOST_RANGE', /plugin old needs host API \^0\.1\.0/))
  it('refuses a missing dependency', () => rejects(() => host([p('b', { dependencies: ['zzz'] })]), 'KAD_ERR_PLUGIN_DEPENDENCY', /plugin b depends on zzz/))
  it('refuses a provide that is not declared or already taken', async () => {
    await rejects(() => host([p('c', {}, (ctx) => ctx.provide('log' as never, asValue(1) as never))]), 'KAD_ERR_PLUGIN_PROVIDES', /does not list it/)
    await rejects(() => host([p('d', { provides: ['log'] }, (ctx) => ctx.provide('log' as never, asValue(1) as never))]), 'KAD_ERR_PLUGIN_PROVIDES', /already registered/)
  })
  it('refuses something that is not a plugin', () => rejects(() => Host.create({ role: 'check', plugins: [{ plugin: {} as Plugin<any>, source: 'x', packageName: 'kad-plugin-broken' }] }), 'KAD_ERR_PLUGIN_INVALID', /kad-plugin-broken/))
  it('times out a register() that never finishes', () =>
    rejects(() => Host.create({ role: 'check', registerTimeoutMs: 50, plugins: [{ plugin: p('slow', {}, () => new Promise(() => undefined)), source: 'inline' }] }), 'KAD_ERR_PLUGIN_TIMEOUT', /slow/))

  it('registers dependencies first, whatever the given order', async () => {
    const seen: string[] = []
    const mk = (n: string, deps: string[] = []) => p(n, { dependencies: deps }, () => void seen.push(n))
    await host([mk('z', ['y']), mk('y', ['x']), mk('x')])
    assert.deepEqual(seen, ['x', 'y', 'z'])
  })

  it('wraps a throwing tap in a HookError naming hook and plugin', async () => {
    const h = await host([p('boom', {}, (ctx) => ctx.hooks.start.tapPromise('boom', async () => { throw new Error('no socket') }))])
    try {
      await h.start(h.parse({ file: '/v', readFile: () => '' }).model)
      assert.fail('no error')
    } catch (e) {
      assert.ok(e instanceof HookError)
      assert.equal((e as HookError).hook, 'start')
      assert.equal((e as HookError).plugin, 'boom')
      assert.match((e as Error).message, /no socket/)
    }
    await h.stop('test')
  })

  it('taps of a plugin outside its role never fire, its keywords still parse', async () => {
    let fired = false
    const vr = p('vr', { roles: ['vrrp'] }, (ctx) => {
      ctx.hooks.start.tap('vr', () => void (fired = true))
      ctx.keywords.root.keyword('vr_thing', (k) => void k.section('vr', () => ({ n: 0 })))
    })
    const h = await host([vr], 'check')
    const res = h.parse({ file: '/v', readFile: () => 'vr_thing 1\n' })
    assert.equal(res.exitCode, 0, JSON.stringify(res.diagnostics))
    await h.start(res.model)
    assert.equal(fired, false)
    assert.equal(h.plugins[0].active, false)
    await h.stop('test')
  })

  it('runs shutdown taps of dependants before their dependencies', async () => {
    const order: string[] = []
    const mk = (n: string, deps: string[] = []) => p(n, { dependencies: deps }, (ctx) => ctx.hooks.shutdown.tap(n, () => void order.push(n)))
    const h = await host([mk('base'), mk('mid', ['base']), mk('top', ['mid'])])
    await h.start(h.parse({ file: '/v', readFile: () => '' }).model)
    await h.stop('test')
    assert.deepEqual(order, ['top', 'mid', 'base'])
  })
})

describe('core/testing: createTestHost', () => {
  it('loads a plugin with a config snippet on fake timers and records what it did', async () => {
    const plug = p('ticker', {}, (ctx) => {
      ctx.keywords.root.keyword('tick_every', (k) => {
        const v = k.timer(0, { min: 0.001 })
        if (v !== undefined) k.section('ticker', () => ({ every: 0 })).every = v
      })
      ctx.hooks.start.tap('ticker', (model) => {
        const every = (model.sections.ticker as { every: number }).every * 1000
        const { scheduler, notifications } = ctx.container.cradle
        let n = 0
        scheduler.every('ticker', every, () => notifications.publish({ source: 'check', kind: 'daemon', name: 'ticker', to: `TICK${++n}`, time: Date.now() }))
      })
    })
    const t = await createTestHost({ plugins: [plug], config: 'tick_every 0.5\n', fakeTimers: true })
    assert.equal(t.exitCode, 0)
    await t.start()
    await t.clock!.tickAsync(2010)
    assert.deepEqual(t.notifications.map((n) => n.to), ['TICK1', 'TICK2', 'TICK3', 'TICK4'])
    await t.stop()
  })

  it('reports located diagnostics for the snippet', async () => {
    const t = await createTestHost({ plugins: [], config: 'global_defs {\n  no_such_thing 1\n}\n' })
    assert.equal(t.exitCode, 5)
    assert.equal(t.diagnostics[0].loc?.line, 2)
    await t.stop()
  })
})

describe('core/host: HookMaps', () => {
  it('createChecker.for(TYPE) taps work and a throwing factory names its plugin', async () => {
    const h = await host([
      p('ck', {}, (ctx) => {
        ctx.hooks.createChecker.for('GOOD').tap('ck', () => ({ type: 'GOOD' }) as never)
        ctx.hooks.createChecker.for('BAD').tap('ck', () => {
          throw new Error('bad spec')
        })
      }),
    ])
    assert.equal((h.hooks.createChecker.for('GOOD').call({} as never, {} as never) as { type: string }).type, 'GOOD')
    assert.throws(() => h.hooks.createChecker.for('BAD').call({} as never, {} as never), (e: unknown) => e instanceof HookError && e.hook === 'createChecker.for(BAD)' && e.plugin === 'ck')
    await h.stop('test')
  })
})

describe('core/host: validateConfig runs everywhere', () => {
  it('fires for a plugin outside the parsing process role (the parent validates every section)', async () => {
    let ran = false
    const h = await Host.create({ role: 'parent', plugins: [{ plugin: p('v', { roles: ['vrrp'] }, (ctx) => ctx.hooks.validateConfig.tap('v', () => void (ran = true))), source: 'inline' }] })
    h.parse({ file: '/v', readFile: () => '' })
    assert.equal(ran, true)
    await h.stop('test')
  })
})
