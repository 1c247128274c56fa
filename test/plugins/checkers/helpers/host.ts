/**
 * A small test host for the checker plugins: registers plugins against core's real config parser (KeywordTree +
 * parseConfigText, ajv schemas applied) and real host hooks, parses a config and runs the check framework with a
 * real Scheduler. Lighter than @kad/core/testing's createTestHost: the framework object is at hand (fw.stats(),
 * fw.reload(), dumps) and a test may inject the local-address source (ha_suspend).
 */
import {
  createHostHooks,
  KeywordTree,
  parseConfigText,
  registerCoreKeywords,
  Scheduler,
  ScriptRunner,
  systemClock,
  type Clock,
  type DesiredTopology,
  type Logger,
  type Notification,
  type ParseResult,
  type Plugin,
  type CheckerResult,
} from '@kad/core'
import { CheckFramework, checkersSection, type LocalAddresses } from '@kad/plugin-checkers'

/** a parse result with the diagnostics' messages at hand */
export interface MiniResult extends ParseResult {
  readonly messages: string[]
}

export const silentLog: Logger = {
  fatal: () => undefined,
  error: (m) => {
    if (process.env.KAD_TEST_LOG) console.error(m)
  },
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => silentLog,
  limited: () => undefined,
}

export function captureLog(lines: string[]): Logger {
  const l: Logger = {
    fatal: (m) => lines.push(m),
    error: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    info: (m) => lines.push(m),
    debug: () => undefined,
    child: () => l,
    limited: (_k, _lvl, m) => lines.push(m),
  }
  return l
}

export interface TestHost {
  tree: KeywordTree
  hooks: ReturnType<typeof createHostHooks>
  parse(text: string): MiniResult
  run(text: string, opts?: { clock?: Clock; random?: () => number; addresses?: LocalAddresses; log?: Logger }): Promise<Running>
}

export interface Running {
  parsed: MiniResult
  fw: CheckFramework
  scheduler: Scheduler
  topologies: DesiredTopology[]
  results: CheckerResult[]
  notifications: Notification[]
  scripts: string[]
  latest(): DesiredTopology | undefined
  /** wait until `pred(latest topology)` holds, polling every 20 ms, or throw after `ms` */
  until(pred: (t: DesiredTopology) => boolean, ms: number): Promise<DesiredTopology>
  stop(): Promise<void>
}

export async function createHost(plugins: Plugin<any>[], pluginOptions: Record<string, unknown> = {}): Promise<TestHost> {
  const tree = new KeywordTree()
  registerCoreKeywords(tree)
  const hooks = createHostHooks()
  for (const p of plugins) {
    const options = p.parseOptions ? p.parseOptions(pluginOptions[p.meta.name]) : {}
    await p.register({
      meta: p.meta,
      options,
      role: 'check',
      active: true,
      hooks,
      keywords: tree.forPlugin(p.meta.name),
      container: { cradle: {} } as never,
      log: silentLog,
      provide: () => undefined,
    } as never)
  }
  const parse = (text: string): MiniResult => {
    const r = parseConfigText(text, tree, { file: '/etc/keepalived/keepalived.conf', configId: 'test' })
    return { ...r, messages: r.diagnostics.map((d) => d.message) }
  }
  return {
    tree,
    hooks,
    parse,
    async run(text, opts = {}) {
      const parsed = parse(text)
      for (const p of plugins) void p
      await hooks.beforeStart.promise(parsed.model)
      const clock = opts.clock ?? systemClock
      const scheduler = new Scheduler({ clock })
      const topologies: DesiredTopology[] = []
      const results: CheckerResult[] = []
      const notifications: Notification[] = []
      const scripts: string[] = []
      hooks.topologyChanged.tapPromise('test', async (t) => {
        topologies.push(t)
      })
      hooks.checkerResult.tap('test', (r) => results.push(r))
      const runner = new ScriptRunner({ log: silentLog })
      const origRun = runner.run.bind(runner)
      runner.run = (spec, signal) => {
        scripts.push(typeof spec.command === 'string' ? spec.command : spec.command.join(' '))
        return origRun(spec, signal)
      }
      const fw = new CheckFramework({
        hooks,
        log: opts.log ?? silentLog,
        scheduler,
        clock,
        scriptRunner: runner,
        notifications: { publish: (n) => notifications.push(n) },
        ...(opts.random ? { random: opts.random } : {}),
        ...(opts.addresses ? { addresses: opts.addresses } : {}),
      })
      fw.start(checkersSection(parsed.model))
      const latest = () => topologies[topologies.length - 1]
      return {
        parsed,
        fw,
        scheduler,
        topologies,
        results,
        notifications,
        scripts,
        latest,
        async until(pred, ms) {
          const end = Date.now() + ms
          for (;;) {
            const t = latest()
            if (t && pred(t)) return t
            if (Date.now() > end) throw new Error(`condition not met within ${ms} ms; last topology ${JSON.stringify(t)}`)
            await new Promise((r) => setTimeout(r, 20))
          }
        },
        async stop() {
          fw.stop()
          scheduler.cancelAll()
          await hooks.shutdown.promise('test')
        },
      }
    },
  }
}

/** weights of the real servers of the first virtual server, by id ('[ip]:port' -> weight) */
export function weights(t: DesiredTopology, vs = 0): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of t.virtualServers[vs]?.realServers ?? []) out[r.id] = r.weight
  return out
}

/** one virtual server per scenario (192.0.2.i:80, alpha, delay_loop 0.2), each with one real server and `check` */
export function scenario(i: number, address: string, port: number, check: string, rsExtra = ''): string {
  return `
virtual_server 192.0.2.${i} 80 {
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  alpha
  real_server ${address} ${port} {
    weight 1
    ${rsExtra}
    ${check}
  }
}`
}

/** which virtual servers have their real server installed, and with what weight */
export function upList(run: Running): (number | false)[] {
  return run.latest()!.virtualServers.map((v) => (v.realServers.length === 1 ? v.realServers[0].weight : false))
}

/** the latest failure reason of each virtual server's real server */
export function reasons(run: Running): string[] {
  const j: Record<string, any> = {}
  run.fw.dumpJson({ json: (k, v) => (j[k] = v), section: () => undefined })
  return j.checkers.virtualServers.map((v: any) => v.realServers[0]?.reason ?? '')
}

/** run `cases` ([check block, expected weight or false]) and wait until the topology shows them all */
export async function expectCases(host: TestHost, address: string, port: number, cases: [string, number | false][], settleMs = 1900, within = 8000): Promise<string[]> {
  const run = await host.run(cases.map(([c], i) => scenario(i + 1, address, port, c)).join('\n'))
  try {
    const want = JSON.stringify(cases.map(([, w]) => w))
    await run.until(() => JSON.stringify(upList(run)) === want, within)
    await new Promise((r) => setTimeout(r, settleMs))
    return reasons(run)
  } finally {
    await run.stop()
  }
}
