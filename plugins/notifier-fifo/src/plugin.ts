/** The notifier-fifo plugin: its keywords in every process; the FIFO writers only in the vrrp and check children. */
import { definePlugin, HOST_API_VERSION, STAGES, validateScripts, systemClock } from '@kad/core/plugin'
import type { Clock, ConfigModel, Notification, ProcessRole, ScriptRunner } from '@kad/core'
import { fifoSection, registerFifoKeywords, SECTION, FIFO_SCHEMA, type FifoKind, type FifoSpec } from './config.js'
import type { FifoStats, FifoWriter } from './fifo-writer.js'

export const PLUGIN_NAME = 'notifier-fifo'

export interface FifoPluginOptions {
  /** lines held per FIFO while its pipe is full (default 4096) and their byte budget (default 256 KiB) */
  readonly maxItems?: number
  readonly maxBytes?: number
  /** first retry after a full pipe (default 20 ms), doubling up to retryMaxMs (default 500 ms) */
  readonly retryMs?: number
  readonly retryMaxMs?: number
}

/** the FIFOs a process writes: VRRP events in the vrrp child, LVS events in the checker child */
const KINDS_BY_ROLE: Partial<Record<ProcessRole, readonly FifoKind[]>> = { vrrp: ['global', 'vrrp'], check: ['global', 'lvs'] }

interface Running {
  spec: FifoSpec
  writer: FifoWriter
  script?: AbortController
}

const TAP = { name: PLUGIN_NAME, stage: STAGES.PROVIDER }

export default definePlugin<FifoPluginOptions>({
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^' + HOST_API_VERSION,
    roles: ['vrrp', 'check'],
    description: "keepalived's notify FIFOs (notify_fifo, vrrp_notify_fifo, lvs_notify_fifo) and their reader scripts",
  },
  parseOptions(raw) {
    const o = (raw ?? {}) as Record<string, unknown>
    const num = (k: string) => (typeof o[k] === 'number' && (o[k] as number) > 0 ? (o[k] as number) : undefined)
    return { maxItems: num('maxItems'), maxBytes: num('maxBytes'), retryMs: num('retryMs'), retryMaxMs: num('retryMaxMs') }
  },
  async register(ctx) {
    ctx.keywords.extend('global_defs', registerFifoKeywords)
    ctx.keywords.schema(SECTION, FIFO_SCHEMA)
    ctx.hooks.validateConfig.tap(PLUGIN_NAME, (model, sink) => {
      const s = fifoSection(model)
      for (const kind of ['global', 'vrrp', 'lvs'] as const) {
        const f = s[kind]
        if (f?.script && !f.path) sink.report({ code: 'KAD_CFG_FIFO_SCRIPT', severity: 'warning', message: `${kind === 'global' ? '' : kind + '_'}notify_fifo_script without ${kind === 'global' ? '' : kind + '_'}notify_fifo is ignored` })
      }
      for (const kind of ['vrrp', 'lvs'] as const) {
        if (s.global?.path && s[kind]?.path === s.global.path) {
          sink.report({ code: 'KAD_CFG_FIFO_SAME', severity: 'warning', message: `notify FIFO ${s.global.path} has been specified for global and ${kind} FIFO - ignoring ${kind} FIFO` })
        }
      }
      const scripts = (['global', 'vrrp', 'lvs'] as const).flatMap((kind) => {
        const f = s[kind]
        return f?.script && f.path ? [{ command: f.script.command, user: f.script.user, what: `${kind === 'global' ? '' : kind + '_'}notify_fifo_script` }] : []
      })
      validateScripts(model, sink, scripts)
    })
    if (!ctx.active) return
    const [{ FifoWriter }, { fifoLine, lineFamily }] = await Promise.all([import('./fifo-writer.js'), import('./lines.js')])

    const log = ctx.log
    const cradle = ctx.container.cradle as { clock?: Clock; scriptRunner?: ScriptRunner }
    const clock = cradle.clock ?? systemClock
    const kinds = KINDS_BY_ROLE[ctx.role] ?? []
    const running = new Map<FifoKind, Running>()

    const wanted = (model: ConfigModel): Map<FifoKind, FifoSpec> => {
      const s = fifoSection(model)
      const m = new Map<FifoKind, FifoSpec>()
      for (const k of kinds) {
        const f = s[k]
        if (!f?.path) continue
        if (k !== 'global' && f.path === s.global?.path) continue // keepalived: the global FIFO wins
        m.set(k, f)
      }
      return m
    }

    const startOne = (kind: FifoKind, spec: FifoSpec) => {
      const writer = new FifoWriter(
        {
          path: spec.path!,
          user: spec.user,
          group: spec.group,
          maxItems: ctx.options.maxItems ?? 4096,
          maxBytes: ctx.options.maxBytes ?? 256 * 1024,
          retryMs: ctx.options.retryMs ?? 20,
          retryMaxMs: ctx.options.retryMaxMs ?? 500,
        },
        { log, clock },
      )
      const r: Running = { spec, writer }
      running.set(kind, r)
      // create and open first, so the reader script finds the FIFO
      writer.open()
      const scriptRunner = cradle.scriptRunner
      if (spec.script && scriptRunner) {
        // the reader script, FIFO path as its last argument; SIGTERMed (then SIGKILLed 1 s later) on stop/reload
        const ac = new AbortController()
        r.script = ac
        scriptRunner.run({ command: spec.script.command, user: spec.script.user, group: spec.script.group, extraArgs: [spec.path!] }, ac.signal).then(
          (res) => {
            if (!ac.signal.aborted) log.warn(`notify fifo script ${spec.script!.command} for ${spec.path} exited (code ${res.code}, signal ${res.signal})`)
          },
          (e: unknown) => log.error(`notify fifo script for ${spec.path} not run: ${(e as Error).message}`),
        )
      } else if (spec.script) log.error(`no script runner: notify fifo script for ${spec.path} not run`)
    }

    const stopOne = (kind: FifoKind) => {
      const r = running.get(kind)
      if (!r) return
      running.delete(kind)
      r.script?.abort()
      r.writer.close()
    }

    ctx.hooks.start.tapPromise(TAP, async (model) => {
      for (const [kind, spec] of wanted(model)) startOne(kind, spec)
    })
    ctx.hooks.reload.tapPromise(TAP, async (next) => {
      const w = wanted(next)
      for (const kind of [...running.keys()]) {
        const nspec = w.get(kind)
        if (!nspec || JSON.stringify(nspec) !== JSON.stringify(running.get(kind)!.spec)) stopOne(kind)
      }
      for (const [kind, spec] of w) if (!running.has(kind)) startOne(kind, spec)
    })
    // stop last (a stage above every plugin's default), after the publishers' STOP notices reached the FIFOs
    ctx.hooks.shutdown.tapPromise({ name: PLUGIN_NAME, stage: STAGES.OBSERVER + 1 }, async () => {
      await (ctx.container.cradle as { notifications?: { drain(): Promise<void> } }).notifications?.drain()
      for (const kind of [...running.keys()]) stopOne(kind)
    })

    // a write to a non-blocking FIFO (or a push to its bounded queue): never waits
    ctx.hooks.notify.tap(TAP, (n: Notification) => {
      if (running.size === 0) return
      const fam = lineFamily(n)
      if (!fam) return
      const line = fifoLine(n)
      if (!line) return
      running.get('global')?.writer.write(line)
      running.get(fam)?.writer.write(line)
    })

    const stats = (): FifoStats[] => [...running.values()].map((r) => r.writer.stats())
    ctx.hooks.dumpStats.tap(PLUGIN_NAME, (w, clear) => {
      if (running.size === 0) return
      w.section(
        'Notify FIFOs',
        stats().map((s) => `${s.path}: written ${s.written}, dropped ${s.dropped}, queued ${s.queued}, pipe full ${s.full}, errors ${s.errors}`),
      )
      if (clear) for (const r of running.values()) r.writer.clearStats()
    })
    ctx.hooks.dumpJson.tap(PLUGIN_NAME, (w) => {
      if (running.size > 0) w.json('notify_fifos', stats())
    })
  },
})
