/**
 * The keyword tree: every keyword and block of the configuration language, as plugins (and the core) register
 * them. The parser (parser.ts) walks the preprocessed lines through it.
 *
 * - `tree.root` / `tree.extend()` / `tree.schema()` register as the core; `tree.forPlugin(name)` returns a
 *   registrar view that records which plugin contributed which keyword path (`tree.keywordsOf(name)`).
 * - Registering a name (or alias) twice in the same block throws KAD_ERR_KEYWORD_DUPLICATE; extending a path
 *   that does not exist (or is not a block) throws KAD_ERR_KEYWORD_PATH. Both name the plugin.
 * - Aliases are accepted silently; deprecated aliases and deprecated keywords produce a 'deprecated' note.
 */
import { createRequire } from 'node:module'
import type { ValidateFunction } from 'ajv'
import { KadError } from '../errors.js'
import { compileFastCheck, isSimpleSchema, type FastCheck } from './schema-fast.js'
import type { BlockBuilder, BlockSpec, KeywordHandler, KeywordOpts, KeywordRegistrar, RootTarget } from './types.js'

const require = createRequire(import.meta.url)
// ajv is CommonJS; load it through require so its default export is the class under every module setting
type AjvInstance = { compile(schema: object): ValidateFunction; validateSchema(schema: object): boolean | Promise<unknown>; errorsText(errors?: unknown): string; errors?: unknown }
// loaded on first use: a configuration whose schemas all take the fast path never loads ajv
function loadAjv(): new (o: object) => AjvInstance {
  const m = require('ajv') as { default?: new (o: object) => AjvInstance } & (new (o: object) => AjvInstance)
  return (m.default ?? m) as new (o: object) => AjvInstance
}

export const CORE_PLUGIN = 'core'

export interface KeywordNode {
  readonly name: string
  /** canonical slash path from the root, e.g. 'virtual_server/real_server' */
  readonly path: string
  readonly plugin: string
  readonly kind: 'keyword' | 'block'
  readonly handler?: KeywordHandler<any>
  readonly spec?: BlockSpec<any, any>
  /** blocks: sub-keywords by every accepted name */
  readonly children?: Map<string, ChildEntry>
  /** this keyword is deprecated; what to use instead */
  readonly deprecated?: string
}

export interface ChildEntry {
  readonly node: KeywordNode
  /** the name used is a deprecated alias of node.name */
  readonly deprecatedAlias?: boolean
}

interface SchemaEntry {
  readonly plugin: string
  readonly schema: object
  /** compiled on first use: a child process that never parses never pays for ajv's code generation */
  validate?: ValidateFunction
  /** the fast "surely valid" check (schema-fast.ts); null when the schema is outside its subset */
  fast?: FastCheck | null
}

export class KeywordTree implements KeywordRegistrar {
  readonly rootNode: KeywordNode
  private readonly contributions = new Map<string, string[]>()
  private readonly schemas = new Map<string, SchemaEntry>()
  private readonly sectionDefaults = new Map<string, () => object>()
  private ajv: AjvInstance | undefined
  private readonly coreView: KeywordRegistrar

  constructor() {
    this.rootNode = { name: '', path: '', plugin: CORE_PLUGIN, kind: 'block', children: new Map(), spec: { open: () => ({ kind: 'root' }) } }
    this.coreView = this.forPlugin(CORE_PLUGIN)
  }

  get root(): BlockBuilder<RootTarget> {
    return this.coreView.root
  }
  extend<T = any>(path: string, fn: (b: BlockBuilder<T>) => void): void {
    this.coreView.extend(path, fn)
  }
  schema(section: string, jsonSchema: object): void {
    this.coreView.schema(section, jsonSchema)
  }

  /** A registrar that records `plugin` as the contributor of everything registered through it. */
  forPlugin(plugin: string): KeywordRegistrar {
    return {
      root: this.builder<RootTarget>(this.rootNode, plugin),
      extend: <T = any>(path: string, fn: (b: BlockBuilder<T>) => void): void => {
        const node = this.find(path)
        if (!node || node.kind !== 'block') {
          throw new KadError('KAD_ERR_KEYWORD_PATH', `plugin '${plugin}' extends '${path}', which is ${node ? 'a keyword, not a block' : 'not a registered block'}`, {
            details: { plugin, path },
          })
        }
        fn(this.builder<T>(node, plugin))
      },
      schema: (section: string, jsonSchema: object): void => this.addSchema(plugin, section, jsonSchema),
    }
  }

  /** keyword paths a plugin contributed, in registration order */
  keywordsOf(plugin: string): string[] {
    return [...(this.contributions.get(plugin) ?? [])]
  }

  /** plugins that contributed keywords or schemas */
  plugins(): string[] {
    const s = new Set([...this.contributions.keys(), ...[...this.schemas.values()].map((e) => e.plugin)])
    return [...s]
  }

  /** the node at a slash path (canonical names or aliases); the empty path is the root */
  find(path: string): KeywordNode | undefined {
    let node: KeywordNode | undefined = this.rootNode
    if (path === '') return node
    for (const seg of path.split('/')) {
      if (!node?.children) return undefined
      node = node.children.get(seg)?.node
    }
    return node
  }

  /** the section's schema validator, if a plugin registered one (compiled on first use; may throw KAD_ERR_SCHEMA) */
  schemaFor(section: string): { plugin: string; validate: ValidateFunction } | undefined {
    const entry = this.schemas.get(section)
    if (!entry) return undefined
    return { plugin: entry.plugin, validate: this.compiled(section, entry) }
  }

  /**
   * The section's fast check (schema-fast.ts): true means ajv would accept the data too, false means "ask ajv"
   * (schemaFor). Undefined when the section has no schema or its schema is outside the fast subset.
   */
  fastCheckFor(section: string): FastCheck | undefined {
    const entry = this.schemas.get(section)
    if (!entry) return undefined
    if (entry.fast === undefined) entry.fast = compileFastCheck(entry.schema) ?? null
    return entry.fast ?? undefined
  }

  schemaSections(): string[] {
    return [...this.schemas.keys()]
  }

  /**
   * Make sure `section` exists after every parse (created from `init` when no keyword created it), so that its
   * defaults are in the model and its schema is checked even for a config that never mentions it.
   */
  ensureSection(section: string, init: () => object): void {
    this.sectionDefaults.set(section, init)
  }

  defaultSections(): ReadonlyMap<string, () => object> {
    return this.sectionDefaults
  }

  private addSchema(plugin: string, section: string, jsonSchema: object): void {
    const prev = this.schemas.get(section)
    if (prev && prev.plugin !== plugin) {
      throw new KadError('KAD_ERR_KEYWORD_DUPLICATE', `plugin '${plugin}' registers a schema for section '${section}', which plugin '${prev.plugin}' owns`, {
        details: { plugin, section, owner: prev.plugin },
      })
    }
    // a schema made of the simple subset is valid by construction: ajv (and its meta-schema) is not loaded for it
    if (isSimpleSchema(jsonSchema)) {
      this.schemas.set(section, { plugin, schema: jsonSchema })
      return
    }
    const ajv = this.getAjv()
    let ok: boolean | Promise<unknown>
    try {
      ok = ajv.validateSchema(jsonSchema)
    } catch (e) {
      ok = false
      ajv.errors = [{ message: (e as Error).message }]
    }
    if (ok !== true) {
      throw new KadError('KAD_ERR_SCHEMA', `plugin '${plugin}': the schema for section '${section}' is not a valid JSON schema: ${ajv.errorsText(ajv.errors)}`, {
        details: { plugin, section },
      })
    }
    this.schemas.set(section, { plugin, schema: jsonSchema })
  }

  /**
   * One ajv for every schema, created on first use. `code.optimize: false` skips ajv's optimisation passes over
   * the generated code: it halves the compile time and changes no verdict or message.
   */
  private getAjv(): AjvInstance {
    return (this.ajv ??= new (loadAjv())({ allErrors: true, strict: false, allowUnionTypes: true, code: { optimize: false } }))
  }

  /** compile one section's schema (lazily, once); throws KAD_ERR_SCHEMA naming the plugin */
  private compiled(section: string, entry: SchemaEntry): ValidateFunction {
    if (entry.validate) return entry.validate
    try {
      entry.validate = this.getAjv().compile(entry.schema)
    } catch (e) {
      throw new KadError('KAD_ERR_SCHEMA', `plugin '${entry.plugin}': the schema for section '${section}' does not compile: ${(e as Error).message}`, {
        cause: e,
        details: { plugin: entry.plugin, section },
      })
    }
    return entry.validate
  }

  /** compile every registered schema now (`kad plugins list`, tests); throws KAD_ERR_SCHEMA on the first that fails */
  compileSchemas(): void {
    for (const [section, entry] of this.schemas) this.compiled(section, entry)
  }

  private record(plugin: string, path: string): void {
    let list = this.contributions.get(plugin)
    if (!list) this.contributions.set(plugin, (list = []))
    list.push(path)
  }

  private add(parent: KeywordNode, plugin: string, node: KeywordNode, opts: KeywordOpts | undefined): void {
    const children = parent.children!
    const names: Array<[string, boolean]> = [[node.name, false]]
    for (const a of opts?.aliases ?? []) names.push([a, false])
    for (const a of opts?.deprecatedAliases ?? []) names.push([a, true])
    for (const [name] of names) {
      if (typeof name !== 'string' || name.length === 0 || /[\s/{}]/.test(name)) {
        throw new KadError('KAD_ERR_KEYWORD_PATH', `plugin '${plugin}' registers an invalid keyword name '${String(name)}' in '${parent.path || '<root>'}'`, {
          details: { plugin, name },
        })
      }
      const prev = children.get(name)
      if (prev) {
        const where = parent.path ? `${parent.path}/${name}` : name
        throw new KadError('KAD_ERR_KEYWORD_DUPLICATE', `plugin '${plugin}' registers keyword '${where}', which plugin '${prev.node.plugin}' already registered`, {
          details: { plugin, path: where, owner: prev.node.plugin },
        })
      }
    }
    for (const [name, dep] of names) children.set(name, dep ? { node, deprecatedAlias: true } : { node })
    this.record(plugin, node.path)
  }

  private builder<T>(parent: KeywordNode, plugin: string): BlockBuilder<T> {
    const tree = this
    const childPath = (name: string): string => (parent.path ? `${parent.path}/${name}` : name)
    const b: BlockBuilder<T> = {
      keyword(name: string, handler: KeywordHandler<T>, opts?: KeywordOpts): BlockBuilder<T> {
        const node: KeywordNode = { name, path: childPath(name), plugin, kind: 'keyword', handler, ...(opts?.deprecated !== undefined ? { deprecated: opts.deprecated } : {}) }
        tree.add(parent, plugin, node, opts)
        return b
      },
      block<U>(name: string, spec: BlockSpec<T, U>, opts?: KeywordOpts): BlockBuilder<T> {
        const node: KeywordNode = {
          name,
          path: childPath(name),
          plugin,
          kind: 'block',
          spec,
          children: new Map(),
          ...(opts?.deprecated !== undefined ? { deprecated: opts.deprecated } : {}),
        }
        tree.add(parent, plugin, node, opts)
        if (spec.children) spec.children(tree.builder<U>(node, plugin))
        return b
      },
    }
    return b
  }
}
