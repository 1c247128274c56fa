/** `kad_status_listen ADDRESS [PORT]` in global_defs (a kad keyword: keepalived has no status endpoint). */
import type { BlockBuilder, ConfigModel } from '@kad/core'

export const SECTION = 'status'
export const DEFAULT_PORT = 9650

export interface StatusSection {
  listen?: { address: string; port: number }
}

export function statusSection(model: ConfigModel | undefined): StatusSection {
  return (model?.sections?.[SECTION] as StatusSection | undefined) ?? {}
}

export function registerStatusKeywords(b: BlockBuilder<unknown>): void {
  b.keyword('kad_status_listen', (k) => {
    const a = k.address(0)
    if (a === undefined) return
    const port = k.args.length > 1 ? k.unsigned(1, { min: 1, max: 65535 }) : DEFAULT_PORT
    if (port === undefined) return
    const s = k.section<StatusSection>(SECTION, () => ({}))
    if (s.listen) {
      k.error(`kad_status_listen already specified - ignoring ${k.args.join(' ')}`)
      return
    }
    s.listen = { address: a.address, port }
  })
}

export const STATUS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen: {
      type: 'object',
      additionalProperties: false,
      required: ['address', 'port'],
      properties: { address: { type: 'string' }, port: { type: 'integer', minimum: 1, maximum: 65535 } },
    },
  },
}
