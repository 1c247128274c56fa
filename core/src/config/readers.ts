/**
 * Range-checked value readers (pure: a word in, `{ ok, value }` or `{ ok: false, message }` out) and the
 * `KeywordContext` the parser hands to keyword handlers, which turns reader failures into located diagnostics.
 *
 * Messages follow keepalived's wording (lib/parser.c read_unsigned_func & co.) so that users find them familiar:
 * `invalid number 'abc'`, `negative number '-1'`, `number '300' outside range [1, 255]`.
 */
import type {
  ConfigDiagnostic,
  IpAddr,
  IpFamily,
  IpPrefix,
  KeywordContext,
  Severity,
  SourceLoc,
  TimerOpts,
  UnsignedOpts,
} from './types.js'

export type ReadResult<T> = { ok: true; value: T; warning?: string } | { ok: false; message: string; code: string }

const UINT_MAX = 4294967295
const INT_MIN = -2147483648
const INT_MAX = 2147483647
/** keepalived TIMER_MAXIMUM is ULONG_MAX - 1 us; we cap at what a double holds exactly */
const TIMER_MAX_US = Number.MAX_SAFE_INTEGER

/** a plain decimal word (the readers' fast paths) */
const DIGITS = /^[0-9]+$/

function invalidNumber(word: string): ReadResult<never> {
  return { ok: false, message: `invalid number '${word}'`, code: 'KAD_CFG_INVALID_NUMBER' }
}

/** strtoul(…, 10) with keepalived's checks (leading blanks allowed, '-' refused, whole word must be digits) */
export function readUnsigned(word: string, opts: UnsignedOpts = {}): ReadResult<number> {
  const min = opts.min ?? 0
  const max = opts.max ?? UINT_MAX
  const s = word.replace(/^[ \t]+/, '')
  if (s[0] === '-') return { ok: false, message: `negative number '${word}'`, code: 'KAD_CFG_INVALID_NUMBER' }
  if (!/^\+?[0-9]+$/.test(s)) return invalidNumber(word)
  const v = Number(s)
  if (v > UINT_MAX) return { ok: false, message: `number '${word}' outside unsigned integer range`, code: 'KAD_CFG_INVALID_NUMBER' }
  if (v < min || v > max) return { ok: false, message: `number '${word}' outside range [${min}, ${max}]`, code: 'KAD_CFG_INVALID_NUMBER' }
  return { ok: true, value: v }
}

/** strtol(…, 10) with keepalived's checks */
export function readInteger(word: string, opts: UnsignedOpts = {}): ReadResult<number> {
  const min = opts.min ?? INT_MIN
  const max = opts.max ?? INT_MAX
  const s = word.replace(/^[ \t]+/, '')
  if (!/^[+-]?[0-9]+$/.test(s)) return invalidNumber(word)
  const v = Number(s)
  if (v < INT_MIN || v > INT_MAX) return { ok: false, message: `number '${word}' outside integer range`, code: 'KAD_CFG_INVALID_NUMBER' }
  if (v < min || v > max) return { ok: false, message: `number '${word}' outside range [${min}, ${max}]`, code: 'KAD_CFG_INVALID_NUMBER' }
  return { ok: true, value: v }
}

function fmtSeconds(us: number): string {
  const s = Math.floor(us / 1e6)
  return `${s}.${String(us - s * 1e6).padStart(6, '0')}`
}

/**
 * keepalived's TIMER: decimal seconds with up to 6 fractional digits (1 us resolution). More digits are rounded
 * with a warning, as keepalived does. Returns microseconds (integer).
 */
export function readTimerUs(word: string, opts: TimerOpts = {}): ReadResult<number> {
  if (word[0] === '-') return { ok: false, message: `negative number '${word}'`, code: 'KAD_CFG_INVALID_NUMBER' }
  const m = /^\+?([0-9]*)(?:\.([0-9]*))?$/.exec(word)
  if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) return invalidNumber(word)
  let frac = m[2] ?? ''
  let warning: string | undefined
  let roundUp = false
  if (frac.length > 6) {
    warning = `number '${word}' has too many decimal places`
    roundUp = frac.charCodeAt(6) >= 53
    frac = frac.slice(0, 6)
  }
  const whole = m[1] === '' ? 0 : Number(m[1])
  let us = whole * 1e6 + Number(frac.padEnd(6, '0'))
  if (roundUp) us++
  if (!Number.isSafeInteger(us) || us > TIMER_MAX_US) return { ok: false, message: `number '${word}' outside unsigned decimal range`, code: 'KAD_CFG_INVALID_NUMBER' }
  const minUs = Math.round((opts.min ?? 0) * 1e6)
  const maxUs = opts.max === undefined ? TIMER_MAX_US : Math.round(opts.max * 1e6)
  if (us < minUs || us > maxUs) {
    return { ok: false, message: `number '${word}' outside range [${fmtSeconds(minUs)}, ${fmtSeconds(maxUs)}]`, code: 'KAD_CFG_INVALID_NUMBER' }
  }
  return warning ? { ok: true, value: us, warning } : { ok: true, value: us }
}

export function readBool(word: string): ReadResult<boolean> {
  if (word === 'true' || word === 'on' || word === 'yes') return { ok: true, value: true }
  if (word === 'false' || word === 'off' || word === 'no') return { ok: true, value: false }
  return { ok: false, message: `invalid boolean '${word}' - expected on|off|true|false|yes|no`, code: 'KAD_CFG_INVALID_BOOL' }
}

/** strict dotted-quad: four decimal octets 0-255, no leading zeros (as glibc inet_pton) */
export function parseIPv4(s: string): number[] | undefined {
  const n = s.length
  if (n < 7 || n > 15) return undefined
  const out: number[] = []
  let v = 0
  let digits = 0
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46
    if (c === 46) {
      if (digits === 0 || out.length === 4) return undefined
      out.push(v)
      v = 0
      digits = 0
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && v === 0) return undefined // leading zero
      v = v * 10 + c - 48
      if (++digits > 3 || v > 255) return undefined
    } else return undefined
  }
  return out.length === 4 ? out : undefined
}

/** RFC 4291 text to 8 groups; undefined when malformed. Accepts an embedded IPv4 tail. No zone ids. */
export function parseIPv6(s: string): number[] | undefined {
  if (s.length < 2 || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return undefined
  let tail: number[] = []
  let str = s
  const lastColon = s.lastIndexOf(':')
  if (s.indexOf('.') >= 0) {
    const v4 = parseIPv4(s.slice(lastColon + 1))
    if (!v4) return undefined
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]]
    str = s.slice(0, lastColon + 1)
    if (str.endsWith('::')) {
      // fine: '::' then the v4 tail
    } else if (str.endsWith(':')) str = str.slice(0, -1)
  }
  const dbl = str.indexOf('::')
  if (dbl >= 0 && str.indexOf('::', dbl + 1) >= 0) return undefined
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return []
    const gs = part.split(':')
    const out: number[] = []
    for (const g of gs) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined
      out.push(parseInt(g, 16))
    }
    return out
  }
  let groups: number[]
  if (dbl >= 0) {
    const head = parseGroups(str.slice(0, dbl))
    const rest = parseGroups(str.slice(dbl + 2))
    if (!head || !rest) return undefined
    const fill = 8 - head.length - rest.length - tail.length
    if (fill < 1) return undefined
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail]
  } else {
    const all = parseGroups(str)
    if (!all) return undefined
    groups = [...all, ...tail]
    if (groups.length !== 8) return undefined
  }
  return groups.length === 8 ? groups : undefined
}

/** RFC 5952 canonical text */
export function formatIPv6(g: readonly number[]): string {
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (a: number, b: number): string => g.slice(a, b).map((x) => x.toString(16)).join(':')
  if (bestStart < 0) return hex(0, 8)
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`
}

export function readAddress(word: string, family?: IpFamily): ReadResult<IpAddr> {
  const v4 = parseIPv4(word)
  if (v4) {
    if (family === 6) return { ok: false, message: `'${word}' is an IPv4 address, an IPv6 address is expected here`, code: 'KAD_CFG_INVALID_ADDRESS' }
    return { ok: true, value: { family: 4, address: v4.join('.') } }
  }
  const v6 = word.indexOf(':') >= 0 ? parseIPv6(word) : undefined
  if (v6) {
    if (family === 4) return { ok: false, message: `'${word}' is an IPv6 address, an IPv4 address is expected here`, code: 'KAD_CFG_INVALID_ADDRESS' }
    return { ok: true, value: { family: 6, address: formatIPv6(v6) } }
  }
  const what = family === 4 ? 'IPv4 address' : family === 6 ? 'IPv6 address' : 'IP address'
  return { ok: false, message: `invalid ${what} '${word}'`, code: 'KAD_CFG_INVALID_ADDRESS' }
}

export function readPrefix(word: string, family?: IpFamily): ReadResult<IpPrefix> {
  const slash = word.indexOf('/')
  const addrPart = slash < 0 ? word : word.slice(0, slash)
  const a = readAddress(addrPart, family)
  if (!a.ok) return slash < 0 ? a : { ok: false, message: `${a.message} in '${word}'`, code: a.code }
  const maxLen = a.value.family === 4 ? 32 : 128
  if (slash < 0) return { ok: true, value: { ...a.value, prefixLength: maxLen } }
  const lenStr = word.slice(slash + 1)
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenStr)) return { ok: false, message: `invalid prefix length '${lenStr}' in '${word}'`, code: 'KAD_CFG_INVALID_PREFIX' }
  const len = Number(lenStr)
  if (len > maxLen) return { ok: false, message: `prefix length ${len} outside range [0, ${maxLen}] in '${word}'`, code: 'KAD_CFG_INVALID_PREFIX' }
  return { ok: true, value: { ...a.value, prefixLength: len } }
}

export function readOneOf<T extends string>(word: string, words: readonly T[], ci = false): ReadResult<T> {
  if (ci) {
    const lw = word.toLowerCase()
    for (const w of words) if (w.toLowerCase() === lw) return { ok: true, value: w }
  } else {
    for (const w of words) if (w === word) return { ok: true, value: w }
  }
  return { ok: false, message: `invalid value '${word}' - expected one of ${words.join('|')}`, code: 'KAD_CFG_INVALID_VALUE' }
}

/** What a LineContext needs from the parse in progress. */
export interface ParseSink {
  readonly configId: string
  readonly forThisHost?: boolean
  report(d: ConfigDiagnostic): void
  section<T extends object>(name: string, init: () => T, loc: SourceLoc): T
}

/** the location of a line from its parts (no `column` key when there is none) */
export function lineLoc(file: string, line: number, column: number | undefined): SourceLoc {
  return column === undefined ? { file, line } : { file, line, column }
}

/** The KeywordContext of one line. */
export class LineContext implements KeywordContext {
  private argsCache: readonly string[] | undefined
  private locCache: SourceLoc | undefined

  /** `words` is the whole line: the keyword, then its arguments; the line is at `file`:`line`(:`column`) */
  constructor(
    private readonly sink: ParseSink,
    private readonly words: readonly string[],
    private readonly file: string,
    private readonly line: number,
    private readonly column: number | undefined,
    readonly path: string,
    readonly raw: string | undefined,
    private readonly cols: readonly number[] | undefined,
  ) {}

  /** made on first use: most lines never report anything nor ask where they are */
  get loc(): SourceLoc {
    return (this.locCache ??= lineLoc(this.file, this.line, this.column))
  }

  get keyword(): string {
    return this.words[0]
  }

  /** words after the keyword (sliced on first use: most handlers only read single words) */
  get args(): readonly string[] {
    return (this.argsCache ??= this.words.slice(1))
  }

  /** the number of arguments */
  get argCount(): number {
    return this.words.length - 1
  }

  /** argument i without slicing */
  arg(i: number): string | undefined {
    return i < 0 ? this.words[0] : this.words[i + 1]
  }

  get configId(): string {
    return this.sink.configId
  }

  get forThisHost(): boolean {
    return this.sink.forThisHost !== false
  }

  /** the location of argument i (its column when known) */
  argLoc(i: number): SourceLoc {
    const c = this.cols?.[i + 1]
    return c === undefined ? this.loc : { file: this.file, line: this.line, column: c }
  }

  private put(severity: Severity, code: string, message: string, loc: SourceLoc, exitClass?: 0 | 2 | 4 | 5 | 6): void {
    const d: { -readonly [K in keyof ConfigDiagnostic]: ConfigDiagnostic[K] } = { code, severity, message, loc, keywordPath: this.path }
    if (exitClass !== undefined) d.exitClass = exitClass
    this.sink.report(d)
  }

  error(message: string, code = 'KAD_CFG_ERROR', exitClass?: 0 | 2 | 4 | 5 | 6): void {
    this.put('error', code, message, this.loc, exitClass)
  }
  warn(message: string, code = 'KAD_CFG_WARNING'): void {
    this.put('warning', code, message, this.loc)
  }
  deprecated(message: string, replacement?: string, exitClass: 0 | 5 = 0): void {
    const hint = replacement === undefined ? '' : /\s/.test(replacement) ? ` - ${replacement}` : ` - please use '${replacement}'`
    this.put('deprecated', 'KAD_CFG_DEPRECATED', message + hint, this.loc, exitClass)
  }
  fatal(message: string, code = 'KAD_CFG_FATAL'): void {
    this.put('fatal', code, message, this.loc, 4)
  }

  private missing(i: number, what?: string): undefined {
    const after = this.words[i] ?? this.keyword
    const w = what ? ` (expected: ${what})` : ''
    this.put(
      'error',
      'KAD_CFG_MISSING_PARAMETER',
      `Configuration line starting \`${this.keyword}\` is missing a parameter after keyword \`${after}\` at word position ${i + 2}${w}`,
      this.loc,
    )
    return undefined
  }

  /** i = -1 reads the keyword word itself (value lines inside `lines` blocks, e.g. an address list) */
  private take<T>(i: number, r: (w: string) => ReadResult<T>): T | undefined {
    const w = i < 0 ? this.words[0] : this.words[i + 1]
    if (w === undefined) return this.missing(i)
    const res = r(w)
    if (!res.ok) {
      this.put('error', res.code, res.message, this.argLoc(i))
      return undefined
    }
    if (res.warning) this.put('warning', 'KAD_CFG_INVALID_NUMBER', res.warning, this.argLoc(i))
    return res.value
  }

  string(i: number, what?: string): string | undefined {
    const w = this.words[i + 1]
    return w === undefined ? this.missing(i, what) : w
  }
  rest(i: number): string {
    return this.args.slice(i).join(' ')
  }
  unsigned(i: number, opts?: UnsignedOpts): number | undefined {
    // fast path: a plain number of at most 9 digits inside the range is what readUnsigned would return; anything
    // else (and every message) goes through readUnsigned
    const w = this.words[i + 1]
    if (w !== undefined && w.length < 10 && DIGITS.test(w)) {
      const v = +w
      if (v >= (opts?.min ?? 0) && v <= (opts?.max ?? UINT_MAX)) return v
    }
    return this.take(i, (x) => readUnsigned(x, opts))
  }
  integer(i: number, opts?: UnsignedOpts): number | undefined {
    return this.take(i, (w) => readInteger(w, opts))
  }
  timer(i: number, opts?: TimerOpts): number | undefined {
    // fast path: whole seconds (at most 9 digits) inside the range, as readTimerUs would read them
    const w = this.words[i + 1]
    if (w !== undefined && w.length < 10 && DIGITS.test(w)) {
      const us = +w * 1e6
      if (us >= Math.round((opts?.min ?? 0) * 1e6) && (opts?.max === undefined || us <= Math.round(opts.max * 1e6))) return us / 1e6
    }
    const us = this.take(i, (x) => readTimerUs(x, opts))
    return us === undefined ? undefined : us / 1e6
  }
  /** microseconds, exact (an extension of KeywordContext for plugins that keep integer time) */
  timerUs(i: number, opts?: TimerOpts): number | undefined {
    return this.take(i, (w) => readTimerUs(w, opts))
  }
  bool(i: number, dflt = true): boolean | undefined {
    const w = this.words[i + 1]
    if (w === undefined) return dflt
    return this.take(i, readBool)
  }
  address(i: number, family?: IpFamily): IpAddr | undefined {
    return this.take(i, (w) => readAddress(w, family))
  }
  prefix(i: number, family?: IpFamily): IpPrefix | undefined {
    return this.take(i, (w) => readPrefix(w, family))
  }
  oneOf<T extends string>(i: number, words: readonly T[], ci?: boolean): T | undefined {
    return this.take(i, (w) => readOneOf(w, words, ci))
  }
  section<T extends object>(name: string, init: () => T): T {
    return this.sink.section(name, init, this.loc)
  }
}
