/**
 * A keyword tree with the core's keywords and the keywords of every built-in plugin that can be loaded
 * (from the workspaces' compiled dist). Each plugin's register() runs with a permissive stand-in context
 * (inactive role: plugins only declare keywords and taps); a plugin that fails to load or register is listed
 * in `failed` and left out. Used by the config-load bench and the samples test until `kad -t` covers them.
 */
import * as fs from 'node:fs'
import * as nodePath from 'node:path'
import { fileURLToPath } from 'node:url'
import { KeywordTree, registerCoreKeywords } from '../../core/src/config/index.js'

const root = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '../..')

interface PluginLike {
  meta: { name: string; version?: string; roles?: string[]; dependencies?: string[] }
  register(ctx: unknown): unknown
}

// anything goes: property access and calls return the proxy itself (hooks.x.for('y').tap(...), log.info(...))
const anything: any = new Proxy(function () {}, { get: (_t, p) => (p === 'then' ? undefined : anything), apply: () => anything })

export interface BuiltinTree {
  tree: KeywordTree
  loaded: string[]
  failed: Array<{ name: string; error: string }>
}

export async function builtinTree(only?: readonly string[]): Promise<BuiltinTree> {
  const tree = new KeywordTree()
  registerCoreKeywords(tree)
  const loaded: string[] = []
  const failed: BuiltinTree['failed'] = []
  const dirs = fs.readdirSync(nodePath.join(root, 'plugins')).filter((d) => fs.existsSync(nodePath.join(root, 'plugins', d, 'dist/index.js')))
  const plugins: PluginLike[] = []
  for (const d of dirs) {
    try {
      const mod = (await import(nodePath.join(root, 'plugins', d, 'dist/index.js'))) as { default?: PluginLike }
      const p = mod.default
      if (!p?.meta?.name || typeof p.register !== 'function') throw new Error('no definePlugin default export')
      if (!only || only.includes(p.meta.name)) plugins.push(p)
    } catch (e) {
      failed.push({ name: d, error: (e as Error).message })
    }
  }
  // dependencies first
  const byName = new Map(plugins.map((p) => [p.meta.name, p]))
  const done = new Set<string>()
  const visit = async (p: PluginLike, seen: Set<string>): Promise<void> => {
    if (done.has(p.meta.name) || seen.has(p.meta.name)) return
    seen.add(p.meta.name)
    for (const dep of p.meta.dependencies ?? []) {
      const q = byName.get(dep)
      if (q) await visit(q, seen)
    }
    done.add(p.meta.name)
    if ((p.meta.dependencies ?? []).some((dep) => !loaded.includes(dep))) {
      failed.push({ name: p.meta.name, error: `missing dependency ${(p.meta.dependencies ?? []).join(', ')}` })
      return
    }
    try {
      await p.register({
        meta: p.meta,
        options: {},
        role: 'parent',
        active: false,
        hooks: anything,
        keywords: tree.forPlugin(p.meta.name),
        container: { cradle: anything, resolve: anything, register: anything, createScope: anything },
        log: anything,
        provide: () => {},
      })
      loaded.push(p.meta.name)
    } catch (e) {
      failed.push({ name: p.meta.name, error: (e as Error).message })
    }
  }
  for (const p of plugins) await visit(p, new Set())
  return { tree, loaded, failed }
}
