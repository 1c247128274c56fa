import { KadError } from '../errors.js'

/** An error thrown by a tap, with the hook and plugin that threw. */
export class HookError extends KadError {
  readonly hook: string
  readonly plugin: string
  constructor(hook: string, plugin: string, cause: unknown) {
    super('KAD_ERR_HOOK', `hook ${hook}: plugin ${plugin} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { hook, plugin } })
    this.hook = hook
    this.plugin = plugin
  }
}
