/** FAKE_CHECK: a checker whose verdict per address the test sets (ok, fail, hang, weight). */
import { definePlugin, type Checker, type CheckerSpec, type CheckOutcome } from '@kad/core'
import { checkerBlock } from '@kad/plugin-checkers'

export type Behaviour = 'ok' | 'fail' | 'hang' | { weight: number }
export const behaviour = new Map<string, Behaviour>()
export const calls: { address: string; port: number; signal: AbortSignal }[] = []

export class FakeChecker implements Checker {
  readonly type = 'FAKE_CHECK'
  constructor(readonly spec: CheckerSpec) {}
  check(signal: AbortSignal): Promise<CheckOutcome> {
    const t = this.spec.target
    calls.push({ address: t.address, port: t.port, signal })
    const b = behaviour.get(t.address) ?? 'ok'
    if (b === 'hang') return new Promise(() => undefined)
    if (b === 'fail') return Promise.resolve({ ok: false, reason: 'fake failure' })
    if (b === 'ok') return Promise.resolve({ ok: true })
    return Promise.resolve({ ok: true, weight: b.weight })
  }
  compare(spec: CheckerSpec): boolean {
    return spec.type === this.type && JSON.stringify(spec.target) === JSON.stringify(this.spec.target)
  }
  key(): string {
    return `FAKE|${JSON.stringify(this.spec.target)}`
  }
  dump(): Record<string, unknown> {
    return {}
  }
}

export const fakePlugin = definePlugin({
  meta: { name: 'fake-checker', version: '0.0.0', host: '*', roles: ['check'] },
  register(ctx) {
    ctx.keywords.extend('virtual_server/real_server', (b) => b.block('FAKE_CHECK', checkerBlock('FAKE_CHECK')))
    ctx.hooks.createChecker.for('FAKE_CHECK').tap('fake-checker', (spec) => new FakeChecker(spec))
  },
})
