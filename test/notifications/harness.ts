/**
 * A small host for notifier tests (written before @kad/core/testing landed; kept because it is light): real tapable hooks (createHostHooks), the real
 * Notifications service, a keyword registrar that records global_defs keywords and runs them on config lines,
 * and a logger that keeps its lines.
 */
import { createHostHooks, systemClock, Notifications, ScriptRunner } from '@kad/core'
import type { HostHooks, Clock, Logger, Plugin, PluginContext, ProcessRole, KeywordContext, KeywordRegistrar, BlockBuilder, ConfigModel, IpFamily, NotificationsOptions } from '@kad/core'

export interface LogLine {
  level: string
  msg: string
  obj?: Record<string, unknown>
}

export function makeLog(lines: LogLine[] = [], echo = !!process.env.KAD_TEST_LOG): Logger & { lines: LogLine[] } {
  const mk = (bindings: Record<string, unknown>): Logger & { lines: LogLine[] } => {
    const at = (level: string) => (msg: string, obj?: Record<string, unknown>) => {
      lines.push({ level, msg, obj: { ...bindings, ...(obj ?? {}) } })
      if (echo) console.error(`[${level}]`, msg)
    }
    return {
      lines,
      fatal: at('fatal'),
      error: at('error'),
      warn: at('warn'),
      info: at('info'),
      debug: at('debug'),
      child: (b) => mk({ ...bindings, ...b }),
      limited: (_key, level, msg, obj) => at(level)(msg, obj),
    }
  }
  return mk({})
}

type Handler = (k: KeywordContext, parent: any) => void
interface Node {
  keywords: Map<string, Handler>
  blocks: Map<string, { spec: any; node: Node }>
}
const newNode = (): Node => ({ keywords: new Map(), blocks: new Map() })

function builder(node: Node): BlockBuilder<any> {
  const b: BlockBuilder<any> = {
    keyword(name, handler, opts) {
      for (const n of [name, ...(opts?.aliases ?? [])]) {
        if (node.keywords.has(n)) throw new Error(`duplicate keyword ${n}`)
        node.keywords.set(n, handler)
      }
      return b
    },
    block(name, spec, opts) {
      const child = newNode()
      for (const n of [name, ...(opts?.aliases ?? [])]) node.blocks.set(n, { spec, node: child })
      spec.children?.(builder(child))
      return b
    },
  }
  return b
}

export interface Diag {
  severity: string
  message: string
  line: number
}

/**
 * A minimal reader of `global_defs { … }` for the keywords the plugins under test register (the real parser is
 * the config helper's; this one handles one block level with `{ }` on the keyword's line, quotes and comments).
 */
export class MiniKeywords implements KeywordRegistrar {
  readonly rootNode = newNode()
  readonly globalDefs = newNode()
  readonly schemas = new Map<string, object>()
  root = builder(this.rootNode)
  extend(path: string, fn: (b: BlockBuilder<any>) => void): void {
    if (path !== 'global_defs') throw new Error(`MiniKeywords: cannot extend ${path}`)
    fn(builder(this.globalDefs))
  }
  schema(section: string, s: object): void {
    this.schemas.set(section, s)
  }

  /** parse the text of a config holding global_defs { … }; returns the model and the diagnostics */
  parse(text: string, file = 'keepalived.conf'): { model: ConfigModel; diagnostics: Diag[] } {
    const sections: Record<string, unknown> = {}
    const diagnostics: Diag[] = []
    const global: Record<string, unknown> = {}
    sections.global_defs = global
    const lines = text.split('\n').map((l, i) => ({ words: words(l.replace(/[#!].*$/, '')), line: i + 1 }))
    let inGlobal = false
    let block: { node: Node; self: any; spec: any; k: KeywordContext } | undefined
    for (const { words: w, line } of lines) {
      if (w.length === 0) continue
      if (!inGlobal) {
        if (w[0] === 'global_defs') inGlobal = true
        continue
      }
      if (block) {
        if (w[0] === '}') {
          block.spec.close?.(block.k, block.self, global)
          block = undefined
          continue
        }
        const k = ctx(w, line, file, sections, diagnostics)
        const h = block.node.keywords.get(w[0])
        if (h) h(k, block.self)
        else if (block.spec.lines) block.spec.lines(k, block.self)
        else diagnostics.push({ severity: 'warning', message: `unknown keyword ${w[0]}`, line })
        continue
      }
      if (w[0] === '}') {
        inGlobal = false
        continue
      }
      const k = ctx(w.filter((x) => x !== '{'), line, file, sections, diagnostics)
      const h = this.globalDefs.keywords.get(w[0])
      const bl = this.globalDefs.blocks.get(w[0])
      if (h) h(k, global)
      else if (bl) {
        const self = bl.spec.open(k, global)
        block = { node: bl.node, self, spec: bl.spec, k }
        // items on the same line as `{ … }`
        const rest = w.slice(w.indexOf('{') + 1)
        const closeAt = rest.indexOf('}')
        const inner = closeAt >= 0 ? rest.slice(0, closeAt) : rest
        if (inner.length > 0) bl.spec.lines?.(ctx(inner, line, file, sections, diagnostics), self)
        if (closeAt >= 0) {
          bl.spec.close?.(k, self, global)
          block = undefined
        }
      } else if (w[0] === 'router_id') sections.core = { ...((sections.core as object) ?? {}), routerId: w[1] }
      else diagnostics.push({ severity: 'warning', message: `unknown keyword ${w[0]}`, line })
    }
    return { model: Object.freeze({ sections, files: [file], configId: 'test' }), diagnostics }
  }
}

function words(l: string): string[] {
  const out: string[] = []
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g
  let m: RegExpExecArray | null
  while ((m = re.exec(l))) out.push(m[1] ?? m[2] ?? m[3])
  return out
}

function ctx(w: readonly string[], line: number, file: string, sections: Record<string, unknown>, diags: Diag[]): KeywordContext {
  const args = w.slice(1)
  const report = (severity: string) => (message: string) => void diags.push({ severity, message, line })
  const k: KeywordContext = {
    keyword: w[0],
    args,
    loc: { file, line },
    path: `global_defs/${w[0]}`,
    configId: 'test',
    error: report('error'),
    warn: report('warning'),
    deprecated: report('deprecated'),
    fatal: report('fatal'),
    string: (i) => {
      if (args[i] === undefined) diags.push({ severity: 'error', message: `${w[0]}: missing parameter`, line })
      return args[i]
    },
    rest: (i) => args.slice(i).join(' '),
    unsigned: (i, o) => {
      const v = Number(args[i])
      if (args[i] === undefined || !/^\d+$/.test(args[i]) || (o?.min !== undefined && v < o.min) || (o?.max !== undefined && v > o.max)) {
        diags.push({ severity: 'error', message: `${w[0]}: bad number ${args[i]}`, line })
        return undefined
      }
      return v
    },
    integer: (i) => (/^-?\d+$/.test(args[i] ?? '') ? Number(args[i]) : undefined),
    timer: (i, o) => {
      const v = Number(args[i])
      if (!Number.isFinite(v) || (o?.min !== undefined && v < o.min) || (o?.max !== undefined && v > o.max)) {
        diags.push({ severity: 'error', message: `${w[0]}: bad timer ${args[i]}`, line })
        return undefined
      }
      return v
    },
    bool: (i, dflt = true) => {
      const a = args[i]
      if (a === undefined) return dflt
      if (/^(on|true|yes)$/i.test(a)) return true
      if (/^(off|false|no)$/i.test(a)) return false
      diags.push({ severity: 'error', message: `${w[0]}: bad boolean ${a}`, line })
      return undefined
    },
    address: (i, _f?: IpFamily) => (args[i] ? { family: args[i].includes(':') ? 6 : 4, address: args[i] } : undefined),
    prefix: () => undefined,
    oneOf: (i, ws) => (ws.includes(args[i] as never) ? (args[i] as never) : undefined),
    section: <T extends object>(name: string, init: () => T): T => {
      if (!(name in sections)) sections[name] = init()
      return sections[name] as T
    },
  }
  return k
}

export interface TestHost {
  hooks: HostHooks
  notifications: Notifications
  log: Logger & { lines: LogLine[] }
  keywords: MiniKeywords
  scriptRunner: ScriptRunner
  model?: ConfigModel
  diagnostics: Diag[]
  load(config: string): ConfigModel
  start(): Promise<void>
  stop(): Promise<void>
}

/** register plugins for `role` against real hooks; `load(config)` parses, `start()` calls hooks.start */
export async function makeHost(plugins: Plugin<any>[], role: ProcessRole, opts: { clock?: Clock; notifications?: NotificationsOptions; options?: Record<string, unknown> } = {}): Promise<TestHost> {
  const hooks = createHostHooks()
  const log = makeLog()
  const clock = opts.clock ?? systemClock
  const notifications = new Notifications({ hooks, log, clock }, opts.notifications)
  const scriptRunner = new ScriptRunner({ log })
  const keywords = new MiniKeywords()
  const cradle: Record<string, unknown> = { log, clock, notifications, scriptRunner, role }
  const container = { cradle } as unknown as PluginContext['container']
  for (const p of plugins) {
    const ctx: PluginContext<any> = {
      meta: p.meta,
      options: p.parseOptions ? p.parseOptions(opts.options?.[p.meta.name] ?? {}) : (opts.options?.[p.meta.name] ?? {}),
      role,
      active: p.meta.roles.includes(role),
      hooks,
      keywords,
      container,
      log: log.child({ plugin: p.meta.name }),
      provide: () => {
        throw new Error('provide is not supported by the test harness')
      },
    }
    await p.register(ctx)
  }
  const host: TestHost = {
    hooks,
    notifications,
    log,
    keywords,
    scriptRunner,
    diagnostics: [],
    load(config) {
      const r = keywords.parse(config)
      host.model = r.model
      host.diagnostics = r.diagnostics
      cradle.config = r.model
      return r.model
    },
    async start() {
      if (!host.model) host.load('')
      await hooks.beforeStart.promise(host.model!)
      await hooks.start.promise(host.model!)
    },
    async stop() {
      await notifications.drain()
      await hooks.shutdown.promise('test')
      // scripts were sent SIGTERM by their owners; give them a moment to act on it before the hard kill
      await new Promise((r) => setTimeout(r, 150))
      scriptRunner.killAll()
    },
  }
  return host
}

/** wait until `pred()` is true, polling every `stepMs` */
export async function waitFor(pred: () => boolean, timeoutMs = 5000, stepMs = 10, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, stepMs))
  }
}
