import type { BlockBuilder, ConfigModel, KeywordContext } from '@kad/core'

export interface FifoScript {
  /** keepalived's script string (path, or a quoted "path args") */
  readonly command: string
  readonly user?: string
  readonly group?: string
}

export interface FifoSpec {
  path?: string
  /** owner of the FIFO kad creates (default: script_user, else the running user) */
  user?: string
  group?: string
  script?: FifoScript
}

/** `model.sections['notifier-fifo']`: keepalived's three FIFOs */
export interface FifoSection {
  /** notify_fifo: VRRP and LVS events */
  global?: FifoSpec
  /** vrrp_notify_fifo: VRRP instance and group events */
  vrrp?: FifoSpec
  /** lvs_notify_fifo: virtual and real server events */
  lvs?: FifoSpec
}

export type FifoKind = keyof FifoSection

export const SECTION = 'notifier-fifo'

export function fifoSection(model: ConfigModel | undefined): FifoSection {
  return (model?.sections?.[SECTION] as FifoSection | undefined) ?? {}
}

/** USER [GROUP] or USER:GROUP starting at argument i */
function userGroup(k: KeywordContext, i: number): { user?: string; group?: string } {
  const u = k.args[i]
  if (u === undefined) return {}
  const [user, group] = u.includes(':') ? u.split(':', 2) : [u, k.args[i + 1]]
  // sections are plain JSON: no undefined-valued keys
  return { ...(user ? { user } : {}), ...(group ? { group } : {}) }
}

const PREFIX: Record<FifoKind, string> = { global: '', vrrp: 'vrrp_', lvs: 'lvs_' }

/** notify_fifo, vrrp_notify_fifo, lvs_notify_fifo FIFO [USER [GROUP]] and their *_script SCRIPT [USER[:GROUP]] */
export function registerFifoKeywords(b: BlockBuilder<unknown>): void {
  const spec = (k: KeywordContext, kind: FifoKind): FifoSpec => {
    const s = k.section<FifoSection>(SECTION, () => ({}))
    return (s[kind] ??= {})
  }
  for (const kind of ['global', 'vrrp', 'lvs'] as const) {
    const p = PREFIX[kind]
    b.keyword(`${p}notify_fifo`, (k) => {
      const path = k.string(0, 'FIFO name')
      if (path === undefined) return
      const s = spec(k, kind)
      if (s.path !== undefined) {
        k.error(`${p}notify_fifo already specified - ignoring ${path}`)
        return
      }
      if (!path.startsWith('/')) k.warn(`${p}notify_fifo ${path} is not an absolute path`)
      s.path = path
      Object.assign(s, userGroup(k, 1))
    })
    b.keyword(`${p}notify_fifo_script`, (k) => {
      const command = k.string(0, 'script')
      if (command === undefined) return
      const s = spec(k, kind)
      if (s.script !== undefined) {
        k.error(`${p}notify_fifo_script already specified - ignoring ${command}`)
        return
      }
      s.script = { command, ...userGroup(k, 1) }
    })
  }
}

const specSchema = {
  type: 'object',
  properties: {
    path: { type: 'string' },
    user: { type: 'string' },
    group: { type: 'string' },
    script: { type: 'object', properties: { command: { type: 'string' }, user: { type: 'string' }, group: { type: 'string' } }, required: ['command'] },
  },
}

export const FIFO_SCHEMA = { type: 'object', properties: { global: specSchema, vrrp: specSchema, lvs: specSchema } } as const
