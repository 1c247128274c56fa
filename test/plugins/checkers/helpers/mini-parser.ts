/**
 * A small stand-in for core's config parser (KeywordTree + parseConfig), good enough to drive the checker
 * plugins' keyword handlers in tests until the real parser lands: words, quotes, comments, nested blocks,
 * `lines` fallbacks, extend(), aliases and the value readers.
 */
import { isIP } from 'node:net'
import type {
  BlockBuilder,
  BlockSpec,
  ConfigDiagnostic,
  ConfigModel,
  IpAddr,
  IpPrefix,
  KeywordContext,
  KeywordHandler,
  KeywordRegistrar,
  RootTarget,
  SourceLoc,
} from '@kad/core'

interface Node {
  keywords: Map<string, { handler: KeywordHandler<any> }>
  blocks: Map<string, { spec: BlockSpec<any, any>; node: Node }>
}

function newNode(): Node {
  return { keywords: new Map(), blocks: new Map() }
}

class Builder<T> implements BlockBuilder<T> {
  constructor(readonly node: Node) {}
  keyword(name: string, handler: KeywordHandler<T>, opts?: { aliases?: readonly string[] }): BlockBuilder<T> {
    for (const n of [name, ...(opts?.aliases ?? [])]) this.node.keywords.set(n, { handler })
    return this
  }
  block<U>(name: string, spec: BlockSpec<T, U>, opts?: { aliases?: readonly string[] }): BlockBuilder<T> {
    const node = newNode()
    for (const n of [name, ...(opts?.aliases ?? [])]) this.node.blocks.set(n, { spec, node })
    spec.children?.(new Builder<U>(node))
    return this
  }
}

export class MiniTree implements KeywordRegistrar {
  readonly rootNode = newNode()
  readonly root: BlockBuilder<RootTarget> = new Builder<RootTarget>(this.rootNode)
  readonly schemas = new Map<string, object>()
  extend<T = any>(path: string, fn: (b: BlockBuilder<T>) => void): void {
    let n = this.rootNode
    for (const part of path.split('/')) {
      const b = n.blocks.get(part)
      if (!b) throw new Error(`extend: no block ${path}`)
      n = b.node
    }
    fn(new Builder<T>(n))
  }
  schema(section: string, jsonSchema: object): void {
    this.schemas.set(section, jsonSchema)
  }
}

function tokenize(text: string, file: string): { words: string[]; loc: SourceLoc }[] {
  const out: { words: string[]; loc: SourceLoc }[] = []
  text.split('\n').forEach((raw, i) => {
    const words: string[] = []
    let cur = ''
    let inWord = false
    let q: string | null = null
    for (let j = 0; j < raw.length; j++) {
      const c = raw[j]
      if (q) {
        if (c === q) q = null
        else cur += c
        continue
      }
      if (c === '"') {
        q = c
        inWord = true
        continue
      }
      if (c === '#' || c === '!') break
      if (c === '{' || c === '}') {
        if (inWord) words.push(cur)
        cur = ''
        inWord = false
        words.push(c)
        continue
      }
      if (c === ' ' || c === '\t' || c === '\r') {
        if (inWord) words.push(cur)
        cur = ''
        inWord = false
        continue
      }
      cur += c
      inWord = true
    }
    if (inWord) words.push(cur)
    if (words.length) out.push({ words, loc: { file, line: i + 1 } })
  })
  return out
}

export interface MiniResult {
  model: ConfigModel
  diagnostics: ConfigDiagnostic[]
  messages: string[]
}

export function parseText(tree: MiniTree, text: string, file = 'keepalived.conf'): MiniResult {
  const sections: Record<string, unknown> = {}
  const diagnostics: ConfigDiagnostic[] = []
  // flatten into a token stream of lines where '{' and '}' are separate entries
  const lines: { words: string[]; loc: SourceLoc }[] = []
  for (const l of tokenize(text, file)) {
    let cur: string[] = []
    for (const w of l.words) {
      if (w === '{' || w === '}') {
        if (cur.length) lines.push({ words: cur, loc: l.loc })
        lines.push({ words: [w], loc: l.loc })
        cur = []
      } else cur.push(w)
    }
    if (cur.length) lines.push({ words: cur, loc: l.loc })
  }
  let i = 0
  const ctx = (words: string[], loc: SourceLoc, path: string): KeywordContext => {
    const args = words.slice(1)
    const report = (severity: ConfigDiagnostic['severity'], message: string, code = 'KAD_CFG_TEST') =>
      diagnostics.push({ code, severity, message, loc, keywordPath: path })
    const k: KeywordContext = {
      keyword: words[0],
      args,
      loc,
      path,
      configId: 'test',
      error: (m, c) => report('error', m, c),
      warn: (m, c) => report('warning', m, c),
      deprecated: (m) => report('deprecated', m),
      fatal: (m, c) => report('fatal', m, c),
      string: (n, what) => {
        if (args[n] === undefined) {
          report('error', `missing ${what ?? 'parameter'} after ${words[0]}`)
          return undefined
        }
        return args[n]
      },
      rest: (n) => args.slice(n).join(' '),
      unsigned: (n, o) => num(n, o, false),
      integer: (n, o) => num(n, o, true),
      timer: (n, o) => {
        const s = args[n]
        if (s === undefined || !/^\d+(\.\d+)?$/.test(s)) {
          report('error', `invalid timer '${s ?? ''}'`)
          return undefined
        }
        const v = Number(s)
        if ((o?.min !== undefined && v < o.min) || (o?.max !== undefined && v > o.max)) {
          report('error', `timer '${s}' outside range`)
          return undefined
        }
        return v
      },
      bool: (n, dflt = true) => {
        const s = args[n]
        if (s === undefined) return dflt
        if (['on', 'true', 'yes'].includes(s)) return true
        if (['off', 'false', 'no'].includes(s)) return false
        report('error', `invalid boolean '${s}'`)
        return undefined
      },
      address: (n, fam) => {
        const s = args[n]
        const f = s ? isIP(s) : 0
        if (!f || (fam && f !== fam)) {
          report('error', `invalid address '${s ?? ''}'`)
          return undefined
        }
        return { family: f as 4 | 6, address: s! } satisfies IpAddr
      },
      prefix: (n, fam) => {
        const s = args[n] ?? ''
        const [a, l] = s.split('/')
        const f = isIP(a)
        if (!f || (fam && f !== fam)) {
          report('error', `invalid prefix '${s}'`)
          return undefined
        }
        return { family: f as 4 | 6, address: a, prefixLength: l === undefined ? (f === 4 ? 32 : 128) : Number(l) } satisfies IpPrefix
      },
      oneOf: <T extends string>(n: number, ws: readonly T[], ci?: boolean) => {
        const s = args[n]
        const hit = ws.find((w) => (ci ? w.toLowerCase() === s?.toLowerCase() : w === s))
        if (!hit) report('error', `invalid value '${s ?? ''}'`)
        return hit
      },
      section: <T extends object>(name: string, init: () => T): T => {
        if (!(name in sections)) sections[name] = init()
        return sections[name] as T
      },
    }
    function num(n: number, o: { min?: number; max?: number } | undefined, signed: boolean): number | undefined {
      const s = args[n]
      if (s === undefined || !(signed ? /^-?\d+$/ : /^\d+$/).test(s)) {
        report('error', `invalid number '${s ?? ''}'`)
        return undefined
      }
      const v = Number(s)
      if ((o?.min !== undefined && v < o.min) || (o?.max !== undefined && v > o.max)) {
        report('error', `number '${s}' outside range [${o?.min}, ${o?.max}]`)
        return undefined
      }
      return v
    }
    return k
  }
  const skipBlock = () => {
    let depth = 0
    while (i < lines.length) {
      const w = lines[i++].words[0]
      if (w === '{') depth++
      else if (w === '}') {
        depth--
        if (depth <= 0) return
      }
      if (depth === 0) return
    }
  }
  const statement = (node: Node, target: unknown, path: string): void => {
    const { words, loc } = lines[i]
    i++
    const kw = words[0]
    const p = path ? `${path}/${kw}` : kw
    const blk = node.blocks.get(kw)
    if (blk && lines[i]?.words[0] === '{') {
      i++
      const k = ctx(words, loc, p)
      const self = blk.spec.open(k, target)
      while (i < lines.length && lines[i].words[0] !== '}') {
        const inner = lines[i]
        const known = blk.node.blocks.has(inner.words[0]) || blk.node.keywords.has(inner.words[0])
        if (!known && blk.spec.lines) {
          i++
          blk.spec.lines(ctx(inner.words, inner.loc, `${p}/${inner.words[0]}`), self)
          if (lines[i]?.words[0] === '{') skipBlock()
          continue
        }
        statement(blk.node, self, p)
      }
      i++
      blk.spec.close?.(k, self, target)
      return
    }
    const h = node.keywords.get(kw)
    if (h) {
      h.handler(ctx(words, loc, p), target)
      return
    }
    diagnostics.push({ code: 'KAD_CFG_UNKNOWN_KEYWORD', severity: 'error', message: `Unknown keyword '${kw}'`, loc, keywordPath: p })
    if (lines[i]?.words[0] === '{') skipBlock()
  }
  while (i < lines.length) {
    if (lines[i].words[0] === '}') {
      diagnostics.push({ code: 'KAD_CFG_EXTRA_BRACE', severity: 'error', message: "Extra '}' found", loc: lines[i].loc })
      i++
      continue
    }
    statement(tree.rootNode, { kind: 'root' }, '')
  }
  return { model: { sections, files: [file], configId: 'test' }, diagnostics, messages: diagnostics.map((d) => d.message) }
}
