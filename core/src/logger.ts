import type pino from 'pino'
import { Writable } from 'node:stream'
import { openSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Logger } from './log.js'
import type { ProcessRole } from './plugin/contract.js'

export { createNullLogger } from './null-logger.js'

export interface LoggerOptions {
  role: ProcessRole
  /** -l: log to the console (stderr) as well */
  console?: boolean
  /** -G: no syslog */
  noSyslog?: boolean
  /** -S: syslog facility 0..7 = local0..local7, or 'daemon' (default) / 'user' */
  facility?: number | 'daemon' | 'user'
  /** -D: detailed (debug) */
  detail?: boolean
  /** -g: also append to this file */
  file?: string
  /** tests: capture lines here instead of any output */
  sink?: (line: LogLine) => void
  /** syslog ident, default 'Keepalived' style: 'kad' */
  ident?: string
  /** a datagram sender to /dev/log (provided by @kad/native when available) */
  syslogSend?: (msg: Buffer) => void
}

export interface LogLine {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug'
  role: ProcessRole
  msg: string
  time: number
  fields: Record<string, unknown>
}

const LEVELS: Record<number, LogLine['level']> = { 60: 'fatal', 50: 'error', 40: 'warn', 30: 'info', 20: 'debug', 10: 'debug' }
const SYSLOG_SEVERITY: Record<LogLine['level'], number> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7 }

function facilityCode(f: LoggerOptions['facility']): number {
  if (f === undefined || f === 'daemon') return 3
  if (f === 'user') return 1
  return 16 + f // local0..local7
}

/** formats pino's JSON lines as keepalived-like text lines for console, file and syslog */
class LineStream extends Writable {
  constructor(private readonly opts: LoggerOptions, private readonly fileFd?: number) {
    super({ decodeStrings: false })
  }
  override _write(chunk: string | Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    for (const raw of text.split('\n')) {
      if (!raw) continue
      let o: Record<string, unknown>
      try {
        o = JSON.parse(raw) as Record<string, unknown>
      } catch {
        continue
      }
      const { level, time, msg, role, pid: _pid, hostname: _h, ...fields } = o
      const line: LogLine = { level: LEVELS[level as number] ?? 'info', role: (role as ProcessRole) ?? this.opts.role, msg: String(msg ?? ''), time: Number(time ?? Date.now()), fields }
      this.emitLine(line)
    }
    cb()
  }
  private emitLine(line: LogLine): void {
    if (this.opts.sink) {
      this.opts.sink(line)
      return
    }
    const extra = Object.entries(line.fields)
      .filter(([k]) => k !== 'plugin' && k !== 'svc')
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ')
    const who = (line.fields.plugin ?? line.fields.svc) as string | undefined
    const body = `${who ? `[${who}] ` : ''}${line.msg}${extra ? ' ' + extra : ''}`
    const stamp = new Date(line.time).toString().slice(0, 24)
    const consoleLine = `${stamp}: kad_${line.role}[${process.pid}] ${line.level === 'info' ? '' : line.level.toUpperCase() + ': '}${body}\n`
    if (this.opts.console) process.stderr.write(consoleLine)
    if (this.fileFd !== undefined) {
      try {
        writeSync(this.fileFd, consoleLine)
      } catch {
        /* disk full: nothing sensible to do */
      }
    }
    if (!this.opts.noSyslog && this.opts.syslogSend) {
      const pri = facilityCode(this.opts.facility) * 8 + SYSLOG_SEVERITY[line.level]
      const ident = `${this.opts.ident ?? 'kad'}${line.role === 'parent' ? '' : '_' + line.role}`
      try {
        this.opts.syslogSend(Buffer.from(`<${pri}>${ident}[${process.pid}]: ${body}`))
      } catch {
        /* no syslog daemon: the console/file still have it */
      }
    }
  }
}


class PinoLogger implements Logger {
  private readonly buckets: Map<string, { windowStart: number; count: number; dropped: number }>
  constructor(private readonly p: pino.Logger, buckets?: Map<string, { windowStart: number; count: number; dropped: number }>) {
    this.buckets = buckets ?? new Map()
  }
  fatal(msg: string, obj?: Record<string, unknown>): void {
    this.p.fatal(obj ?? {}, msg)
  }
  error(msg: string, obj?: Record<string, unknown>): void {
    this.p.error(obj ?? {}, msg)
  }
  warn(msg: string, obj?: Record<string, unknown>): void {
    this.p.warn(obj ?? {}, msg)
  }
  info(msg: string, obj?: Record<string, unknown>): void {
    this.p.info(obj ?? {}, msg)
  }
  debug(msg: string, obj?: Record<string, unknown>): void {
    this.p.debug(obj ?? {}, msg)
  }
  child(bindings: Record<string, unknown>): Logger {
    return new PinoLogger(this.p.child(bindings), this.buckets)
  }
  limited(key: string, level: 'error' | 'warn' | 'info', msg: string, obj?: Record<string, unknown>, perMinute = 10): void {
    const now = Date.now()
    let b = this.buckets.get(key)
    if (!b || now - b.windowStart >= 60_000) {
      const dropped = b?.dropped ?? 0
      b = { windowStart: now, count: 0, dropped: 0 }
      this.buckets.set(key, b)
      if (dropped > 0) obj = { ...(obj ?? {}), suppressed: dropped }
      if (this.buckets.size > 10_000) this.buckets.clear() // bounded
    }
    if (b.count >= perMinute) {
      b.dropped++
      return
    }
    b.count++
    this[level](msg, obj)
  }
}

/**
 * pino, required on first use: `kad -t`, `kad config …` and `kad plugins list` log nothing, and importing
 * @kad/core (every plugin does) must not load the logging stack (about 15 ms of a cold process)
 */
const require = createRequire(import.meta.url)
const loadPino = (): typeof pino => require('pino') as typeof pino

/** Create the process logger: pino underneath, keepalived-like text on the console (-l), syslog (-S) and file (-g). */
export function createLogger(opts: LoggerOptions): Logger {
  const fd = opts.file ? openSync(opts.file, 'a') : undefined
  const stream = new LineStream(opts, fd)
  const createPino = loadPino()
  const p = createPino({ level: opts.detail ? 'debug' : 'info', base: { role: opts.role }, timestamp: createPino.stdTimeFunctions.epochTime }, stream)
  return new PinoLogger(p)
}
