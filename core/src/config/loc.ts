import type { SourceLoc } from './types.js'

/**
 * A `file:line` location as plugins keep it in their (JSON) sections, back as the SourceLoc a diagnostic takes;
 * undefined when it is not one.
 */
export function parseLoc(loc: string): SourceLoc | undefined {
  const i = loc.lastIndexOf(':')
  const line = Number(loc.slice(i + 1))
  return i > 0 && Number.isInteger(line) && line > 0 ? { file: loc.slice(0, i), line } : undefined
}
