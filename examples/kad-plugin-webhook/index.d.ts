import type { Plugin } from '@kad/core'

export interface WebhookOptions {
  /** notifications held while the endpoint is slow or down (default 1000) */
  maxQueue?: number
  /** first retry delay, doubling (default 1000 ms) */
  retryBaseMs?: number
  /** longest retry delay (default 60000 ms) */
  retryMaxMs?: number
}

export declare const PLUGIN_NAME: 'webhook'
/** POST one JSON document; resolves on a 2xx answer */
export declare function postJson(url: string, body: unknown, timeoutMs: number): Promise<void>
declare const plugin: Plugin<WebhookOptions>
export default plugin
