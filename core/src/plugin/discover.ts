import { readdirSync, readFileSync, existsSync, realpathSync } from 'node:fs'
import { join, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProcessRole } from './contract.js'

/**
 * Where plugins come from. Built-in plugins are the `@kad/plugin-*` workspace packages; third-party plugins are
 * packages named `kad-plugin-*` or `@scope/kad-plugin-*` with a `"kad"` field in package.json. Both are found the
 * same way: by scanning node_modules directories (kad's own, then every directory in KAD_PLUGIN_PATH or
 * --plugin-path). Reading package.json is cheap; the module is imported only when the host loads the plugin.
 */
export interface DiscoveredPlugin {
  /** package name */
  readonly packageName: string
  readonly version: string
  readonly description?: string
  /** absolute package directory (symlinks resolved) */
  readonly dir: string
  /** 'built-in' or the node_modules path it was found in */
  readonly source: 'built-in' | string
  readonly roles: readonly ProcessRole[]
  /** the module the host imports for the plugin: `kad.plugin` when the package names one, else `main` */
  readonly entry: string
  /** the package's own entry (`exports["."]` or `main`): its library, for commands that use one (genhash) */
  readonly main: string
}

interface PackageJson {
  name?: string
  version?: string
  description?: string
  main?: string
  exports?: unknown
  /** `plugin`: a module of the package that default-exports the plugin, when its main entry is a library too */
  kad?: { roles?: ProcessRole[]; builtin?: boolean; plugin?: string }
}

function readPkg(dir: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson
  } catch {
    return undefined
  }
}

function entryOf(dir: string, pkg: PackageJson): string {
  const exp = pkg.exports as Record<string, unknown> | string | undefined
  let rel: string | undefined
  if (typeof exp === 'string') rel = exp
  else if (exp && typeof exp === 'object') {
    const dot = (exp as Record<string, unknown>)['.']
    if (typeof dot === 'string') rel = dot
    else if (dot && typeof dot === 'object') rel = ((dot as Record<string, unknown>).import ?? (dot as Record<string, unknown>).default) as string | undefined
  }
  rel ??= pkg.main ?? 'index.js'
  return resolve(dir, rel)
}

export function isPluginPackageName(name: string): boolean {
  return /^(@kad\/plugin-[a-z0-9-]+|kad-plugin-[a-z0-9-]+|@[a-z0-9-._~]+\/kad-plugin-[a-z0-9-]+)$/.test(name)
}

/** the node_modules directory kad itself was installed from (the workspace root's) */
export function ownNodeModules(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const nm = join(dir, 'node_modules')
    if (existsSync(join(nm, '@kad'))) return nm
    const up = dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

export function pluginSearchPath(extra: readonly string[] = []): string[] {
  const env = (process.env.KAD_PLUGIN_PATH ?? '').split(':').filter(Boolean)
  const own = ownNodeModules()
  const all = [...(own ? [own] : []), ...env, ...extra]
  return [...new Set(all.map((p) => resolve(p)))]
}

/** scan node_modules directories for plugin packages; first found wins per package name */
export function discoverPlugins(searchPath: readonly string[]): DiscoveredPlugin[] {
  const out = new Map<string, DiscoveredPlugin>()
  const own = ownNodeModules()
  for (const nm of searchPath) {
    let names: string[]
    try {
      names = readdirSync(nm)
    } catch {
      continue
    }
    const candidates: string[] = []
    for (const n of names) {
      if (n.startsWith('@')) {
        let scoped: string[] = []
        try {
          scoped = readdirSync(join(nm, n))
        } catch {
          /* ignore */
        }
        for (const s of scoped) candidates.push(`${n}/${s}`)
      } else candidates.push(n)
    }
    for (const name of candidates.sort()) {
      if (!isPluginPackageName(name) || out.has(name)) continue
      const dir = join(nm, name)
      const pkg = readPkg(dir)
      if (!pkg?.kad) continue
      let real = dir
      try {
        real = realpathSync(dir)
      } catch {
        /* dangling */
      }
      const builtin = name.startsWith('@kad/plugin-') && pkg.kad.builtin === true && own !== undefined && resolve(nm) === resolve(own)
      const main = entryOf(real, pkg)
      out.set(name, {
        packageName: name,
        version: pkg.version ?? '0.0.0',
        description: pkg.description,
        dir: real,
        source: builtin ? 'built-in' : nm,
        roles: pkg.kad.roles ?? [],
        entry: typeof pkg.kad.plugin === 'string' ? resolve(real, pkg.kad.plugin) : main,
        main,
      })
    }
  }
  return [...out.values()]
}
