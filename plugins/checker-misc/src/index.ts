import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import type { Checker, CheckerDeps, CheckerSpec, CheckOutcome } from '@kad/core'
import type { CheckerBlockModel } from '@kad/plugin-checkers'
import { checkerBlock } from '@kad/plugin-checkers/keywords'

export const PLUGIN_NAME = 'checker-misc'
export const TYPE = 'MISC_CHECK'

export interface MiscOptions {
  path?: string
  /** seconds; default delay_loop */
  timeout?: number
  dynamic?: boolean
  user?: string
  group?: string
}

/** keepalived's exit-code rule: 0 up, 1 down, 2..255 up (with weight code-2 when misc_dynamic), else down */
export function judgeExit(code: number | null, dynamic: boolean, timedOut: boolean, signal: string | null): CheckOutcome {
  if (timedOut) return { ok: false, reason: 'script timed out' }
  if (code === null) return { ok: false, reason: `script killed by ${signal ?? 'a signal'}` }
  if (code === 0) return { ok: true }
  if (code === 1) return { ok: false, reason: 'script exited 1' }
  if (dynamic && code >= 2 && code <= 255) return { ok: true, weight: code - 2 }
  return { ok: false, reason: `script exited ${code}` }
}

export class MiscChecker implements Checker {
  readonly type = TYPE
  private readonly o: MiscOptions
  private last: { code?: number | null; ms?: number } = {}
  constructor(
    readonly spec: CheckerSpec,
    private readonly deps: CheckerDeps,
  ) {
    this.o = spec.options as MiscOptions
  }
  async check(signal: AbortSignal): Promise<CheckOutcome> {
    if (!this.o.path) return { ok: false, reason: 'no misc_path' }
    const sspec = {
      command: this.o.path,
      ...(this.o.user ? { user: this.o.user } : {}),
      ...(this.o.group ? { group: this.o.group } : {}),
      timeoutMs: (this.o.timeout ?? this.spec.timing.connectTimeout) * 1000,
    }
    try {
      const r = await this.deps.scriptRunner.run(sspec, signal)
      this.last = { code: r.code, ms: Math.round(r.durationMs) }
      return judgeExit(r.code, !!this.o.dynamic, r.timedOut, r.signal)
    } catch (e) {
      // refused by enable_script_security, unknown user, …
      return { ok: false, reason: (e as Error).message }
    }
  }
  compare(spec: CheckerSpec): boolean {
    return spec.type === TYPE && this.key() === keyOf(spec)
  }
  key(): string {
    return keyOf(this.spec)
  }
  dump(): Record<string, unknown> {
    return { path: this.o.path, dynamic: !!this.o.dynamic, ...this.last }
  }
}

function keyOf(spec: CheckerSpec): string {
  // a script is the same check whatever real server it is attached to only when its command is the same
  return `${TYPE}|${spec.realServer}|${JSON.stringify(spec.options)}`
}

function o(c: CheckerBlockModel): MiscOptions {
  return c.options as MiscOptions
}

export default definePlugin({
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'], dependencies: ['checkers'], description: 'MISC_CHECK' },
  register(ctx) {
    ctx.keywords.extend('virtual_server/real_server', (b) =>
      b.block(
        TYPE,
        checkerBlock(TYPE, {
          connection: false,
          children: (cb) =>
            cb
              .keyword('misc_path', (k, c) => {
                const v = k.string(0, 'script')
                if (v !== undefined) o(c).path = k.args.length > 1 ? k.args.join(' ') : v
              })
              .keyword('misc_timeout', (k, c) => {
                const v = k.timer(0, { min: 0.000001 })
                if (v === undefined) return
                o(c).timeout = v
                // the framework's hard deadline for this checker is the script timeout
                c.common.connectTimeout = v
              })
              .keyword('misc_dynamic', (k, c) => {
                o(c).dynamic = k.bool(0) ?? true
              })
              .keyword('user', (k, c) => {
                const u = k.string(0, 'user')
                if (u === undefined) return
                const [user, group] = u.split(':')
                o(c).user = user
                const g = group || k.args[1]
                if (g) o(c).group = g
              }),
          close: (k, c) => {
            if (!o(c).path) k.error('Misc check with no script specified - ignoring')
          },
        }),
      ),
    )
    ctx.hooks.createChecker.for(TYPE).tap(PLUGIN_NAME, (spec, deps) => new MiscChecker(spec, deps))
  },
})
