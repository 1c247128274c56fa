import type { Logger } from './log.js'

/** A logger that drops everything (tests, -t without -l). */
export function createNullLogger(): Logger {
  const l: Logger = {
    fatal: () => undefined,
    error: () => undefined,
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
    child: () => l,
    limited: () => undefined,
  }
  return l
}
