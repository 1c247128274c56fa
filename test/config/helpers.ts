/** Shared helpers of the config tests: a virtual file system and a keyword tree with a small VRRP-like block. */
import * as nodePath from 'node:path'
import { KeywordTree, registerCoreKeywords, parseConfig, type ParseOptions, type ParseResult, type ConfigDiagnostic } from '../../core/src/config/index.js'
import { registerMiniLvs } from '../../bench/config-load/lvs-keywords.js'

export interface Vfs {
  readFile: (p: string) => string
  readDir: (p: string) => Array<{ name: string; dir: boolean }>
}

/** files by absolute path; directories are implied by the paths */
export function vfs(files: Record<string, string>): Vfs {
  const norm = new Map<string, string>()
  for (const [p, t] of Object.entries(files)) norm.set(nodePath.resolve(p), t)
  return {
    readFile: (p) => {
      const t = norm.get(nodePath.resolve(p))
      if (t === undefined) {
        const e = new Error(`ENOENT: no such file '${p}'`) as NodeJS.ErrnoException
        e.code = 'ENOENT'
        throw e
      }
      return t
    },
    readDir: (p) => {
      const dir = nodePath.resolve(p)
      const out = new Map<string, boolean>()
      for (const f of norm.keys()) {
        if (!f.startsWith(dir === '/' ? '/' : dir + '/')) continue
        const rest = f.slice(dir === '/' ? 1 : dir.length + 1)
        const slash = rest.indexOf('/')
        out.set(slash < 0 ? rest : rest.slice(0, slash), slash >= 0)
      }
      if (out.size === 0) {
        const e = new Error(`ENOENT: no such directory '${p}'`) as NodeJS.ErrnoException
        e.code = 'ENOENT'
        throw e
      }
      return [...out].map(([name, dir]) => ({ name, dir }))
    },
  }
}

export interface MiniInstance {
  name: string
  state?: string
  interface?: string
  vrid?: number
  priority: number
  advertInt: number
  nopreempt: boolean
  vips: string[]
  trackScripts: string[]
}

/** core keywords + a small vrrp_instance (plugin 'testvrrp') + the bench's mini LVS set (plugin 'minilvs') */
export function testTree(): KeywordTree {
  const vridSeen = new WeakSet<MiniInstance>()
  const tree = new KeywordTree()
  registerCoreKeywords(tree)
  const reg = tree.forPlugin('testvrrp')
  reg.schema('testvrrp', {
    type: 'object',
    required: ['instances'],
    properties: {
      instances: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'priority'],
          properties: { name: { type: 'string', minLength: 1 }, priority: { type: 'integer', minimum: 1, maximum: 255 }, vips: { type: 'array', maxItems: 20 } },
        },
      },
    },
  })
  reg.root.block<MiniInstance>('vrrp_instance', {
    open: (k) => {
      const inst: MiniInstance = { name: k.string(0, 'instance name') ?? '', priority: 100, advertInt: 1, nopreempt: false, vips: [], trackScripts: [] }
      k.section('testvrrp', () => ({ instances: [] as MiniInstance[] })).instances.push(inst)
      return inst
    },
    close: (k, inst) => {
      // a bad virtual_router_id was reported on its own line: one diagnostic per problem
      if (inst.vrid === undefined && !vridSeen.has(inst)) k.error(`(${inst.name}) the virtual router id must be set`)
    },
    children: (b) =>
      b
        .keyword('state', (k, inst) => {
          const v = k.oneOf(0, ['MASTER', 'BACKUP'])
          if (v) inst.state = v
        })
        .keyword('interface', (k, inst) => {
          const v = k.string(0)
          if (v !== undefined) inst.interface = v
        })
        .keyword('virtual_router_id', (k, inst) => {
          vridSeen.add(inst)
          const v = k.unsigned(0, { min: 1, max: 255 })
          if (v !== undefined) inst.vrid = v
        })
        .keyword('priority', (k, inst) => {
          const v = k.unsigned(0, { min: 1, max: 255 })
          if (v !== undefined) inst.priority = v
        })
        .keyword('advert_int', (k, inst) => {
          const v = k.timer(0, { min: 0.01, max: 255 })
          if (v !== undefined) inst.advertInt = v
        })
        .keyword('nopreempt', (_k, inst) => {
          inst.nopreempt = true
        }, { deprecatedAliases: ['no_preempt'] })
        .keyword('preempt', () => {}, { deprecated: 'it is the default' })
        .block<string[]>('virtual_ipaddress', {
          open: (_k, inst) => inst.vips,
          lines: (k, vips) => {
            const p = k.prefix(-1)
            if (p) vips.push(`${p.address}/${p.prefixLength}`)
          },
        })
        .block<string[]>('track_script', {
          open: (_k, inst) => inst.trackScripts,
          lines: (k, list) => {
            list.push(k.keyword)
          },
        }),
  })
  registerMiniLvs(tree.forPlugin('minilvs'))
  return tree
}

export function parseVirtual(files: Record<string, string>, main: string, opts: Partial<ParseOptions> = {}, tree = testTree()): ParseResult {
  const fs = vfs(files)
  return parseConfig({ file: main, readFile: fs.readFile, readDir: fs.readDir, configId: 'main', randomSeed: 1, ...opts }, tree)
}

export function parseText(text: string, opts: Partial<ParseOptions> = {}, tree = testTree()): ParseResult {
  return parseVirtual({ '/v/keepalived.conf': text }, '/v/keepalived.conf', opts, tree)
}

/** compact 'code@file:line' summaries for assertions */
export function summary(diags: readonly ConfigDiagnostic[]): string[] {
  return diags.map((d) => `${d.code}@${d.loc ? `${nodePath.basename(d.loc.file)}:${d.loc.line}` : '-'}`)
}
