/**
 * The testing kit for plugin authors: load one or more plugins with a config snippet into a host (optionally on
 * sinon fake timers), start it, drive it and read what it did.
 *
 *   import { createTestHost } from '@kad/core/testing'
 *   const t = await createTestHost({ plugins: [myPlugin], config: 'virtual_server 192.0.2.1 80 { … }', role: 'check', fakeTimers: true })
 *   await t.start(); t.clock.tick(5000); expect(t.notifications) …; await t.stop()
 */
import { Host } from '../host.js'
import type { Plugin, ProcessRole } from '../plugin/contract.js'
import type { ConfigDiagnostic, ConfigModel } from '../config/types.js'
import type { Notification } from '../notifications-types.js'
import type { DaemonOptions } from '../options.js'
import { defaultOptions } from '../options.js'
import { createNullLogger, createLogger, type LogLine } from '../logger.js'
import type { Clock } from '../scheduler/clock.js'
import { STAGES } from '../hooks/stages.js'
import type { DesiredTopology } from '../topology.js'

export interface FakeClockLike {
  tick(ms: number): number
  tickAsync(ms: number): Promise<number>
  runAllAsync?(): Promise<number>
  now: number
  uninstall(): void
}

export interface TestHostOptions {
  plugins: readonly Plugin<any>[]
  /** keepalived.conf text; `files` can hold included files (paths relative to /virtual) */
  config?: string
  files?: Record<string, string>
  role?: ProcessRole
  /** install sinon fake timers (setTimeout, setImmediate, performance.now, Date) for the host's clock */
  fakeTimers?: boolean
  options?: Partial<DaemonOptions>
  /** log lines to capture (default: captured into `logs`) */
  captureLogs?: boolean
}

export interface TestHost {
  readonly host: Host
  readonly model: ConfigModel
  readonly diagnostics: readonly ConfigDiagnostic[]
  readonly exitCode: number
  readonly hooks: Host['hooks']
  readonly container: Host['container']
  /** sinon clock when fakeTimers, else undefined */
  readonly clock: FakeClockLike | undefined
  /** every notification delivered on hooks.notify */
  readonly notifications: Notification[]
  /** every topology published on hooks.topologyChanged */
  readonly topologies: DesiredTopology[]
  /** events published through the ipc service: [channel, payload] */
  readonly events: Array<[string, unknown]>
  readonly logs: LogLine[]
  start(): Promise<void>
  reload(config: string, files?: Record<string, string>): Promise<{ diagnostics: readonly ConfigDiagnostic[] }>
  /** deliver an event as if another process published it */
  emitRemote(channel: string, payload: unknown, from?: ProcessRole): void
  stop(): Promise<void>
}

function virtualFs(main: string, files: Record<string, string> = {}) {
  const all: Record<string, string> = { '/virtual/keepalived.conf': main }
  for (const [k, v] of Object.entries(files)) all[k.startsWith('/') ? k : `/virtual/${k}`] = v
  return {
    readFile: (p: string) => {
      const v = all[p]
      if (v === undefined) {
        const e = new Error(`ENOENT: no such file '${p}'`) as NodeJS.ErrnoException
        e.code = 'ENOENT'
        throw e
      }
      return v
    },
  }
}

export async function createTestHost(opts: TestHostOptions): Promise<TestHost> {
  let clock: FakeClockLike | undefined
  if (opts.fakeTimers) {
    const sinon = (await import('sinon')).default
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date', 'performance'] }) as unknown as FakeClockLike
  }
  const logs: LogLine[] = []
  const log = opts.captureLogs === false ? createNullLogger() : createLogger({ role: opts.role ?? 'check', sink: (l) => logs.push(l), detail: true })
  const events: Array<[string, unknown]> = []
  const role = opts.role ?? 'check'
  let host!: Host
  host = await Host.create({
    role,
    plugins: opts.plugins.map((plugin) => ({ plugin, source: 'inline' })),
    options: defaultOptions({ configId: 'test', ...(opts.options ?? {}) }),
    log,
    ipc: {
      publish: (channel, payload) => {
        events.push([channel, payload])
      },
    },
  })
  const notifications: Notification[] = []
  const topologies: DesiredTopology[] = []
  host.hooks.notify.tapPromise({ name: 'kad-testing', stage: STAGES.OBSERVER }, async (n) => {
    notifications.push(n)
  })
  host.hooks.topologyChanged.tapPromise({ name: 'kad-testing', stage: STAGES.OBSERVER }, async (t) => {
    topologies.push(t)
  })
  const vfs = virtualFs(opts.config ?? '', opts.files)
  const res = host.parse({ file: '/virtual/keepalived.conf', readFile: vfs.readFile })
  let model = res.model
  let stopped = false
  return {
    host,
    get model() {
      return model
    },
    diagnostics: res.diagnostics,
    exitCode: res.exitCode,
    hooks: host.hooks,
    container: host.container,
    clock,
    notifications,
    topologies,
    events,
    logs,
    start: () => host.start(model),
    async reload(config, files) {
      const v = virtualFs(config, files)
      const r = host.parse({ file: '/virtual/keepalived.conf', readFile: v.readFile })
      model = r.model
      await host.reload(model)
      return { diagnostics: r.diagnostics }
    },
    emitRemote(channel, payload, from = 'bfd') {
      host.hooks.remoteEvent.get(channel)?.call(payload, from)
    },
    async stop() {
      if (stopped) return
      stopped = true
      try {
        await host.stop('test')
      } finally {
        clock?.uninstall()
      }
    },
  }
}

export type { Clock }
