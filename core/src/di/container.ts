import { asFunction, asValue, createContainer, InjectionMode, type AwilixContainer } from 'awilix/browser'
// awilix's default ESM entry also carries loadModules and imports fast-glob for it (about 30 ms of every start);
// kad never scans for modules, so it takes the same container from the entry without that (it runs on Node as is)
import type { Cradle } from '../plugin/contract.js'
import type { Logger } from '../log.js'
import type { Clock } from '../scheduler/clock.js'
import { Scheduler } from '../scheduler/scheduler.js'
import { ScriptRunner } from '../script-runner.js'
import type { ProcessRole } from '../plugin/contract.js'
import type { HostHooks } from '../hooks/host-hooks.js'
import type { Ipc } from '../ipc.js'
import type { DaemonOptions } from '../options.js'
import type { ConfigModel } from '../config/types.js'
import { Notifications } from '../notifications.js'
import type { Networking } from '@kad/native'
import type { Supervision } from '../supervision.js'

/** The config service: the model currently in force (changes on reload). */
export interface ConfigStore {
  current(): ConfigModel | undefined
}

declare module '../plugin/contract.js' {
  interface Cradle {
    log: Logger
    clock: Clock
    scheduler: Scheduler
    scriptRunner: ScriptRunner
    role: ProcessRole
    hooks: HostHooks
    ipc: Ipc
    options: DaemonOptions
    config: ConfigStore
    notifications: Notifications
    /** the networking library (rtnetlink, generic netlink, ARP/NA, sysctl, sockets); opens sockets lazily */
    net: Networking
    /** the parent's children and their JSON snapshots (parent only, while the daemon runs) */
    supervision: Supervision
  }
}

export interface RootServices {
  log: Logger
  clock: Clock
  role: ProcessRole
  hooks: HostHooks
  ipc: Ipc
  options: DaemonOptions
  config: ConfigStore
}

/** One root container per process (PROXY mode, strict). Core services are root singletons. */
export function createRootContainer(s: RootServices): AwilixContainer<Cradle> {
  const c = createContainer<Cradle>({ injectionMode: InjectionMode.PROXY, strict: true })
  c.register({
    log: asValue(s.log),
    clock: asValue(s.clock),
    role: asValue(s.role),
    hooks: asValue(s.hooks),
    ipc: asValue(s.ipc),
    options: asValue(s.options),
    config: asValue(s.config),
    scheduler: asFunction(({ clock }: Cradle) => new Scheduler({ clock })).singleton(),
    scriptRunner: asFunction(({ log }: Cradle) => new ScriptRunner({ log }))
      .singleton()
      .disposer((r) => r.killAll()),
    notifications: asFunction(({ hooks, log, clock }: Cradle) => new Notifications({ hooks, log, clock })).singleton(),
  } as never)
  return c
}

/**
 * Add the networking service (`net`). Only processes that start plugins have it: @kad/native and its codecs are
 * imported here, so the parent and `kad -t`, which only parse, never load them.
 */
export async function registerNetworking(c: AwilixContainer<Cradle>): Promise<void> {
  const { createNetworking } = await import('@kad/native')
  c.register(
    'net',
    // -s NAME in a test host: every socket of the service opens inside /run/netns/NAME (the daemon re-executes
    // itself inside the namespace instead, so there the option is already consumed)
    asFunction(({ options }: Cradle) => createNetworking(options.namespace ? { netns: `/run/netns/${options.namespace}` } : {}))
      .singleton()
      .disposer((n) => n.close()),
  )
}
