/**
 * The keepalived.conf lexer: comment removal (`decomment`) and word splitting (`tokenize`).
 *
 * keepalived's rules (lib/parser.c, 2.2.7):
 * - `#` and `!` start a comment anywhere on a line except inside "double quotes"; `\#` and `\!` stand for the
 *   characters themselves. (Single quotes do not protect a comment in keepalived either.)
 * - Words are separated by blanks. `"..."` and `'...'` group words (the quotes are removed, and may start in the
 *   middle of a word: `ab"c d"e` is the single word `abc de`). Inside quotes the shell-like escapes
 *   `\a \b \E \f \n \r \t \v \nnn \xXX \cC` are decoded and `\C` is C; outside quotes `\#`, `\!`, `\"` and `\'` are
 *   the characters themselves and any other backslash is literal (so regular expressions and a stray `\` at the
 *   end of a line survive, as in keepalived).
 * - An unquoted `{` or `}` is always a word of its own.
 * - A `\` at the end of a line only continues a `$NAME=` definition (see preprocess.ts).
 *
 * Everything here is pure and linear in the input; nothing throws.
 */

export interface Decommented {
  /** the line without its comment and trailing blanks (leading blanks kept so columns stay exact) */
  readonly text: string
  /** the line ended with a `\` (kept in `text`); only multiline definitions care */
  readonly continued: boolean
}

const HASH = 35 // #
const BANG = 33 // !
const DQUOTE = 34
const SQUOTE = 39
const BSLASH = 92
const LBRACE = 123
const RBRACE = 125

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10 || c === 11 || c === 12
}

/** The end of a raw line's content: where its comment starts, trailing blanks excluded. */
export function contentEnd(line: string): number {
  let quote = false
  let end = line.length
  const n = line.length
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i)
    if (c === DQUOTE) {
      quote = !quote
    } else if (c === BSLASH) {
      if (i + 1 < n) i++
    } else if (!quote && (c === HASH || c === BANG)) {
      end = i
      break
    }
  }
  while (end > 0 && isBlank(line.charCodeAt(end - 1))) end--
  return end
}

/** the text ends with a `\` that is not itself escaped */
export function endsWithContinuation(text: string): boolean {
  const end = text.length
  if (end === 0 || text.charCodeAt(end - 1) !== BSLASH) return false
  let k = end - 1
  while (k > 0 && text.charCodeAt(k - 1) === BSLASH) k--
  return (end - k) % 2 === 1
}

/** Remove the comment from one raw line. */
export function decomment(line: string): Decommented {
  const end = contentEnd(line)
  const text = end === line.length ? line : line.slice(0, end)
  return { text, continued: endsWithContinuation(text) }
}

export interface Token {
  readonly text: string
  /** 1-based column in the tokenized text (plus the caller's base) */
  readonly col: number
  /** an unquoted brace */
  readonly brace?: '{' | '}'
}

export interface TokenizeResult {
  readonly tokens: Token[]
  /** set when a quote is not closed on the line; the word then runs to the end of the line */
  readonly unterminated?: { readonly col: number; readonly quote: '"' | "'" }
}

function isOct(c: number): boolean {
  return c >= 48 && c <= 55
}
function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' }

/**
 * The word scanner behind `tokenize`, without per-word objects (the preprocessor's hot path): words and their
 * columns are appended to `words` / `cols`; the index of every unquoted brace word is appended to `braces`.
 * Returns the unterminated quote, if any.
 */
export function scanWords(text: string, baseCol: number, words: string[], cols: number[], braces: number[]): TokenizeResult['unterminated'] {
  const n = text.length
  let i = 0
  let unterminated: TokenizeResult['unterminated']
  while (i < n) {
    let c = text.charCodeAt(i)
    if (isBlank(c)) {
      i++
      continue
    }
    if (c === LBRACE || c === RBRACE) {
      braces.push(words.length)
      words.push(c === LBRACE ? '{' : '}')
      cols.push(baseCol + i)
      i++
      continue
    }
    const start = i
    let out = ''
    let runStart = i // start of the current literal run copied verbatim
    let quote = 0
    let quoteCol = 0
    let sawQuote = false
    while (i < n) {
      c = text.charCodeAt(i)
      if (quote === 0) {
        if (isBlank(c) || c === LBRACE || c === RBRACE) break
        if (c === DQUOTE || c === SQUOTE) {
          out += text.slice(runStart, i)
          quote = c
          quoteCol = baseCol + i
          sawQuote = true
          i++
          runStart = i
          continue
        }
        if (c === BSLASH && i + 1 < n) {
          const d = text.charCodeAt(i + 1)
          if (d === HASH || d === BANG || d === DQUOTE || d === SQUOTE) {
            out += text.slice(runStart, i)
            i++ // drop the backslash, keep the character
            runStart = i
            i++
            continue
          }
          // any other pair stays as written (regexes: \d, \\), and is skipped as a pair like decomment does
          i += 2
          continue
        }
        i++
        continue
      }
      // inside a quote
      if (c === quote) {
        out += text.slice(runStart, i)
        quote = 0
        i++
        runStart = i
        continue
      }
      if (c === BSLASH) {
        out += text.slice(runStart, i)
        i++
        if (i >= n) {
          out += '\\'
          runStart = i
          break
        }
        const e = text.charCodeAt(i)
        const ch = text[i]
        if (ch === 'x' && i + 1 < n && hexVal(text.charCodeAt(i + 1)) >= 0) {
          let v = 0
          i++
          while (i < n && hexVal(text.charCodeAt(i)) >= 0) {
            v = ((v << 4) | hexVal(text.charCodeAt(i))) & 0xff
            i++
          }
          out += String.fromCharCode(v)
        } else if (ch === 'c' && i + 1 < n) {
          out += String.fromCharCode(text.charCodeAt(i + 1) & 0x1f)
          i += 2
        } else if (isOct(e)) {
          let v = e - 48
          i++
          for (let k = 0; k < 2 && i < n && isOct(text.charCodeAt(i)); k++, i++) v = ((v << 3) + text.charCodeAt(i) - 48) & 0xff
          out += String.fromCharCode(v)
        } else {
          out += SIMPLE_ESCAPES[ch] ?? ch
          i++
        }
        runStart = i
        continue
      }
      i++
    }
    if (runStart === start && !sawQuote) out = text.slice(start, i)
    else out += text.slice(runStart, i)
    if (quote !== 0 && !unterminated) unterminated = { col: quoteCol, quote: quote === DQUOTE ? '"' : "'" }
    if (out.length > 0 || sawQuote) {
      words.push(out)
      cols.push(baseCol + start)
    }
  }
  return unterminated
}

/** Split a decommented line into words. `baseCol` is the column of text[0]. */
export function tokenize(text: string, baseCol = 1): TokenizeResult {
  const words: string[] = []
  const cols: number[] = []
  const braces: number[] = []
  const unterminated = scanWords(text, baseCol, words, cols, braces)
  const tokens: Token[] = words.map((w, i) => ({ text: w, col: cols[i] }))
  for (const b of braces) tokens[b] = { text: words[b], col: cols[b], brace: words[b] as '{' | '}' }
  return unterminated ? { tokens, unterminated } : { tokens }
}

export interface LexedLine {
  readonly line: number
  readonly tokens: Token[]
  readonly unterminated?: TokenizeResult['unterminated']
}

/** Lex a whole text without preprocessing (tests, tools): one entry per non-empty line. */
export function lexText(text: string): LexedLine[] {
  const out: LexedLine[] = []
  let lineNo = 0
  let pos = 0
  const n = text.length
  while (pos <= n) {
    let nl = text.indexOf('\n', pos)
    if (nl < 0) nl = n
    lineNo++
    const raw = text.slice(pos, nl)
    pos = nl + 1
    const d = decomment(raw)
    if (d.text.length === 0) continue
    const t = tokenize(d.text)
    if (t.tokens.length === 0 && !t.unterminated) continue
    out.push(t.unterminated ? { line: lineNo, tokens: t.tokens, unterminated: t.unterminated } : { line: lineNo, tokens: t.tokens })
    if (nl === n) break
  }
  return out
}
