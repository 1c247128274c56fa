// @ts-check
/**
 * kad-plugin-webhook: a third-party kad notifier in plain JavaScript (ESM + JSDoc types, no build step).
 *
 *   global_defs {
 *     webhook_url https://hooks.example.com/kad      # http:// or https://
 *     webhook_timeout 5                              # seconds per request (default 5)
 *   }
 *
 * Every notification (`hooks.notify`) is queued and POSTed as JSON, one request at a time, in order. The tap only
 * enqueues, so it never holds up kad or other notifiers; the queue is bounded (oldest dropped and counted when
 * full) and failed requests are retried with exponential backoff.
 *
 * It imports nothing from @kad/core at run time (the plugin object is what `definePlugin` would return), so it
 * loads wherever it is installed; the types come from @kad/core for editors only.
 */
import http from 'node:http'
import https from 'node:https'

/** @typedef {import('@kad/core').Notification} Notification */
/** @typedef {import('@kad/core').PluginContext<WebhookOptions>} Ctx */
/** @typedef {import('@kad/core').ConfigModel} ConfigModel */
/**
 * @typedef {object} WebhookOptions plugin options (package.json "kad.options" or a test)
 * @property {number} [maxQueue] notifications held while the endpoint is slow or down (default 1000)
 * @property {number} [retryBaseMs] first retry delay, doubling (default 1000)
 * @property {number} [retryMaxMs] longest retry delay (default 60000)
 */
/** @typedef {{ url?: string, timeoutMs: number }} WebhookSection */

export const PLUGIN_NAME = 'webhook'
const SECTION = 'webhook'
/** STAGES.OBSERVER of @kad/core: notifiers run after the plugins that publish */
const OBSERVER = 100

/** @returns {WebhookSection} */
const newSection = () => ({ timeoutMs: 5000 })

/** @param {ConfigModel | undefined} model @returns {WebhookSection} */
function section(model) {
  const s = /** @type {Partial<WebhookSection> | undefined} */ (model?.sections?.[SECTION])
  return { timeoutMs: 5000, ...(s ?? {}) }
}

/**
 * POST one JSON document; resolves on a 2xx answer, rejects otherwise.
 * @param {string} url @param {unknown} body @param {number} timeoutMs @returns {Promise<void>}
 */
export function postJson(url, body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body))
    const u = new URL(url)
    const lib = u.protocol === 'https:' ? https : http
    const req = lib.request(
      u,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': data.length, 'user-agent': 'kad-plugin-webhook/0.1.0' }, timeout: timeoutMs },
      (res) => {
        res.resume()
        res.on('end', () => {
          const code = res.statusCode ?? 0
          if (code >= 200 && code < 300) resolve()
          else reject(new Error(`HTTP ${code}`))
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(data)
  })
}

/** @type {import('@kad/core').Plugin<WebhookOptions>} */
const plugin = {
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^1.0.0',
    roles: ['vrrp', 'check', 'bfd'],
    description: 'POST notifications as JSON to webhook_url',
  },
  parseOptions(raw) {
    const o = /** @type {Record<string, unknown>} */ (raw ?? {})
    /** @param {string} k */
    const num = (k) => (typeof o[k] === 'number' && /** @type {number} */ (o[k]) > 0 ? /** @type {number} */ (o[k]) : undefined)
    return { maxQueue: num('maxQueue'), retryBaseMs: num('retryBaseMs'), retryMaxMs: num('retryMaxMs') }
  },
  /** @param {Ctx} ctx */
  register(ctx) {
    ctx.keywords.extend('global_defs', (b) =>
      b
        .keyword('webhook_url', (k) => {
          const url = k.string(0, 'URL')
          if (url === undefined) return
          if (!/^https?:\/\/./.test(url)) return k.error(`webhook_url ${url}: must be an http:// or https:// URL`)
          k.section(SECTION, newSection).url = url
        })
        .keyword('webhook_timeout', (k) => {
          const s = k.timer(0, { min: 0.001, max: 300 })
          if (s !== undefined) k.section(SECTION, newSection).timeoutMs = Math.round(s * 1000)
        }),
    )
    ctx.keywords.schema(SECTION, { type: 'object', properties: { url: { type: 'string' }, timeoutMs: { type: 'number' } } })
    if (!ctx.active) return

    const maxQueue = ctx.options.maxQueue ?? 1000
    const retryBaseMs = ctx.options.retryBaseMs ?? 1000
    const retryMaxMs = ctx.options.retryMaxMs ?? 60_000
    /** @type {WebhookSection} */
    let cfg = section(undefined)
    /** @type {Notification[]} */
    let queue = []
    let busy = false
    let stopped = false
    /** @type {NodeJS.Timeout | undefined} */
    let retryTimer
    let attempt = 0
    const stats = { sent: 0, dropped: 0, retries: 0 }

    const pump = async () => {
      if (busy || stopped || retryTimer || !cfg.url) return
      busy = true
      while (queue.length > 0 && !stopped && cfg.url) {
        try {
          await postJson(cfg.url, queue[0], cfg.timeoutMs)
          queue.shift()
          stats.sent++
          attempt = 0
        } catch (e) {
          attempt++
          stats.retries++
          const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(attempt - 1, 20))
          ctx.log.limited('webhook:retry', 'warn', `webhook ${cfg.url}: ${/** @type {Error} */ (e).message}; retrying in ${delay} ms`)
          retryTimer = setTimeout(() => {
            retryTimer = undefined
            void pump()
          }, delay)
          break
        }
      }
      busy = false
    }

    ctx.hooks.start.tapPromise({ name: PLUGIN_NAME, stage: OBSERVER }, async (model) => {
      cfg = section(model)
      stopped = false
    })
    ctx.hooks.reload.tapPromise({ name: PLUGIN_NAME, stage: OBSERVER }, async (next) => {
      cfg = section(next)
    })
    ctx.hooks.shutdown.tapPromise({ name: PLUGIN_NAME, stage: OBSERVER + 1 }, async () => {
      // let the publishers' last notices (VRRP STOP) reach the queue, then give the POSTs a moment
      const svc = /** @type {{ notifications?: { drain(): Promise<void> } }} */ (ctx.container.cradle).notifications
      await svc?.drain()
      for (let i = 0; i < 40 && queue.length > 0 && !retryTimer; i++) await new Promise((r) => setTimeout(r, 50))
      stopped = true
      if (retryTimer) clearTimeout(retryTimer)
      retryTimer = undefined
      queue = []
    })
    // enqueue and return at once: the POSTs happen in pump()
    ctx.hooks.notify.tap({ name: PLUGIN_NAME, stage: OBSERVER }, (n) => {
      if (!cfg.url || stopped) return
      if (queue.length >= maxQueue) {
        queue.shift()
        stats.dropped++
        ctx.log.limited('webhook:drop', 'warn', `webhook queue full (${maxQueue}): dropped the oldest notification`)
      }
      queue.push(n)
      void pump()
    })
    ctx.hooks.dumpJson.tap(PLUGIN_NAME, (w) => w.json('webhook', { ...stats, queued: queue.length }))
  },
}

export default plugin
