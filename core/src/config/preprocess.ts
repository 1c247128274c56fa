/**
 * The preprocessor: the pass between the raw files and the keyword-tree walk. It reads the main file and its
 * includes, removes comments, applies conditional lines (`@ID` / `@^ID`), collects `$NAME=value` definitions
 * (also multiline ones), substitutes `$NAME` / `${NAME}` (and the built-ins), expands `~SEQ` / `~SEQx` / `~LST`,
 * and splits every resulting line into words. The output is a flat `ConfigLine[]` where each line keeps the
 * location of the file line it came from and every unquoted `{` / `}` is a line of its own.
 *
 * Semantics follow keepalived 2.2.7 (lib/parser.c: read_line, decomment, check_definition, replace_param, add_seq,
 * add_lst, check_include); the differences are improvements listed in docs/config.md (every problem is reported
 * with its file:line, once; nothing loops or crashes).
 *
 * Everything is linear in the size of the output: one pass per line, no whole-file concatenation.
 */
import * as fs from 'node:fs'
import * as nodePath from 'node:path'
import type { ConfigDiagnostic, ConfigLine, ParseOptions, Severity, SourceLoc } from './types.js'
import { contentEnd, endsWithContinuation, scanWords, tokenize } from './lexer.js'
import { lineLoc } from './readers.js'
import { hostConfigId } from './config-id.js'

export interface PreprocessResult {
  readonly lines: ConfigLine[]
  /** every file read, in the order they were first opened (the main file first) */
  readonly files: string[]
  readonly diagnostics: ConfigDiagnostic[]
  /** the main file could not be read */
  readonly mainMissing: boolean
  readonly configId: string
}

// include_check bits (keepalived's INCLUDE_R/M/W/B)
const INC_R = 1
const INC_M = 2
const INC_W = 4
const INC_B = 8
const INC_ALL = INC_R | INC_M | INC_W | INC_B

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*/
/**
 * The plain line, recognised by one native regex test (no JS loop over its characters, which is what a cold, not
 * yet optimised parse pays for): blanks, words of ordinary characters separated by blanks or tabs, at most one
 * brace at the end. No quote, backslash, comment, `$`, brace inside, and a first word that does not start with
 * `@`, `~` or `i` (include). Anything else takes the general path (rawLine), which gives the same words.
 */
const PLAIN_LINE = /^([ \t]*)(?:([^\s"'\\#!{}$@~i][^\s"'\\#!{}$]*)(?:[ \t]+([^\s"'\\#!{}$]+))?((?:[ \t]+[^\s"'\\#!{}$]+)*)[ \t]*)?([{}])?[ \t]*$/
const BLANKS = /[ \t]+/
/** test hook: false sends every line through the general path (the differential test compares both) */
let plainLines = true
export function setPlainLineFastPath(on: boolean): void {
  plainLines = on
}
const DEFAULT_MAX_LINES = 5_000_000
const MAX_INCLUDE_DEPTH = 64
const MAX_NESTING = 64
const MAX_SUBSTITUTIONS = 10_000
const MAX_LINE_LENGTH = 1 << 20
const MAX_BRACE_EXPANSIONS = 4096

interface Definition {
  /** single-line value, or the first segment of a multiline one */
  value: string
  /** further lines of a multiline definition */
  more?: string[]
  builtin?: (params: string | undefined) => string | undefined
  maxParams: number
}

interface FileFrame {
  readonly abs: string
  readonly display: string
  readonly dir: string
}

/** mulberry32: small, seeded, good enough for ${_RANDOM} */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function defaultReadDir(dir: string): Array<{ name: string; dir: boolean }> {
  return fs.readdirSync(dir, { withFileTypes: true }).map((e) => {
    let isDir = e.isDirectory()
    if (e.isSymbolicLink()) {
      try {
        isDir = fs.statSync(nodePath.join(dir, e.name)).isDirectory()
      } catch {
        isDir = false
      }
    }
    return { name: e.name, dir: isDir }
  })
}

/** csh-style brace expansion: `a{b,c{d,e}}f` -> abf acdf acef. `\{` is literal. */
export function expandBraces(pattern: string, limit = MAX_BRACE_EXPANSIONS): string[] {
  // find the first unescaped '{' that has a matching '}'
  let depth = 0
  let open = -1
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\') {
      i++
      continue
    }
    if (c === '{') {
      if (depth === 0) open = i
      depth++
    } else if (c === '}' && depth > 0) {
      depth--
      if (depth === 0) {
        const inner = pattern.slice(open + 1, i)
        const alts: string[] = []
        let d = 0
        let from = 0
        for (let k = 0; k < inner.length; k++) {
          const ch = inner[k]
          if (ch === '\\') {
            k++
            continue
          }
          if (ch === '{') d++
          else if (ch === '}') d--
          else if (ch === ',' && d === 0) {
            alts.push(inner.slice(from, k))
            from = k + 1
          }
        }
        alts.push(inner.slice(from))
        const pre = pattern.slice(0, open)
        const post = pattern.slice(i + 1)
        const out: string[] = []
        for (const alt of alts) {
          for (const e of expandBraces(pre + alt + post, limit)) {
            out.push(e)
            if (out.length >= limit) return out
          }
        }
        return out
      }
    }
  }
  return [pattern]
}

function hasWildcard(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === '\\') {
      i++
      continue
    }
    if (c === '*' || c === '?' || c === '[') return true
  }
  return false
}

function unescapeGlob(s: string): string {
  return s.replace(/\\(.)/g, '$1')
}

/** glob(3)-style segment matcher: * ? [...] [!...], a leading '.' must be matched explicitly */
export function globSegmentToRegExp(seg: string): RegExp {
  let re = '^'
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]
    if (c === '\\' && i + 1 < seg.length) {
      re += seg[i + 1].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
      i++
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const close = seg.indexOf(']', i + 2)
      if (close < 0) {
        re += '\\['
        continue
      }
      let body = seg.slice(i + 1, close)
      let neg = false
      if (body[0] === '!' || body[0] === '^') {
        neg = true
        body = body.slice(1)
      }
      re += '[' + (neg ? '^' : '') + body.replace(/[\\\]]/g, '\\$&') + ']'
      i = close
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return new RegExp(re + '$')
}

/**
 * Where the preprocessor hands its lines as soon as each is ready (the parser's walk), as plain values: no line or
 * location object per line. `column` is where the line starts: `cols[0]` when the words map onto the file line
 * (`cols` are then their file columns), else the file line's own column if any (after substitution or expansion,
 * where `cols` is undefined).
 */
export interface LineSink {
  words(words: string[], cols: number[] | undefined, file: string, line: number, column: number | undefined, raw: string): void
  /** an unquoted `{` or `}`, a line of its own */
  brace(brace: '{' | '}', file: string, line: number, column: number | undefined): void
}

/** a LineSink that hands over ConfigLine objects */
function lineObjects(onLine: (line: ConfigLine) => void): LineSink {
  return {
    words: (words, cols, file, line, column, raw) => onLine(cols ? { words, cols, loc: { file, line, column: cols[0] }, raw } : { words, loc: lineLoc(file, line, column), raw }),
    brace: (brace, file, line, column) => onLine({ words: [brace], loc: lineLoc(file, line, column), brace, raw: brace }),
  }
}

/**
 * Preprocess the main file and its includes. With `onLine`, every line is handed over as soon as it is ready and
 * `lines` stays empty.
 */
export function preprocess(opts: ParseOptions, onLine?: (line: ConfigLine) => void): PreprocessResult {
  const lines: ConfigLine[] = []
  const r = new Preprocessor(opts, lineObjects(onLine ?? ((l) => lines.push(l)))).run()
  return { lines, ...r }
}

/** Preprocess into a LineSink (the parser streams the lines through the tree, so a large config is never held twice). */
export function preprocessInto(opts: ParseOptions, sink: LineSink): Omit<PreprocessResult, 'lines'> {
  return new Preprocessor(opts, sink).run()
}

class Preprocessor {
  private readonly files: string[] = []
  private readonly seenFiles = new Set<string>()
  private readonly diagnostics: ConfigDiagnostic[] = []
  private readonly defs = new Map<string, Definition>()
  private readonly stack: FileFrame[] = []
  private readonly stackSet = new Set<string>()
  private readonly readFile: (p: string) => string
  private readonly readDir: ((p: string) => ReadonlyArray<{ readonly name: string; readonly dir: boolean }>) | undefined
  private readonly realFs: boolean
  private readonly configId: string
  private readonly maxLines: number
  private generated = 0
  private expansionStopped = false
  /** the expansion of the current file line hit the nesting limit: drop the rest of it */
  private abortLine = false
  /** scratch for scanWords' brace positions (most lines have none) */
  private readonly braces: number[] = []
  private includeCheck = 0
  private mainMissing = false
  /** a multiline definition being collected */
  private collecting: Definition | undefined

  constructor(
    private readonly opts: ParseOptions,
    private readonly out: LineSink,
  ) {
    this.realFs = opts.readFile === undefined
    this.readFile = opts.readFile ?? ((p) => fs.readFileSync(p, 'utf8'))
    this.readDir = opts.readDir ?? (this.realFs ? defaultReadDir : undefined)
    this.configId = opts.configId ?? hostConfigId()
    this.maxLines = opts.maxLines ?? DEFAULT_MAX_LINES
    const random = rng(opts.randomSeed ?? (Date.now() ^ (process.pid << 16)))
    const env = opts.env ?? process.env
    this.builtin('_PWD', 0, () => this.currentDir())
    this.builtin('_INSTANCE', 0, () => this.configId)
    this.builtin('_RANDOM', 2, (params) => {
      let min = 0
      let max = 32767
      if (params !== undefined) {
        const parts = params.trim().split(/[ \t]+/)
        min = Number(parts[0])
        if (parts.length > 1) max = Number(parts[1])
      }
      if (!(max >= min)) return String(min)
      return String(min + Math.floor(random() * (max - min + 1)))
    })
    this.builtin('_ENV', 1, (params) => (params === undefined ? undefined : (env[params.trim()] ?? '')))
    this.builtin('_HASH', 0, () => '#')
    this.builtin('_BANG', 0, () => '!')
  }

  private builtin(name: string, maxParams: number, fn: (params: string | undefined) => string | undefined): void {
    this.defs.set(name, { value: '', builtin: fn, maxParams })
  }

  private currentDir(): string {
    const top = this.stack[this.stack.length - 1]
    return top ? top.dir : process.cwd()
  }

  private report(severity: Severity, code: string, message: string, loc: SourceLoc | undefined, exitClass?: 0 | 4 | 5 | 6): void {
    const d: { -readonly [K in keyof ConfigDiagnostic]: ConfigDiagnostic[K] } = { code, severity, message }
    if (loc) d.loc = loc
    if (exitClass !== undefined) d.exitClass = exitClass
    this.diagnostics.push(d)
  }

  run(): Omit<PreprocessResult, 'lines'> {
    const main = this.opts.file
    const abs = nodePath.resolve(main)
    let text: string
    if (this.opts.text !== undefined) text = this.opts.text
    else {
      try {
        text = this.readFile(main)
      } catch (e) {
        this.mainMissing = true
        const why = (e as NodeJS.ErrnoException)?.code === 'ENOENT' ? '' : ` (${(e as Error)?.message ?? String(e)})`
        this.report('fatal', 'KAD_CFG_FILE_MISSING', `Config file missing '${main}'.${why}`, undefined, 4)
        return this.result()
      }
    }
    this.processFile(abs, main, text)
    if (this.collecting) this.collecting = undefined
    return this.result()
  }

  private result(): Omit<PreprocessResult, 'lines'> {
    return { files: this.files, diagnostics: this.diagnostics, mainMissing: this.mainMissing, configId: this.configId }
  }

  private processFile(abs: string, display: string, text: string): void {
    const frame: FileFrame = { abs, display, dir: nodePath.dirname(abs) }
    if (!this.seenFiles.has(display)) {
      this.seenFiles.add(display)
      this.files.push(display)
    }
    this.stack.push(frame)
    this.stackSet.add(abs)
    const savedCheck = this.includeCheck
    let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0 // a UTF-8 byte order mark
    let lineNo = 0
    const n = text.length
    while (pos < n) {
      let nl = text.indexOf('\n', pos)
      if (nl < 0) nl = n
      let raw = text.slice(pos, nl)
      if (raw.length > 0 && raw.charCodeAt(raw.length - 1) === 13) raw = raw.slice(0, -1)
      pos = nl + 1
      lineNo++
      this.rawLine(raw, display, lineNo)
    }
    // a multiline definition ends with its file
    this.collecting = undefined
    this.includeCheck = savedCheck
    this.stack.pop()
    this.stackSet.delete(abs)
  }

  private rawLine(raw: string, file: string, line: number): void {
    if (this.collecting === undefined && plainLines) {
      const m = PLAIN_LINE.exec(raw)
      if (m !== null) {
        this.emitPlain(raw, m, file, line)
        return
      }
    }
    const end = contentEnd(raw)
    const text = end === raw.length ? raw : raw.slice(0, end)
    if (this.collecting) {
      this.collectMultiline(text, endsWithContinuation(text))
      return
    }
    let lead = 0
    while (lead < text.length && (text.charCodeAt(lead) === 32 || text.charCodeAt(lead) === 9)) lead++
    if (lead === text.length) return
    const c = text.charCodeAt(lead)
    // fast path: nothing for the preprocessor to do (no @ID, $, ~SEQ/~LST or include): straight to the words
    if (c !== 64 && c !== 36 && c !== 126 && c !== 105 && text.indexOf('$', lead) < 0) {
      this.emitExact(text, file, line)
      return
    }
    this.abortLine = false
    this.processLine(lead === 0 ? text : text.slice(lead), { file, line }, lead + 1, true)
  }

  /** keepalived: each line ending in `\` adds a line to the definition; the first line without it is the last */
  private collectMultiline(text: string, continued: boolean): void {
    const def = this.collecting!
    let t = text.trim()
    if (t.length === 0) {
      if (def.more && def.more.length === 0) delete def.more
      this.collecting = undefined
      return
    }
    if (continued) {
      t = t.slice(0, -1).trimEnd()
      if (t.length > 0) (def.more ??= []).push(t)
      return
    }
    ;(def.more ??= []).push(t)
    this.collecting = undefined
  }

  /**
   * One logical line (decommented, leading blanks removed). `col` is the column of text[0] in the file line,
   * or 0 when the text no longer maps onto the file line (after substitution or expansion).
   */
  private processLine(text: string, loc: SourceLoc, col: number, exact: boolean, depth = 0): void {
    // where this line's own problems are reported: its first word's column when the text maps onto the file
    let here: SourceLoc = exact && loc.column === undefined ? { file: loc.file, line: loc.line, column: col } : loc
    if (this.abortLine) return
    if (depth > MAX_NESTING) {
      this.report('error', 'KAD_CFG_DEFINITION', `definitions, ~SEQ and ~LST nested deeper than ${MAX_NESTING} (a definition that uses itself?) - expansion stopped`, here)
      this.abortLine = true
      return
    }
    for (let pass = 0; pass < 8; pass++) {
      // conditional configuration
      if (text.charCodeAt(0) === 64 /* @ */) {
        const rev = text.charCodeAt(1) === 94 /* ^ */
        const ofs = rev ? 2 : 1
        const m = /[ \t]/.exec(text.slice(ofs))
        if (!m) {
          this.report('warning', 'KAD_CFG_CONDITIONAL', `conditional line '${text}' has nothing after the config id - ignored`, here)
          return
        }
        const id = text.slice(ofs, ofs + m.index)
        if (id.length === 0) {
          this.report('warning', 'KAD_CFG_CONDITIONAL', `conditional line '${text}' has no config id after '${rev ? '@^' : '@'}' - ignored`, here)
          return
        }
        if ((id === this.configId) === rev) return
        let k = ofs + m.index
        while (k < text.length && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9)) k++
        text = text.slice(k)
        if (exact) {
          col += k
          here = { file: loc.file, line: loc.line, column: col }
        }
        if (text.length === 0) return
      }
      // definitions
      if (text.charCodeAt(0) === 36 /* $ */) {
        const handled = this.checkDefinition(text, here)
        if (handled) return
      }
      // sequences and lists
      if (text.startsWith('~SEQ') || text.startsWith('~LST')) {
        this.expandSeqOrList(text, here, loc, depth)
        return
      }
      // substitution
      if (text.indexOf('$') >= 0) {
        const sub = this.substitute(text, here)
        if (sub) {
          text = sub.text.trim()
          exact = false
          col = 0
          if (sub.more) {
            // a multiline definition: this line, then the definition's further lines, each fully processed
            if (text.length > 0) this.processLine(text, loc, 0, false, depth + 1)
            for (const extra of sub.more) {
              if (!this.budget(loc, 1)) return
              this.processLine(extra, loc, 0, false, depth + 1)
            }
            return
          }
          if (text.length === 0) return
          const c0 = text.charCodeAt(0)
          if (c0 === 64 || c0 === 36 || text.startsWith('~SEQ') || text.startsWith('~LST')) continue
        }
      }
      break
    }
    this.finishLine(text, loc, here, col, exact)
  }

  private finishLine(text: string, loc: SourceLoc, here: SourceLoc, col: number, exact: boolean): void {
    if (this.checkInclude(text, here)) return
    this.emit(text, loc, col, exact)
  }

  /** `$NAME=value`; returns true when the line was consumed (a definition or a reported misuse) */
  private checkDefinition(text: string, loc: SourceLoc): boolean {
    const m = NAME_RE.exec(text.slice(1))
    if (!m) return false
    const name = m[0]
    let p = 1 + name.length
    if (text[p] !== '=') {
      // `$NAME =value` is not a definition in keepalived (and then becomes an unknown keyword): say why once
      let q = p
      while (q < text.length && (text[q] === ' ' || text[q] === '\t')) q++
      if (q > p && text[q] === '=') {
        this.report('error', 'KAD_CFG_DEFINITION', `definition of '$${name}' has a space before '=' - not a definition, line ignored`, loc)
        return true
      }
      return false
    }
    if (name.startsWith('_')) {
      const what = this.defs.get(name)?.builtin ? `overrides the built-in '\${${name}}'` : 'uses a reserved name (names starting with _ are reserved)'
      this.report('warning', 'KAD_CFG_DEFINITION', `definition of '$${name}' ${what}`, loc)
    }
    p++
    while (p < text.length && (text[p] === ' ' || text[p] === '\t')) p++
    let value = text.slice(p)
    const def: Definition = { value, maxParams: 0 }
    if (value.endsWith('\\')) {
      value = value.slice(0, -1).trimEnd()
      def.value = value
      def.more = []
      this.collecting = def
    }
    this.defs.set(name, def)
    return true
  }

  private budget(loc: SourceLoc, count: number): boolean {
    if (this.expansionStopped) return false
    this.generated += count
    if (this.generated > this.maxLines) {
      this.expansionStopped = true
      this.report('error', 'KAD_CFG_EXPANSION_LIMIT', `~SEQ/~LST/multiline expansion would generate more than ${this.maxLines} lines - stopped`, loc)
      return false
    }
    return true
  }

  /**
   * Replace `$NAME` (followed by a blank, `,`, `)` or the end) and `${NAME}` / `${NAME params}`, re-scanning the
   * replacement (recursive, at use time). Undefined names stay verbatim. A multiline definition is only replaced
   * at the end of a line. Returns undefined when nothing changed.
   */
  private substitute(text: string, loc: SourceLoc): { text: string; more?: string[] } | undefined {
    let changed = false
    let more: string[] | undefined
    let pos = text.indexOf('$')
    let count = 0
    while (pos >= 0 && pos < text.length - 1) {
      const braces = text.charCodeAt(pos + 1) === 123
      const nameStart = pos + (braces ? 2 : 1)
      const m = NAME_RE.exec(text.slice(nameStart, nameStart + 256))
      let replaced = false
      if (m) {
        const name = m[0]
        let end = nameStart + name.length // index after the reference
        let params: string | undefined
        let ok = true
        if (braces) {
          const close = text.indexOf('}', end)
          if (close < 0) ok = false
          else {
            const inner = text.slice(end, close)
            if (inner.length > 0) {
              if (!/^[ \t]+\S/.test(inner) || /[ \t]$/.test(inner)) ok = false
              else params = inner.trim()
            }
            end = close + 1
          }
        } else {
          const c = text[end]
          if (c !== undefined && c !== ' ' && c !== '\t' && c !== ',' && c !== ')') ok = false
        }
        const def = ok ? this.defs.get(name) : undefined
        const atEnd = end === text.length
        if (def && (params === undefined || def.maxParams > 0) && (def.more === undefined || atEnd)) {
          if (params !== undefined && name === '_RANDOM' && !/^\d+([ \t]+\d+)?$/.test(params)) {
            // keepalived only accepts digits here; leave it verbatim
          } else {
            let value: string | undefined
            if (def.builtin) value = def.builtin(params)
            else value = def.value
            if (value === undefined) value = ''
            if (++count > MAX_SUBSTITUTIONS || text.length + value.length > MAX_LINE_LENGTH) {
              this.report('error', 'KAD_CFG_DEFINITION', `recursive or runaway substitution of '$${name}' - line ignored`, loc)
              return { text: '' }
            }
            text = text.slice(0, pos) + value + text.slice(end)
            changed = true
            replaced = true
            if (def.more) {
              more = def.more
              break
            }
            // a value that starts a ~SEQ/~LST is processed as such on the re-check
            if (/^[ \t]*~/.test(value) && pos === 0) break
          }
        }
      }
      pos = text.indexOf('$', replaced ? pos : pos + 1)
    }
    if (!changed) return undefined
    return more ? { text, more } : { text }
  }

  private expandSeqOrList(text: string, here: SourceLoc, loc: SourceLoc, depth: number): void {
    const spec = text.startsWith('~SEQ') ? this.parseSeq(text, here) : this.parseList(text, here)
    if (!spec) return
    const rest = spec.rest
    if (rest.length === 0) return
    if (!this.budget(here, spec.count)) return
    for (const set of spec.values()) {
      for (let k = 0; k < spec.vars.length; k++) this.defs.set(spec.vars[k], { value: set[k] ?? '', maxParams: 0 })
      this.processLine(rest, loc, 0, false, depth + 1)
      if (this.expansionStopped) return
    }
  }

  private parseSeq(text: string, loc: SourceLoc): SeqSpec | undefined {
    const bad = (msg: string): undefined => {
      this.report('error', 'KAD_CFG_SEQ', `${msg} '${text}'`, loc)
      return undefined
    }
    let p = 4
    const hex = text[p] === 'x'
    if (hex) p++
    while (text[p] === ' ' || text[p] === '\t') p++
    if (text[p] !== '(') return bad("Invalid ~SEQ specification: '(' expected")
    const close = text.indexOf(')', p)
    if (close < 0) return bad("~SEQ missing terminating ')'")
    const inside = text.slice(p + 1, close)
    const parts = inside.split(',').map((s) => s.trim())
    const varName = parts[0]
    if (!varName || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(varName)) return bad('Invalid ~SEQ definition: bad variable name')
    if (parts.length < 2 || parts.length > 4) return bad('Invalid ~SEQ definition: expected (var, [start, [step,]] end)')
    const nums: number[] = []
    for (const raw of parts.slice(1)) {
      let s = raw
      if (s.indexOf('$') >= 0) s = (this.substitute(s, loc)?.text ?? s).trim()
      const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s)
      if (!m) return bad(`Invalid ~SEQ definition: '${raw}' is not a number`)
      const body = m[2]
      let v = body.startsWith('0x') || body.startsWith('0X') ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body, 8) : parseInt(body, 10)
      if (m[1] === '-') v = -v
      if (!Number.isSafeInteger(v)) return bad(`Invalid ~SEQ definition: '${raw}' is out of range`)
      nums.push(v)
    }
    let start: number
    let step: number
    let end: number
    if (nums.length === 1) {
      end = nums[0]
      step = end < 1 ? -1 : 1
      start = end < 0 ? -1 : 1
    } else if (nums.length === 2) {
      start = nums[0]
      end = nums[1]
      step = start <= end ? 1 : -1
    } else {
      start = nums[0]
      step = nums[1]
      end = nums[2]
      if (step === 0 || (start < end && step < 0) || (start > end && step > 0)) return bad('Invalid ~SEQ values')
    }
    if (hex && (start < 0 || end < 0)) return bad('~SEQx is only valid for positive numbers')
    const count = Math.floor((end - start) / step) + 1
    const rest = text.slice(close + 1).trim()
    return {
      vars: [varName],
      rest,
      count,
      *values() {
        for (let v = start, i = 0; i < count; i++, v += step) yield [hex ? v.toString(16) : String(v)]
      },
    }
  }

  private parseList(text: string, loc: SourceLoc): SeqSpec | undefined {
    const bad = (msg: string): undefined => {
      this.report('error', 'KAD_CFG_SEQ', `${msg} '${text}'`, loc)
      return undefined
    }
    let p = 4
    const ws = (): void => {
      while (text[p] === ' ' || text[p] === '\t') p++
    }
    ws()
    if (text[p] !== '(') return bad("Invalid ~LST specification: '(' expected")
    p++
    ws()
    const word = (): string => {
      const s = p
      while (p < text.length && !' \t,{})'.includes(text[p])) p++
      return text.slice(s, p)
    }
    const vars: string[] = []
    if (text[p] === '{') {
      p++
      for (;;) {
        ws()
        vars.push(word())
        ws()
        if (text[p] === '}') {
          p++
          break
        }
        if (text[p] !== ',') return bad('Invalid ~LST specification: bad variable list')
        p++
      }
    } else vars.push(word())
    for (const v of vars) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) return bad(`Invalid ~LST specification: bad variable name '${v}'`)
    ws()
    if (text[p] !== ',') return bad('Invalid ~LST specification: no values')
    p++
    const sets: string[][] = []
    for (;;) {
      ws()
      const set: string[] = []
      if (text[p] === '{') {
        p++
        for (;;) {
          ws()
          set.push(word())
          ws()
          if (text[p] === '}') {
            p++
            break
          }
          if (text[p] !== ',') return bad("Invalid ~LST specification: ',' or '}' expected")
          p++
        }
      } else set.push(word())
      if (set.length > vars.length) return bad('~LST specification has too many values')
      while (set.length < vars.length) set.push('')
      sets.push(set)
      ws()
      if (text[p] === ')') {
        p++
        break
      }
      if (text[p] !== ',') return bad(p >= text.length ? "~LST missing terminating ')'" : "Invalid ~LST specification: ',' or ')' expected")
      p++
    }
    const rest = text.slice(p).trim()
    return {
      vars,
      rest,
      count: sets.length,
      *values() {
        yield* sets
      },
    }
  }

  /** include / includer / includem / includew / includeb / includea / include_check. True when consumed. */
  private checkInclude(text: string, loc: SourceLoc): boolean {
    if (!text.startsWith('include')) return false
    if (text.startsWith('include_check') && (text.length === 13 || text[13] === ' ' || text[13] === '\t')) {
      this.includeCheckSet(text.slice(13).trim(), loc)
      // keep the line: it is a global_defs keyword (the core registers it as a no-op)
      return false
    }
    let type: number
    let rest: string
    const c7 = text[7]
    if (c7 === undefined) {
      this.report('error', 'KAD_CFG_INCLUDE_SYNTAX', "'include' without a file name", loc)
      return true
    }
    if (c7 === ' ' || c7 === '\t') {
      type = 0
      rest = text.slice(8)
    } else if ('rmwba'.includes(c7) && (text[8] === ' ' || text[8] === '\t' || text[8] === undefined)) {
      type = c7 === 'r' ? INC_R : c7 === 'm' ? INC_R | INC_M : c7 === 'w' ? INC_R | INC_M | INC_W : c7 === 'b' ? INC_R | INC_B : INC_ALL
      rest = text.slice(9)
      if (text[8] === undefined) {
        this.report('error', 'KAD_CFG_INCLUDE_SYNTAX', `'${text}' without a file name`, loc)
        return true
      }
    } else return false
    rest = rest.trim()
    const toks = tokenize(rest).tokens
    const target = toks.length === 1 ? toks[0].text : rest
    if (target.length === 0) {
      this.report('error', 'KAD_CFG_INCLUDE_SYNTAX', `'${text}' without a file name`, loc)
      return true
    }
    this.include(target, type, loc)
    return true
  }

  private includeCheckSet(args: string, loc: SourceLoc): void {
    if (args.length === 0) {
      this.includeCheck = INC_ALL
      return
    }
    const words = args.split(/[ \t]+/)
    for (let i = 0; i < words.length; i++) {
      const w = words[i]
      const mode = w[0] === '+' ? 1 : w[0] === '-' ? -1 : 0
      const name = mode === 0 ? w : w.slice(1)
      if (mode === 0 && i > 0) {
        this.report('error', 'KAD_CFG_INCLUDE_SYNTAX', `Duplicate include_check '${w}' specified - ignoring`, loc)
        continue
      }
      const flag = name === 'read' || name === 'readable' ? INC_R : name === 'match' ? INC_M : name === 'wildcard_match' ? INC_W : name === 'brace_match' ? INC_B : 0
      if (!flag) {
        this.report('error', 'KAD_CFG_INCLUDE_SYNTAX', `Unknown include_check type '${name}' - ignoring`, loc)
        continue
      }
      if (mode === 0) this.includeCheck = INC_R | flag
      else if (mode === 1) this.includeCheck |= flag
      else this.includeCheck &= ~flag
    }
  }

  private includeProblem(kind: number, type: number, code: string, message: string, loc: SourceLoc): void {
    const strict = ((this.includeCheck | type) & kind) !== 0 || this.opts.allConfig === true
    if (strict) this.report('fatal', code, message, loc, 6)
    else this.report('warning', code, message, loc, 0)
  }

  private include(pattern: string, type: number, loc: SourceLoc): void {
    const top = this.stack[this.stack.length - 1]
    const braced = expandBraces(pattern)
    const hadBrace = braced.length > 1 || braced[0] !== pattern
    const found: string[] = []
    let missing = 0
    for (const alt of braced) {
      const absPattern = nodePath.resolve(top.dir, alt)
      if (!hasWildcard(absPattern) || !this.readDir) {
        const p = unescapeGlob(absPattern)
        if (this.exists(p)) found.push(p)
        else missing++
        continue
      }
      const matches = this.glob(absPattern)
      if (matches === undefined) missing++
      else if (matches.length === 0) {
        if (!hadBrace) {
          this.includeProblem(INC_W, type, 'KAD_CFG_INCLUDE_NO_MATCH', `No config files matched '${pattern}'.`, loc)
          return
        }
        missing++
      } else found.push(...matches)
    }
    if (found.length === 0) {
      this.includeProblem(hadBrace ? INC_B : INC_M, type, 'KAD_CFG_INCLUDE_MISSING', `Config files missing '${pattern}'.`, loc)
      return
    }
    if (missing > 0) this.includeProblem(INC_B, type, 'KAD_CFG_INCLUDE_MISSING', `Some config files missing: '${pattern}'.`, loc)
    for (const file of found) {
      if (this.stack.length >= MAX_INCLUDE_DEPTH) {
        this.report('error', 'KAD_CFG_INCLUDE_RECURSION', `include nesting deeper than ${MAX_INCLUDE_DEPTH} at '${file}' - not included`, loc)
        return
      }
      if (this.stackSet.has(file)) {
        const chain = [...this.stack.slice(this.stack.findIndex((f) => f.abs === file)).map((f) => f.display), file]
        this.report('error', 'KAD_CFG_INCLUDE_RECURSION', `include recursion: ${chain.join(' -> ')} - not included again`, loc)
        continue
      }
      if (this.realFs) {
        try {
          const st = fs.statSync(file)
          if (st.isDirectory()) {
            this.includeProblem(INC_R, type, 'KAD_CFG_INCLUDE_UNREADABLE', `Configuration file '${file}' is a directory - skipping`, loc)
            continue
          }
          if (!st.isFile() || (st.mode & 0o111) !== 0) {
            this.includeProblem(INC_R, type, 'KAD_CFG_INCLUDE_UNREADABLE', `Configuration file '${file}' is not a regular non-executable file - skipping`, loc)
            continue
          }
        } catch {
          // reported by the read below
        }
      }
      let text: string
      try {
        text = this.readFile(file)
      } catch (e) {
        this.includeProblem(INC_R, type, 'KAD_CFG_INCLUDE_UNREADABLE', `Configuration file '${file}' open problem (${(e as Error)?.message ?? String(e)}) - skipping`, loc)
        continue
      }
      this.processFile(file, file, text)
    }
  }

  private exists(p: string): boolean {
    if (this.realFs) return fs.existsSync(p)
    try {
      this.readFile(p)
      return true
    } catch {
      return false
    }
  }

  /** expand one absolute wildcard pattern; undefined when a directory on the way does not exist */
  private glob(absPattern: string): string[] | undefined {
    const segs = absPattern.split('/').filter((s, i) => i === 0 || s.length > 0)
    let dirs = [segs[0] === '' ? '/' : segs[0]]
    for (let i = 1; i < segs.length; i++) {
      const seg = segs[i]
      const last = i === segs.length - 1
      const next: string[] = []
      if (!hasWildcard(seg)) {
        const name = unescapeGlob(seg)
        for (const d of dirs) next.push(nodePath.join(d, name))
      } else {
        const re = globSegmentToRegExp(seg)
        const hidden = seg.startsWith('.')
        let anyDir = false
        for (const d of dirs) {
          let entries: ReadonlyArray<{ readonly name: string; readonly dir: boolean }>
          try {
            entries = this.readDir!(d)
            anyDir = true
          } catch {
            continue
          }
          const names = entries.filter((e) => (hidden || !e.name.startsWith('.')) && re.test(e.name) && (last || e.dir)).map((e) => e.name)
          names.sort()
          for (const nm of names) next.push(nodePath.join(d, nm))
        }
        if (!anyDir) return undefined
      }
      dirs = next
    }
    return dirs.filter((p) => this.exists(p))
  }

  /** a PLAIN_LINE match: the same lines emitExact would give, without scanning characters in JS */
  private emitPlain(raw: string, m: RegExpExecArray, file: string, line: number): void {
    // groups: leading blanks, first word, second word, further words (with their blanks), brace
    const first = m[2]
    const brace = m[5] as '{' | '}' | undefined
    if (first === undefined && brace === undefined) return
    // the line as emitExact sees it: trailing blanks removed
    let end = raw.length
    while (end > 0 && (raw.charCodeAt(end - 1) === 32 || raw.charCodeAt(end - 1) === 9)) end--
    const text = end === raw.length ? raw : raw.slice(0, end)
    if (first !== undefined) {
      const c0 = m[1].length + 1
      const second = m[3]
      let words: string[]
      let cols: number[]
      if (second === undefined) {
        words = [first]
        cols = [c0]
      } else {
        let pos = raw.indexOf(second, c0 - 1 + first.length)
        words = [first, second]
        cols = [c0, pos + 1]
        const more = m[4]
        if (more.length > 0) {
          pos += second.length
          const rest = more.split(BLANKS)
          for (let i = 1; i < rest.length; i++) {
            pos = raw.indexOf(rest[i], pos)
            words.push(rest[i])
            cols.push(pos + 1)
            pos += rest[i].length
          }
        }
      }
      this.out.words(words, cols, file, line, c0, text)
    }
    if (brace !== undefined) this.out.brace(brace, file, line, end)
  }

  /** the hot path: a file line that needs no preprocessing (columns are file columns) */
  private emitExact(text: string, file: string, line: number): void {
    const words: string[] = []
    const cols: number[] = []
    const braces = this.braces
    braces.length = 0
    const unterminated = scanWords(text, 1, words, cols, braces)
    if (unterminated) {
      this.report('error', 'KAD_CFG_UNTERMINATED_QUOTE', `String '${text.trim()}': missing terminating ${unterminated.quote}`, { file, line, column: unterminated.col })
    }
    if (words.length === 0) return
    if (braces.length === 0) {
      this.out.words(words, cols, file, line, cols[0], text)
      return
    }
    this.split(words, cols, braces, { file, line }, true, text, 1)
  }

  private emit(text: string, loc: SourceLoc, col: number, exact: boolean): void {
    const words: string[] = []
    const cols: number[] = []
    const braces = this.braces
    braces.length = 0
    const unterminated = scanWords(text, exact ? col : 1, words, cols, braces)
    if (unterminated) {
      const at: SourceLoc = exact ? { file: loc.file, line: loc.line, column: unterminated.col } : loc
      this.report('error', 'KAD_CFG_UNTERMINATED_QUOTE', `String '${text}': missing terminating ${unterminated.quote}`, at)
    }
    if (words.length === 0) return
    if (braces.length === 0) {
      this.push(words, cols, loc, exact, text)
      return
    }
    this.split(words, cols, braces, loc, exact, text, exact ? col : 1)
  }

  /** a line with unquoted braces: each brace becomes a line of its own */
  private split(words: string[], cols: number[], braces: readonly number[], loc: SourceLoc, exact: boolean, text: string, base: number): void {
    const at = braces.slice()
    let from = 0
    for (let k = 0; k <= at.length; k++) {
      const b = k < at.length ? at[k] : words.length
      if (b > from) {
        const w0 = words[from]
        const c0 = w0.charCodeAt(0)
        if (from > 0 && (c0 === 64 || c0 === 36 || w0.startsWith('~SEQ') || w0.startsWith('~LST') || w0.startsWith('include'))) {
          // keepalived reads the text after a brace as a line of its own: @ID, $NAME=, ~SEQ and include apply
          const start = cols[from] - base
          const end = k < at.length ? cols[b] - base : text.length
          this.processLine(text.slice(start, end).trimEnd(), loc, exact ? cols[from] : 0, exact, 1)
        } else this.push(words.slice(from, b), cols.slice(from, b), loc, exact, text)
      }
      if (k < at.length) {
        const brace = words[b] as '{' | '}'
        this.out.brace(brace, loc.file, loc.line, exact ? cols[b] : loc.column)
      }
      from = b + 1
    }
  }

  private push(words: string[], cols: number[], loc: SourceLoc, exact: boolean, raw: string): void {
    if (exact) this.out.words(words, cols, loc.file, loc.line, cols[0], raw)
    else this.out.words(words, undefined, loc.file, loc.line, loc.column, raw)
  }
}

interface SeqSpec {
  vars: string[]
  rest: string
  count: number
  values(): Iterable<string[]>
}
