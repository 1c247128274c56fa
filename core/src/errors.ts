/**
 * One table of every coded error kad raises. Mirrored in docs/errors.md; a test checks that the two match.
 */
export const ERROR_CODES = {
  KAD_ERR_PLUGIN_DUPLICATE: 'two plugins declare the same name',
  KAD_ERR_PLUGIN_HOST_RANGE: "the plugin's meta.host range does not include this host's API version",
  KAD_ERR_PLUGIN_DEPENDENCY: 'a plugin depends on a plugin that is not registered before it',
  KAD_ERR_PLUGIN_PROVIDES: 'a plugin provides a service key that is taken or that it did not declare in meta.provides',
  KAD_ERR_PLUGIN_INVALID: 'a module does not export a valid plugin (definePlugin result)',
  KAD_ERR_PLUGIN_TIMEOUT: 'a plugin did not finish registering within its time limit',
  KAD_ERR_PLUGIN_LOAD: 'a plugin module could not be imported',
  KAD_ERR_PLUGIN_OPTIONS: 'plugin options were rejected by the plugin',
  KAD_ERR_HOOK: 'a hook tap threw or rejected',
  KAD_ERR_CONFIG: 'the configuration has errors that stop kad from running',
  KAD_ERR_CONFIG_MISSING: 'the main configuration file does not exist or cannot be read',
  KAD_ERR_KEYWORD_DUPLICATE: 'a keyword is registered twice at the same place in the keyword tree',
  KAD_ERR_KEYWORD_PATH: 'a plugin extends a keyword block that does not exist',
  KAD_ERR_SCHEMA: "a plugin's parsed section does not satisfy its schema",
  KAD_ERR_SCRIPT_INSECURE: 'a script is not safe to run (enable_script_security)',
  KAD_ERR_SCRIPT_USER: 'the user or group a script should run as does not exist',
  KAD_ERR_SCRIPT_TIMEOUT: 'a script ran past its timeout and its process group was killed',
  KAD_ERR_BUFFER_EXHAUSTED: 'a fixed-capacity buffer pool has no free buffer',
  KAD_ERR_BUFFER_RELEASE: 'a buffer was released twice or to the wrong pool',
  KAD_ERR_QUEUE_FULL: 'a bounded queue refused an item (byte or item budget)',
  KAD_ERR_USAGE: 'the command line is not valid',
  KAD_ERR_IPC: 'a message between kad processes was malformed or undeliverable',
  KAD_ERR_NATIVE: 'a system call in the native addon failed',
  KAD_ERR_CAPABILITY: 'kad lacks a Linux capability it needs (CAP_NET_ADMIN, CAP_NET_RAW)',
  KAD_ERR_NETLINK: 'the kernel answered a netlink request with an error',
  KAD_ERR_TIMEOUT: 'an operation did not complete within its deadline',
} as const

export type KadErrorCode = keyof typeof ERROR_CODES

const BRAND = Symbol.for('kad.error')

/** Base error of kad. `code` is one of ERROR_CODES; instanceof works across copies of the package. */
export class KadError extends Error {
  readonly code: KadErrorCode
  readonly details: Readonly<Record<string, unknown>>
  constructor(code: KadErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'KadError'
    this.code = code
    this.details = Object.freeze({ ...(options.details ?? {}) })
  }
  get [BRAND](): true {
    return true
  }
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[BRAND] === true
  }
}

export function isKadError(v: unknown, code?: KadErrorCode): v is KadError {
  return v instanceof KadError && (code === undefined || v.code === code)
}
