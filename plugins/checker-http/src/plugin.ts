/** HTTP_GET / SSL_GET: the keywords in every process; the checkers (http-checker.ts) only where checks run. */
import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import type { BlockBuilder, KeywordContext } from '@kad/core'
import type { CheckerBlockModel } from '@kad/plugin-checkers'
import { checkerBlock } from '@kad/plugin-checkers/keywords'
import { socketPlace } from '@kad/plugin-checkers/socket-options'
import type { HttpOptions, UrlModel } from './http-checker.js'
import { REGEX_OPTIONS, compileRegex } from './regex.js'

export const PLUGIN_NAME = 'checker-http'

function opts(c: CheckerBlockModel): HttpOptions {
  return c.options as unknown as HttpOptions
}

/** `status_code 200 201-204 301`: inclusive ranges, each in 100..599 */
export function readStatusCodes(k: KeywordContext, type: string): [number, number][] | undefined {
  const out: [number, number][] = []
  for (const w of k.args) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(w)
    const a = m ? Number(m[1]) : NaN
    const b = m ? Number(m[2] ?? m[1]) : NaN
    if (!m || a < 100 || a > 599 || b < 100 || b > 599 || b < a) {
      k.error(`Invalid ${type} status code '${w}'`)
      continue
    }
    out.push([a, b])
  }
  if (k.args.length === 0) k.error(`${type} status_code requires a value`)
  return out.length ? out : undefined
}

function urlBlock(type: string) {
  return {
    open: (_k: KeywordContext, c: CheckerBlockModel): UrlModel => {
      const u: UrlModel = { path: '' }
      ;(opts(c).urls ??= []).push(u)
      return u
    },
    close: (k: KeywordContext, u: UrlModel, c: CheckerBlockModel) => {
      if (!u.path) {
        k.error(`${type} url has no path - ignoring`)
        opts(c).urls = opts(c).urls.filter((x) => x !== u)
        return
      }
      if (u.regex !== undefined) {
        try {
          compileRegex(u)
        } catch (e) {
          k.error(`Invalid regex '${u.regex}': ${(e as Error).message}`)
        }
      } else if (u.regexNoMatch || u.regexOptions || u.regexMinOffset !== undefined || u.regexMaxOffset !== undefined) {
        k.warn(`${type} regex options specified without regex - ignoring`)
      }
    },
    children: (b: BlockBuilder<UrlModel>) =>
      b
        .keyword('path', (k, u) => {
          const v = k.string(0, 'path')
          if (v !== undefined) u.path = v
        })
        .keyword('digest', (k, u) => {
          const v = k.string(0, 'digest')
          if (v === undefined) return
          if (!/^[0-9a-fA-F]{32}$/.test(v)) {
            k.error(`digest '${v}' is not a valid MD5 digest - ignoring`)
            return
          }
          if (u.digest) k.warn(`Digest '${v}' is a duplicate`)
          u.digest = v.toLowerCase()
        })
        .keyword('status_code', (k, u) => {
          const v = readStatusCodes(k, type)
          if (v) u.statusCodes = [...(u.statusCodes ?? []), ...v]
        })
        .keyword('virtualhost', (k, u) => {
          const v = k.string(0, 'virtualhost')
          if (v !== undefined) u.virtualhost = v
        })
        .keyword('regex', (k, u) => {
          const v = k.string(0, 'regex')
          if (v !== undefined) u.regex = v
        })
        .keyword('regex_no_match', (k, u) => {
          u.regexNoMatch = k.bool(0) ?? true
        })
        .keyword('regex_options', (k, u) => {
          const list: string[] = []
          for (const w of k.args) {
            if (w in REGEX_OPTIONS) list.push(w)
            else k.error(`Unknown regex option ${w} - ignoring`)
          }
          u.regexOptions = list
        })
        .keyword('regex_stack', (k, u) => {
          const a = k.unsigned(0, { min: 1 })
          const m = k.args[1] !== undefined ? k.unsigned(1, { min: 1 }) : a
          if (a !== undefined && m !== undefined) u.regexStack = [a, m]
        })
        .keyword('regex_min_offset', (k, u) => {
          const v = k.unsigned(0)
          if (v !== undefined) u.regexMinOffset = v
        })
        .keyword('regex_max_offset', (k, u) => {
          const v = k.unsigned(0, { min: 1 })
          if (v !== undefined) u.regexMaxOffset = v
        }),
  }
}

export function installHttpBlock(b: BlockBuilder<any>, type: 'HTTP_GET' | 'SSL_GET'): void {
  b.block(
    type,
    checkerBlock(type, {
      init: () => ({ urls: [] }),
      children: (cb) => {
        cb.block('url', urlBlock(type))
          .keyword('virtualhost', (k, c) => {
            const v = k.string(0, 'virtualhost')
            if (v !== undefined) opts(c).virtualhost = v
          })
          .keyword('http_protocol', (k, c) => {
            const v = k.string(0, 'protocol')
            if (v === undefined) return
            const n = v === '1.0' ? '1.0' : v === '1.0C' || v === '1.0c' ? '1.0C' : v === '1.1' ? '1.1' : undefined
            if (!n) k.error(`Invalid http_protocol '${v}'`)
            else opts(c).httpProtocol = n
          })
          .keyword('fast_recovery', (k, c) => {
            const v = k.bool(0)
            if (v !== undefined) opts(c).fastRecovery = v
          })
          .keyword('max_body', (k, c) => {
            const v = k.unsigned(0, { min: 1, max: 1 << 30 })
            if (v !== undefined) opts(c).maxBody = v
          })
        if (type === 'SSL_GET') {
          cb.keyword('enable_sni', (k, c) => {
            const v = k.bool(0)
            if (v !== undefined) opts(c).enableSni = v
          })
            .keyword('sni_name', (k, c) => {
              const v = k.string(0, 'name')
              if (v !== undefined) opts(c).sniName = v
            })
            .keyword('tls_compliant', (k, c) => {
              const v = k.bool(0)
              if (v !== undefined) opts(c).tlsCompliant = v
            })
        }
      },
      close: (k, c) => {
        if (opts(c).urls.length === 0) k.error(`${type} has no url - it will always fail`)
      },
    }),
  )
}

export default definePlugin({
  meta: {
    name: PLUGIN_NAME,
    version: '0.1.0',
    host: '^' + HOST_API_VERSION,
    roles: ['check'],
    dependencies: ['checkers'],
    description: 'HTTP_GET and SSL_GET',
  },
  async register(ctx) {
    ctx.keywords.extend('virtual_server/real_server', (b) => {
      installHttpBlock(b, 'HTTP_GET')
      installHttpBlock(b, 'SSL_GET')
    })
    if (!ctx.active) return
    const { HttpChecker, PlainHttpChecker } = await import('./http-checker.js')
    ctx.hooks.createChecker.for('HTTP_GET').tap(PLUGIN_NAME, (spec) => new PlainHttpChecker(spec, socketPlace((ctx.options as { netns?: string }).netns, ctx.container)))
    ctx.hooks.createChecker.for('SSL_GET').tap(PLUGIN_NAME, (spec) => new HttpChecker('SSL_GET', spec))
  },
})
