import { asFunction, asValue, createContainer, InjectionMode, type AwilixContainer } from 'awilix'
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
