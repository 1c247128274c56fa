import * as os from 'node:os'

/** keepalived's default config id: the host name up to the first dot. */
export function hostConfigId(): string {
  const h = os.hostname()
  const dot = h.indexOf('.')
  return dot < 0 ? h : h.slice(0, dot)
}
