// Errors from the addon are Error objects with { code: 'EPERM', errno: -1, syscall: 'socket' }, like Node's
// own system errors. This module adds the capability hint and the errno-name helpers the netlink layer uses.
import { constants } from 'node:os'

export interface SystemError extends Error {
  code: string
  errno: number
  syscall: string
}

const NAMES = new Map<number, string>()
for (const [name, num] of Object.entries(constants.errno)) if (!NAMES.has(num)) NAMES.set(num, name)

/** errno number (positive) -> 'EPERM'; unknown numbers give 'E<n>'. */
export function errnoName(errno: number): string {
  return NAMES.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`
}

export function isSystemError(e: unknown): e is SystemError {
  return e instanceof Error && typeof (e as Partial<SystemError>).code === 'string'
}

/** Builds a system error in the same shape as the addon's. */
export function systemError(errno: number, syscall: string, message?: string): SystemError {
  const code = errnoName(errno)
  const e = new Error(`${syscall} ${code}${message ? `: ${message}` : ''}`) as SystemError
  e.code = code
  e.errno = -Math.abs(errno)
  e.syscall = syscall
  return e
}

/** Adds which capability an EPERM/EACCES needs to the message (the code stays the errno name). */
export function withCapability(e: unknown, capability: string, what: string): unknown {
  if (isSystemError(e) && (e.code === 'EPERM' || e.code === 'EACCES')) {
    e.message = `${e.message}: ${what} needs ${capability} (run kad as root or grant ${capability})`
    ;(e as SystemError & { capability?: string }).capability = capability
  }
  return e
}
