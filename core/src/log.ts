/** The logger every plugin and service gets (pino underneath). */
export interface Logger {
  fatal(msg: string, obj?: Record<string, unknown>): void
  error(msg: string, obj?: Record<string, unknown>): void
  warn(msg: string, obj?: Record<string, unknown>): void
  info(msg: string, obj?: Record<string, unknown>): void
  debug(msg: string, obj?: Record<string, unknown>): void
  /** a child logger with bound fields (plugin name, instance, …) */
  child(bindings: Record<string, unknown>): Logger
  /**
   * Log at most `perMinute` lines for `key` per minute (default 10); the lines dropped are counted and reported
   * with the next line that gets through.
   */
  limited(key: string, level: 'error' | 'warn' | 'info', msg: string, obj?: Record<string, unknown>, perMinute?: number): void
}
