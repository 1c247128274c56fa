import { pathToFileURL } from 'node:url'
import type { AwilixContainer, Resolver } from 'awilix'
import { createHostHooks, type DumpWriter, type HostHooks, type ShutdownReason } from './hooks/host-hooks.js'
import { HookError } from './hooks/hook-error.js'
import { KadError } from './errors.js'
import type { Logger } from './log.js'
import { createNullLogger } from './null-logger.js'
import { systemClock, type Clock } from './scheduler/clock.js'
import type { Cradle, Plugin, PluginContext, ProcessRole, TapOnly } from './plugin/contract.js'
import { orderPlugins, type PluginRecord } from './plugin/registry.js'
import { discoverPlugins, pluginSearchPath, type DiscoveredPlugin } from './plugin/discover.js'
import { createRootContainer, registerNetworking, type ConfigStore } from './di/container.js'
import type { Ipc } from './ipc.js'
import { defaultOptions, type DaemonOptions } from './options.js'
import type { ConfigDiagnostic, ConfigModel, ParseOptions, ParseResult } from './config/types.js'
import { KeywordTree, parseConfig, registerCoreKeywords, getCoreSection, configExitCode, finalizeDiagnostics } from './config/index.js'

export interface HostOptions {
  role: ProcessRole
  /** explicit plugins (tests, the testing kit); when absent, plugins are discovered in node_modules */
  plugins?: readonly PluginRecord[]
  /** extra node_modules directories to search */
  pluginPath?: readonly string[]
  log?: Logger
  clock?: Clock
  options?: DaemonOptions
  ipc?: Ipc
  /** per-plugin register() time limit */
  registerTimeoutMs?: number
}

export interface LoadedPlugin {
  readonly meta: Plugin<any>['meta']
  readonly source: string
  readonly packageName?: string
  readonly active: boolean
  readonly keywords: readonly string[]
}

/**
 * Load every discovered plugin module; failures become KAD_ERR_PLUGIN_LOAD naming the package (the first in
 * discovery order). The modules load concurrently: their files are read by the loader's asynchronous I/O, which
 * a sequential loop would wait for one module graph at a time.
 */
export async function importPlugins(found: readonly DiscoveredPlugin[]): Promise<PluginRecord[]> {
  const loaded = await Promise.allSettled(found.map((d) => import(pathToFileURL(d.entry).href) as Promise<Record<string, unknown>>))
  return found.map((d, i) => {
    const r = loaded[i]
    if (r.status === 'rejected') {
      const e = r.reason
      throw new KadError('KAD_ERR_PLUGIN_LOAD', `cannot load plugin ${d.packageName} from ${d.entry}: ${(e as Error).message}`, { cause: e, details: { package: d.packageName } })
    }
    const plugin = (r.value.default ?? r.value.plugin) as Plugin<any> | undefined
    return { plugin: plugin as Plugin<any>, packageName: d.packageName, source: d.source }
  })
}

function wrapTap(hookName: string, tap: { name: string; type: string; fn: (...a: any[]) => any }): void {
  const fn = tap.fn
  if (tap.type === 'sync') {
    tap.fn = (...a: unknown[]) => {
      try {
        return fn(...a)
      } catch (e) {
        throw e instanceof HookError ? e : new HookError(hookName, tap.name, e)
      }
    }
  } else if (tap.type === 'promise') {
    tap.fn = async (...a: unknown[]) => {
      try {
        return await fn(...a)
      } catch (e) {
        throw e instanceof HookError ? e : new HookError(hookName, tap.name, e)
      }
    }
  } else {
    tap.fn = (...a: unknown[]) => {
      const cb = a.pop() as (err?: unknown, r?: unknown) => void
      try {
        fn(...a, (err: unknown, r: unknown) => cb(err ? new HookError(hookName, tap.name, err) : err, r))
      } catch (e) {
        cb(new HookError(hookName, tap.name, e))
      }
    }
  }
}

/** taps that throw become HookError { hook, plugin }; shutdown taps run dependants first */
function instrumentHooks(hooks: HostHooks, pluginOrder: () => Map<string, number>): void {
  for (const [name, h] of Object.entries(hooks)) {
    const instrument = (hook: any, hookName: string) =>
      hook.intercept({
        register: (tap: any) => {
          wrapTap(hookName, tap)
          if (hookName === 'shutdown' && tap.stage === undefined) {
            const idx = pluginOrder().get(tap.name)
            if (idx !== undefined) tap.stage = -idx
          }
          return tap
        },
      })
    if (typeof (h as any).for === 'function' && typeof (h as any).intercept === 'function' && !(h as any).taps) {
      // tapable calls factory(key, hook) with the hook it just created for that key
      ;(h as any).intercept({
        factory: (key: string, hook: any) => {
          instrument(hook, `${name}.for(${key})`)
          return hook
        },
      })
    } else instrument(h, name)
  }
}

/**
 * The time limit of each plugin's register(): one timer for the whole registration, re-armed per plugin (a timer
 * per plugin cost more than most registrations).
 */
class RegisterDeadline {
  private plugin = ''
  private timer: NodeJS.Timeout | undefined
  private readonly expired: Promise<never>
  private readonly fire: () => void

  constructor(private readonly ms: number) {
    let reject!: (e: Error) => void
    this.expired = new Promise<never>((_, rej) => (reject = rej))
    this.expired.catch(() => undefined) // raced while armed; a rejection after the last race is nobody's
    this.fire = () => reject(new KadError('KAD_ERR_PLUGIN_TIMEOUT', `plugin ${this.plugin} did not finish register() within ${this.ms} ms`, { details: { plugin: this.plugin } }))
  }

  race(plugin: string, r: void | Promise<void>): Promise<unknown> {
    this.plugin = plugin
    if (this.timer) this.timer.refresh()
    else {
      this.timer = setTimeout(this.fire, this.ms)
      this.timer.unref()
    }
    return Promise.race([Promise.resolve(r), this.expired])
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer)
  }
}

/**
 * The composition root of one process: container, hooks, keyword tree, plugins. The parent uses it to parse and
 * validate; each child uses it to run its role's plugins.
 */
export class Host {
  readonly role: ProcessRole
  readonly hooks: HostHooks
  readonly container: AwilixContainer<Cradle>
  readonly tree: KeywordTree
  readonly log: Logger
  readonly options: DaemonOptions
  private readonly loaded: LoadedPlugin[] = []
  private readonly scopes: AwilixContainer<Cradle>[] = []
  private model: ConfigModel | undefined
  private started = false

  private constructor(opts: HostOptions) {
    this.role = opts.role
    this.log = opts.log ?? createNullLogger()
    this.options = opts.options ?? defaultOptions()
    this.hooks = createHostHooks()
    const order = new Map<string, number>()
    instrumentHooks(this.hooks, () => order)
    this.pluginIndex = order
    const store: ConfigStore = { current: () => this.model }
    const ipc: Ipc = opts.ipc ?? { publish: (channel, payload) => this.hooks.remoteEvent.get(channel)?.call(payload, this.role) }
    this.container = createRootContainer({ log: this.log, clock: opts.clock ?? systemClock, role: this.role, hooks: this.hooks, ipc, options: this.options, config: store })
    this.tree = new KeywordTree()
    registerCoreKeywords(this.tree)
  }
  private readonly pluginIndex: Map<string, number>

  static async create(opts: HostOptions): Promise<Host> {
    const host = new Host(opts)
    // the parent parses and supervises (it starts only plugins whose roles include 'parent', none of which needs the
    // network library): only the children get the networking service
    if (host.role !== 'parent') await registerNetworking(host.container)
    const records = opts.plugins ?? (await importPlugins(discoverPlugins(pluginSearchPath([...(opts.pluginPath ?? []), ...(opts.options?.pluginPath ?? [])]))))
    await host.registerAll(records, opts.registerTimeoutMs ?? 10_000)
    return host
  }

  private inert: HostHooks | undefined
  /** what plugins outside their roles tap: one set of hooks that are never called, with the live validateConfig and clusterCheck */
  private inertHooks(): HostHooks {
    return (this.inert ??= Object.freeze({ ...createHostHooks(), validateConfig: this.hooks.validateConfig, clusterCheck: this.hooks.clusterCheck }))
  }

  get plugins(): readonly LoadedPlugin[] {
    return this.loaded
  }

  get current(): ConfigModel | undefined {
    return this.model
  }

  private async registerAll(records: readonly PluginRecord[], timeoutMs: number): Promise<void> {
    const ordered = orderPlugins(records)
    const provided = new Set<string>()
    ordered.forEach((r, i) => this.pluginIndex.set(r.plugin.meta.name, i))
    const deadline = new RegisterDeadline(timeoutMs)
    try {
      await this.registerEach(ordered, provided, deadline)
    } finally {
      deadline.clear()
    }
  }

  private async registerEach(ordered: readonly PluginRecord[], provided: Set<string>, deadline: RegisterDeadline): Promise<void> {
    for (const r of ordered) {
      const p = r.plugin
      const meta = p.meta
      const active = meta.roles.includes(this.role)
      let options: unknown = r.options ?? {}
      if (p.parseOptions) {
        try {
          options = p.parseOptions(r.options)
        } catch (e) {
          throw new KadError('KAD_ERR_PLUGIN_OPTIONS', `plugin ${meta.name}: bad options: ${(e as Error).message}`, { cause: e, details: { plugin: meta.name } })
        }
      }
      const scope = this.container.createScope()
      this.scopes.push(scope)
      const log = this.log.child({ plugin: meta.name })
      const root = this.container
      const ctx: PluginContext<any> = {
        meta,
        options: Object.freeze(options as object),
        role: this.role,
        active,
        // outside its roles a plugin's taps are inert, except validateConfig: the parent and -t validate everything
        hooks: (active ? this.hooks : this.inertHooks()) as TapOnly<HostHooks>,
        keywords: this.tree.forPlugin(meta.name),
        container: scope,
        log,
        provide: (key: string, resolver: Resolver<unknown>) => {
          if (!(meta.provides ?? []).includes(key)) {
            throw new KadError('KAD_ERR_PLUGIN_PROVIDES', `plugin ${meta.name} provides '${key}' but does not list it in meta.provides`, { details: { plugin: meta.name, key } })
          }
          if (provided.has(key) || root.hasRegistration(key)) {
            throw new KadError('KAD_ERR_PLUGIN_PROVIDES', `plugin ${meta.name} provides '${key}', which is already registered`, { details: { plugin: meta.name, key } })
          }
          provided.add(key)
          root.register(key, resolver as Resolver<any>)
        },
      }
      try {
        await deadline.race(meta.name, p.register(ctx))
      } catch (e) {
        if (e instanceof KadError) throw e
        throw new HookError('register', meta.name, e)
      }
      this.loaded.push({ meta, source: r.source, packageName: r.packageName, active, keywords: this.tree.keywordsOf(meta.name) })
    }
  }

  /** parse a configuration and run the plugins' cross-section checks (validateConfig) */
  parse(opts: Omit<ParseOptions, 'configId' | 'strict' | 'allConfig'> & Partial<Pick<ParseOptions, 'configId' | 'strict' | 'allConfig'>>): ParseResult {
    const res = parseConfig({ configId: this.options.configId, strict: this.options.strict, allConfig: this.options.allConfig, ...opts }, this.tree)
    const extra: ConfigDiagnostic[] = []
    try {
      this.hooks.validateConfig.call(res.model, { report: (d) => extra.push(d) })
    } catch (e) {
      extra.push({ code: 'KAD_CFG_VALIDATE', severity: 'error', message: (e as Error).message })
    }
    if (extra.length === 0) return res
    const diagnostics = finalizeDiagnostics([...res.diagnostics, ...extra], res.model.files, opts.strict ?? this.options.strict)
    return { model: res.model, diagnostics, exitCode: configExitCode(diagnostics) }
  }

  /** open sockets and arm timers (children; in the daemon's parent, the plugins whose roles include 'parent') */
  async start(model: ConfigModel): Promise<void> {
    this.model = model
    this.configureCore(model)
    await this.hooks.beforeStart.promise(model)
    await this.hooks.start.promise(model)
    this.container.cradle.scheduler.startLagProbe()
    this.started = true
  }

  async reload(next: ConfigModel): Promise<void> {
    const prev = this.model
    this.model = next
    this.configureCore(next)
    if (prev) await this.hooks.reload.promise(next, prev)
  }

  async stop(reason: ShutdownReason = 'signal'): Promise<void> {
    if (this.started) {
      this.started = false
      await this.hooks.shutdown.promise(reason)
    }
    this.container.cradle.scheduler.cancelAll()
    await this.container.cradle.notifications.drain?.()
    for (const s of this.scopes.reverse()) await s.dispose()
    await this.container.dispose()
  }

  private configureCore(model: ConfigModel): void {
    const core = getCoreSection(model)
    this.container.cradle.scriptRunner.configure({
      security: core.enableScriptSecurity === true,
      defaultUser: core.scriptUser?.user,
      defaultGroup: core.scriptUser?.group,
    })
  }

  /** run the dump hooks and return the text sections and JSON */
  dump(kind: 'data' | 'stats' | 'stats-clear' | 'json'): { text: string; json: Record<string, unknown> } {
    const lines: string[] = []
    const json: Record<string, unknown> = {}
    const w: DumpWriter = {
      section: (title, ls) => {
        lines.push(`------< ${title} >------`, ...ls, '')
      },
      json: (k, v) => {
        json[k] = v
      },
    }
    if (kind === 'data') {
      const s = this.container.cradle.scheduler
      w.section('Scheduler', [
        ` role = ${this.role}, pid = ${process.pid}`,
        ` tasks = ${s.size}`,
        ` timer lateness us ${JSON.stringify(s.lateness.summary())}`,
        ` event-loop lag us ${JSON.stringify(s.loopLag.summary())}`,
        ...s.dump().slice(0, 200).map((t) => `  ${t.kind} ${t.name} runs=${t.runs}`),
      ])
      this.hooks.dumpData.call(w)
    } else if (kind === 'json') this.hooks.dumpJson.call(w)
    else this.hooks.dumpStats.call(w, kind === 'stats-clear')
    return { text: lines.join('\n'), json }
  }
}
