import type { AwilixContainer, Resolver } from 'awilix'
import type { KeywordRegistrar } from '../config/types.js'
import type { HostHooks } from '../hooks/host-hooks.js'
import type { Logger } from '../log.js'

/** The processes of kad. 'parent' is the watchdog; the others are keepalived's three children. */
export type ProcessRole = 'parent' | 'vrrp' | 'check' | 'bfd'
export const PROCESS_ROLES: readonly ProcessRole[] = ['parent', 'vrrp', 'check', 'bfd']

/** Hooks as plugins see them: they can tap, only the owner calls. */
export type TapOnly<H> = { readonly [K in keyof H]: Omit<H[K], 'call' | 'callAsync' | 'promise'> }

export interface PluginMeta {
  /** kebab-case, unique; also the name of every tap the plugin makes */
  readonly name: string
  readonly version: string
  /** semver range of the host API it supports (HOST_API_VERSION) */
  readonly host: string
  /** processes in which the plugin runs (its hooks fire); its keywords are known in every process */
  readonly roles: readonly ProcessRole[]
  /** plugins that must be registered before this one */
  readonly dependencies?: readonly string[]
  /** Cradle keys it may register in the root container with ctx.provide() */
  readonly provides?: readonly string[]
  readonly description?: string
}

/**
 * The services every plugin can resolve from its container. Plugins add their own keys by declaration merging:
 * `declare module '@kad/core' { interface Cradle { myService: MyService } }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Cradle {}

export interface PluginContext<O = Record<string, never>> {
  readonly meta: PluginMeta
  readonly options: Readonly<O>
  /** the process this register() runs in */
  readonly role: ProcessRole
  /** whether the plugin runs in this process (role in meta.roles); when false, taps are accepted but never called */
  readonly active: boolean
  readonly hooks: TapOnly<HostHooks>
  readonly keywords: KeywordRegistrar
  /** this plugin's scope of the root container */
  readonly container: AwilixContainer<Cradle>
  readonly log: Logger
  /** register a service in the root container; the key must be in meta.provides */
  provide<K extends keyof Cradle & string>(key: K, resolver: Resolver<Cradle[K]>): void
}

export interface Plugin<O = Record<string, never>> {
  readonly meta: PluginMeta
  /** validate and default options (from package.json "kad.options" or a test); throw KadError KAD_ERR_PLUGIN_OPTIONS */
  parseOptions?(raw: unknown): O
  /** declare only: services, keywords and hook taps. Sockets and timers start on hooks.start. */
  register(ctx: PluginContext<O>): void | Promise<void>
}

export function definePlugin<O = Record<string, never>>(p: Plugin<O>): Plugin<O> {
  return p
}
