import type { Logger } from '@kad/core'

/** A Logger that records lines as 'level message'. */
export function testLogger(lines: string[] = []): Logger {
  const l: Logger = {
    fatal: (m) => lines.push(`fatal ${m}`), error: (m) => lines.push(`error ${m}`), warn: (m) => lines.push(`warn ${m}`),
    info: (m) => lines.push(`info ${m}`), debug: () => {}, child: () => l, limited: (_k, lvl, m) => lines.push(`${lvl} ${m}`),
  }
  return l
}
