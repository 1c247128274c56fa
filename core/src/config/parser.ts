/**
 * parseConfig: preprocess the files, walk the lines through the keyword tree (open / children / lines / close),
 * validate each section against its plugin's ajv schema, and return the deep-frozen model, the diagnostics
 * (each problem once, sorted by file and line) and keepalived's `-t` exit code.
 *
 * The walk is iterative (an explicit stack, so hostile nesting cannot overflow the call stack) and linear:
 * one Map lookup and one context object per line.
 */
import * as nodePath from 'node:path'
import type { ConfigDiagnostic, ConfigModel, ParseOptions, ParseResult, Severity, SourceLoc } from './types.js'
import { preprocessInto, type LineSink } from './preprocess.js'
import { hostConfigId } from './config-id.js'
import { KeywordTree, type ChildEntry, type KeywordNode } from './keyword-tree.js'
import { LineContext, lineLoc, type ParseSink } from './readers.js'
import type { ValidateFunction } from 'ajv'

interface Frame {
  readonly node: KeywordNode
  readonly target: unknown
  readonly parentTarget: unknown
  readonly ctx: LineContext | undefined
  readonly path: string
  /** the block was entered without its '{' (already reported) */
  readonly missingBrace: boolean
}

interface PendingBlock {
  readonly node: KeywordNode
  readonly target: unknown
  readonly parentTarget: unknown
  readonly ctx: LineContext
}

type MutableDiag = { -readonly [K in keyof ConfigDiagnostic]: ConfigDiagnostic[K] }

function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1
  let prev = new Array<number>(b.length + 1)
  for (let j = 0; j <= b.length; j++) prev[j] = j
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (cur[j] < best) best = cur[j]
    }
    if (best > max) return max + 1
    prev = cur
  }
  return prev[b.length]
}

function suggest(word: string, node: KeywordNode): string | undefined {
  if (!node.children || node.children.size > 2000) return undefined
  let best: string | undefined
  let bestD = 3
  for (const name of node.children.keys()) {
    const d = word.toLowerCase() === name.toLowerCase() ? 0 : editDistance(word, name, 2)
    if (d < bestD) {
      bestD = d
      best = name
    }
  }
  return best
}

function deepFreeze<T>(root: T): T {
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const v = stack.pop()
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) continue
    Object.freeze(v)
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e = v[i]
        if (e !== null && typeof e === 'object') stack.push(e)
      }
    } else {
      for (const k in v as Record<string, unknown>) {
        const e = (v as Record<string, unknown>)[k]
        if (e !== null && typeof e === 'object') stack.push(e)
      }
    }
  }
  return root
}

/** keepalived -t: the highest class seen wins (so fatal 4 + any error 5 gives 5, as keepalived) */
export function configExitCode(diagnostics: readonly ConfigDiagnostic[]): number {
  let code = 0
  for (const d of diagnostics) {
    if (d.severity === 'info') continue
    const c = d.exitClass ?? (d.severity === 'fatal' ? 4 : 5)
    if (c > code) code = c
  }
  return code
}

/** `file:line:col: severity: message [code] (keyword path)` */
export function formatConfigDiagnostic(d: ConfigDiagnostic): string {
  const where = d.loc ? `${d.loc.file}:${d.loc.line}${d.loc.column ? `:${d.loc.column}` : ''}: ` : ''
  const path = d.keywordPath ? ` (${d.keywordPath})` : ''
  return `${where}${d.severity}: ${d.message} [${d.code}]${path}`
}

class Walk implements ParseSink, LineSink {
  readonly diagnostics: ConfigDiagnostic[] = []
  readonly sections: Record<string, unknown> = {}
  readonly sectionLoc = new Map<string, SourceLoc>()
  /**
   * where each block object was opened, to locate schema errors: flat (object, file, line, column) records, no
   * hashing and no location object kept alive per block (a large config's GC copies whatever stays alive);
   * indexed only when a schema error needs it; the first block that returned an object wins
   */
  private readonly opened: unknown[] = []
  private objectLocIndex: Map<object, SourceLoc> | undefined
  private objectLoc(o: object): SourceLoc | undefined {
    if (this.objectLocIndex === undefined) {
      const m = new Map<object, SourceLoc>()
      const a = this.opened
      for (let i = 0; i < a.length; i += 4) {
        if (m.has(a[i] as object)) continue
        m.set(a[i] as object, lineLoc(a[i + 1] as string, a[i + 2] as number, a[i + 3] as number | undefined))
      }
      this.objectLocIndex = m
    }
    return this.objectLocIndex.get(o)
  }

  constructor(
    readonly configId: string,
    private readonly tree: KeywordTree,
    readonly forThisHost = true,
  ) {}

  report(d: ConfigDiagnostic): void {
    this.diagnostics.push(d)
  }

  section<T extends object>(name: string, init: () => T, loc: SourceLoc): T {
    let s = this.sections[name] as T | undefined
    if (s === undefined) {
      s = init()
      this.sections[name] = s
      this.sectionLoc.set(name, loc)
    }
    return s
  }

  private diag(severity: Severity, code: string, message: string, loc: SourceLoc | undefined, keywordPath?: string, exitClass?: 0 | 4 | 5 | 6): void {
    const d: MutableDiag = { code, severity, message }
    if (loc) d.loc = loc
    if (keywordPath) d.keywordPath = keywordPath
    if (exitClass !== undefined) d.exitClass = exitClass
    this.diagnostics.push(d)
  }

  /** suggestions are cached and capped: a file of garbage must not cost an edit distance per line per keyword */
  private readonly suggestions = new Map<string, string | undefined>()
  private suggestionBudget = 2000

  private suggestion(word: string, node: KeywordNode): string | undefined {
    const key = `${node.path}\u0000${word}`
    if (this.suggestions.has(key)) return this.suggestions.get(key)
    if (this.suggestionBudget <= 0 || word.length > 64) return undefined
    this.suggestionBudget--
    const s = suggest(word, node)
    this.suggestions.set(key, s)
    return s
  }

  private threw(e: unknown, loc: SourceLoc, path: string, plugin: string): void {
    this.diag('error', 'KAD_CFG_HANDLER', `keyword handler of plugin '${plugin}' threw: ${(e as Error)?.message ?? String(e)}`, loc, path)
  }

  private call(fn: () => void, loc: SourceLoc, path: string, plugin: string): boolean {
    try {
      fn()
      return true
    } catch (e) {
      this.threw(e, loc, path, plugin)
      return false
    }
  }

  private readonly rootTarget = { kind: 'root' as const }
  private readonly frames: Frame[] = []
  private pending: PendingBlock | undefined
  /** a keyword that takes no block (or an unknown one) was just seen: a '{' now opens a block to skip */
  private skipNextBlock = false
  /** the keyword just seen takes no block: a '{' now is reported */
  private notABlock: KeywordNode | undefined
  private skipDepth = 0

  /** a lone brace (lines arrive in order, straight from the preprocessor) */
  brace(brace: '{' | '}', file: string, line: number, column: number | undefined): void {
    const frames = this.frames
    if (frames.length === 0) frames.push(this.rootFrame())
    if (this.skipDepth > 0) {
      if (brace === '{') this.skipDepth++
      else this.skipDepth--
      return
    }
    if (brace === '{') {
      if (this.pending) {
        this.push(frames, this.pending, false)
        this.pending = undefined
      } else if (this.notABlock) {
        this.diag('error', 'KAD_CFG_NOT_A_BLOCK', `keyword '${this.notABlock.name}' does not take a block - block ignored`, lineLoc(file, line, column), this.notABlock.path)
        this.skipDepth = 1
      } else if (this.skipNextBlock) {
        this.skipDepth = 1
      } else {
        this.diag('error', 'KAD_CFG_UNEXPECTED_BRACE', "Unexpected '{' - its block is ignored", lineLoc(file, line, column), frames[frames.length - 1].path || undefined)
        this.skipDepth = 1
      }
      this.skipNextBlock = false
      this.notABlock = undefined
      return
    }
    this.skipNextBlock = false
    this.notABlock = undefined
    // `keyword` directly followed by the parent's '}': an empty block
    const p = this.missingBrace()
    if (p) this.close(p.node, p.ctx, p.target, p.parentTarget)
    if (frames.length > 1) {
      const f = frames.pop()!
      this.close(f.node, f.ctx!, f.target, f.parentTarget)
    } else {
      this.diag('error', 'KAD_CFG_EXTRA_BRACE', "Extra '}' found", lineLoc(file, line, column))
    }
  }

  /** a line of words (lines arrive in order, straight from the preprocessor) */
  words(words: string[], cols: number[] | undefined, file: string, line: number, column: number | undefined, raw: string): void {
    const frames = this.frames
    if (frames.length === 0) frames.push(this.rootFrame())
    if (this.skipDepth > 0) return
    this.skipNextBlock = false
    this.notABlock = undefined
    const p = this.missingBrace()
    if (p) this.push(frames, p, true)
    const top = frames[frames.length - 1]
    const kw = words[0]
    const entry: ChildEntry | undefined = top.node.children?.get(kw)
    if (entry) {
      const node = entry.node
      const ctx = new LineContext(this, words, file, line, column, node.path, raw, cols)
      if (entry.deprecatedAlias) this.diag('deprecated', 'KAD_CFG_DEPRECATED', `'${kw}' is deprecated - please use '${node.name}'`, ctx.loc, node.path, 0)
      if (node.deprecated !== undefined) {
        const hint = node.deprecated ? ` - ${/\s/.test(node.deprecated) ? node.deprecated : `please use '${node.deprecated}'`}` : ''
        this.diag('deprecated', 'KAD_CFG_DEPRECATED', `'${kw}' is deprecated${hint}`, ctx.loc, node.path, 0)
      }
      if (node.kind === 'keyword') {
        try {
          node.handler!(ctx, top.target)
        } catch (e) {
          this.threw(e, ctx.loc, node.path, node.plugin)
        }
        this.notABlock = node
      } else {
        let target: unknown
        try {
          target = node.spec!.open(ctx, top.target)
        } catch (e) {
          this.threw(e, ctx.loc, node.path, node.plugin)
          this.skipNextBlock = true
          return
        }
        if (target !== null && typeof target === 'object') this.opened.push(target, file, line, column)
        this.pending = { node, target, parentTarget: top.target, ctx }
      }
      return
    }
    const rootNode = this.tree.rootNode
    const spec = top.node.spec
    if (spec?.lines && top.node !== rootNode) {
      const ctx = new LineContext(this, words, file, line, column, top.path, raw, cols)
      try {
        spec.lines(ctx, top.target)
      } catch (e) {
        this.threw(e, ctx.loc, top.path, top.node.plugin)
      }
      this.skipNextBlock = true
      return
    }
    const path = top.path ? `${top.path}/${kw}` : kw
    const where = top.path ? ` in '${top.path}'` : ''
    let hint: string
    if (frames.length > 1 && rootNode.children!.has(kw)) hint = ` - '${kw}' is a top-level keyword: is a '}' missing before it?`
    else {
      const s = this.suggestion(kw, top.node)
      hint = s ? ` - did you mean '${s}'?` : ''
    }
    this.diag('warning', 'KAD_CFG_UNKNOWN_KEYWORD', `Unknown keyword '${kw}'${where}${hint}`, lineLoc(file, line, column), path)
    this.skipNextBlock = true
  }

  /** a block keyword that a line other than '{' follows: reported, and handed back to be closed or entered */
  private missingBrace(): PendingBlock | undefined {
    const p = this.pending
    if (p === undefined) return undefined
    this.pending = undefined
    this.diag('error', 'KAD_CFG_MISSING_BRACE', `Missing '{' at beginning of configuration block '${p.node.name}'`, p.ctx.loc, p.node.path)
    return p
  }

  private rootFrame(): Frame {
    return { node: this.tree.rootNode, target: this.rootTarget, parentTarget: undefined, ctx: undefined, path: '', missingBrace: false }
  }

  /** end of input: unopened and unclosed blocks */
  end(): void {
    const frames = this.frames
    const p = this.missingBrace()
    if (p) this.close(p.node, p.ctx, p.target, p.parentTarget)
    while (frames.length > 1) {
      const f = frames.pop()!
      if (!f.missingBrace) {
        this.diag('error', 'KAD_CFG_UNCLOSED_BLOCK', `Missing '}' at end of configuration: block '${f.node.name}' opened here is not closed`, f.ctx!.loc, f.path)
      }
      this.close(f.node, f.ctx!, f.target, f.parentTarget)
    }
  }

  private push(frames: Frame[], p: PendingBlock, missingBrace: boolean): void {
    frames.push({ node: p.node, target: p.target, parentTarget: p.parentTarget, ctx: p.ctx, path: p.node.path, missingBrace })
  }

  private close(node: KeywordNode, ctx: LineContext, target: unknown, parentTarget: unknown): void {
    const close = node.spec?.close
    if (close) this.call(() => close(ctx, target, parentTarget), ctx.loc, node.path, node.plugin)
  }

  /** defaults for untouched sections, then each section's schema */
  finish(): void {
    for (const [name, init] of this.tree.defaultSections()) {
      if (this.sections[name] === undefined) this.sections[name] = init()
    }
    for (const name of this.tree.schemaSections()) {
      const data = this.sections[name]
      if (data === undefined) continue
      // the fast path answers only "valid"; anything else (and every message) comes from ajv
      const fast = this.tree.fastCheckFor(name)
      if (fast !== undefined && fast(data)) continue
      let entry: { plugin: string; validate: ValidateFunction }
      try {
        entry = this.tree.schemaFor(name)!
      } catch (e) {
        this.diag('error', 'KAD_CFG_SCHEMA', (e as Error).message, this.sectionLoc.get(name))
        continue
      }
      let valid: boolean
      try {
        valid = entry.validate(data) as boolean
      } catch (e) {
        this.diag('error', 'KAD_CFG_SCHEMA', `section '${name}' (plugin '${entry.plugin}') could not be validated: ${(e as Error).message}`, this.sectionLoc.get(name))
        continue
      }
      if (valid) continue
      for (const err of entry.validate.errors ?? []) {
        const where = err.instancePath || '/'
        const extra = err.keyword === 'additionalProperties' ? ` '${(err.params as { additionalProperty?: string }).additionalProperty}'` : ''
        this.diag(
          'error',
          'KAD_CFG_SCHEMA',
          `section '${name}' ${where}: ${err.message ?? 'is invalid'}${extra} (schema of plugin '${entry.plugin}')`,
          this.locate(name, data, err.instancePath),
        )
      }
    }
  }

  /** the innermost block opened on the way down `instancePath` */
  private locate(section: string, data: unknown, instancePath: string): SourceLoc | undefined {
    let loc = this.sectionLoc.get(section)
    let cur: unknown = data
    if (!instancePath) return loc
    for (const raw of instancePath.split('/').slice(1)) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
      if (cur === null || typeof cur !== 'object') break
      cur = (cur as Record<string, unknown>)[key]
      if (cur !== null && typeof cur === 'object') {
        const l = this.objectLoc(cur)
        if (l) loc = l
      }
    }
    return loc
  }
}

/** Sort (by file in reading order, then line, column), de-duplicate, and apply --strict. */
export function finalizeDiagnostics(diags: readonly ConfigDiagnostic[], files: readonly string[], strict: boolean): ConfigDiagnostic[] {
  const fileIndex = new Map<string, number>()
  files.forEach((f, i) => fileIndex.set(f, i))
  const seen = new Set<string>()
  const out: Array<{ d: ConfigDiagnostic; i: number }> = []
  diags.forEach((d0, i) => {
    let d = d0
    if (strict && d.severity === 'warning') {
      const m: MutableDiag = { ...d, severity: 'error' }
      if (m.exitClass === 0) m.exitClass = 5
      d = m
    }
    const key = `${d.code}\u0000${d.severity}\u0000${d.message}\u0000${d.loc?.file ?? ''}\u0000${d.loc?.line ?? ''}\u0000${d.loc?.column ?? ''}`
    if (seen.has(key)) return
    seen.add(key)
    out.push({ d, i })
  })
  out.sort((a, b) => {
    const la = a.d.loc
    const lb = b.d.loc
    if (!la || !lb) return la ? -1 : lb ? 1 : a.i - b.i
    const fa = fileIndex.get(la.file) ?? files.length
    const fb = fileIndex.get(lb.file) ?? files.length
    if (fa !== fb) return fa - fb
    if (la.file !== lb.file) return la.file < lb.file ? -1 : 1
    if (la.line !== lb.line) return la.line - lb.line
    const ca = la.column ?? 0
    const cb = lb.column ?? 0
    if (ca !== cb) return ca - cb
    return a.i - b.i
  })
  return out.map((x) => x.d)
}

export function parseConfig(opts: ParseOptions, tree: KeywordTree): ParseResult {
  const walk = new Walk(opts.configId ?? hostConfigId(), tree, opts.forThisHost !== false)
  const pre = preprocessInto(opts, walk)
  if (!pre.mainMissing) {
    walk.end()
    walk.finish()
  }
  const diagnostics = finalizeDiagnostics([...pre.diagnostics, ...walk.diagnostics], pre.files, opts.strict === true)
  const model: ConfigModel = { sections: walk.sections, files: pre.files, configId: pre.configId, ...(opts.forThisHost === false ? { forThisHost: false as const } : {}) }
  deepFreeze(model)
  deepFreeze(diagnostics)
  return { model, diagnostics, exitCode: configExitCode(diagnostics) }
}

/** Parse configuration text (tests, `kad config check -`): `file` is the name used in locations. */
export function parseConfigText(text: string, tree: KeywordTree, opts: Partial<ParseOptions> = {}): ParseResult {
  const file = opts.file ?? nodePath.resolve('keepalived.conf')
  return parseConfig({ ...opts, file, text }, tree)
}
