/**
 * Public types of the keepalived.conf language: locations, diagnostics, the keyword registrar that plugins use
 * to install their keywords, and the parsed model.
 *
 * The implementation lives beside this file: lexer.ts (tokens), preprocess.ts (include, @ID, $NAME, ~SEQ/~LST),
 * keyword-tree.ts (the tree and its walk), readers.ts (range-checked value readers), parser.ts (the entry point).
 */

/** Where a line came from. `file` is the path as given to -f or to `include` (made absolute for includes). */
export interface SourceLoc {
  readonly file: string
  readonly line: number
  readonly column?: number
}

export type Severity = 'fatal' | 'error' | 'warning' | 'deprecated' | 'info'

/**
 * One problem found in a configuration. Diagnostics are collected, never thrown on the first one.
 * `exitClass` is the keepalived `-t` class the problem belongs to: 4 cannot run, 5 errors but would run,
 * 6 scripts without enable_script_security, 2 parse abort. Defaults from severity: fatal 4, else 5.
 */
export interface ConfigDiagnostic {
  readonly code: string // KAD_CFG_* (see docs/config.md)
  readonly severity: Severity
  readonly message: string
  readonly loc?: SourceLoc
  readonly keywordPath?: string // e.g. 'vrrp_instance/virtual_router_id'
  /** 0 = reported but does not change the exit code (keepalived's CONFIG_OK class, e.g. a missing plain `include`) */
  readonly exitClass?: 0 | 2 | 4 | 5 | 6
}

export interface DiagnosticSink {
  report(d: ConfigDiagnostic): void
}

/** A line after preprocessing: its words (quotes removed) and where it came from. */
export interface ConfigLine {
  readonly words: readonly string[]
  readonly loc: SourceLoc
  /** 1-based column of each word in the (preprocessed) line; exact when the line had no substitution */
  readonly cols?: readonly number[]
  /** set when this line is a lone block delimiter (an unquoted `{` or `}`); `words` is then `['{']` or `['}']` */
  readonly brace?: '{' | '}'
  /** the line's text after comment removal and substitution, before word splitting (script keywords re-split it) */
  readonly raw?: string
}

export interface UnsignedOpts {
  min?: number
  max?: number
}
export interface TimerOpts {
  /** bounds in seconds */
  min?: number
  max?: number
}

export type IpFamily = 4 | 6
export interface IpAddr {
  readonly family: IpFamily
  readonly address: string // canonical text form
}
export interface IpPrefix extends IpAddr {
  readonly prefixLength: number
}

/**
 * What a keyword handler sees. Readers report a located diagnostic and return `undefined` when the value is
 * bad or missing; a handler checks for `undefined` and keeps its default.
 */
export interface KeywordContext {
  readonly keyword: string
  /** words after the keyword */
  readonly args: readonly string[]
  readonly loc: SourceLoc
  /** slash-separated keyword path, e.g. 'virtual_server/real_server/TCP_CHECK/connect_port' */
  readonly path: string
  /** config id (-i) and other parse-wide facts */
  readonly configId: string
  /** false: the configuration is another machine's (`kad config cluster`): skip checks against this one (interfaces) */
  readonly forThisHost?: boolean
  /** the line's text after comment removal and substitution, before word splitting (for keepalived-style script parsing) */
  readonly raw?: string

  error(message: string, code?: string, exitClass?: 0 | 2 | 4 | 5 | 6): void
  warn(message: string, code?: string): void
  /**
   * A deprecated form. By default a note that does not change the `-t` exit code (most of keepalived's deprecations
   * are only logged); pass exitClass 5 where keepalived reports it as a configuration error (CONFIG_DEPRECATED).
   */
  deprecated(message: string, replacement?: string, exitClass?: 0 | 5): void
  fatal(message: string, code?: string): void

  /** the i-th argument (0-based, after the keyword) or a 'missing parameter' diagnostic */
  string(i: number, what?: string): string | undefined
  /** all args from i joined by a single space */
  rest(i: number): string
  unsigned(i: number, opts?: UnsignedOpts): number | undefined
  integer(i: number, opts?: UnsignedOpts): number | undefined
  /** seconds with fractions (keepalived's TIMER: resolution 1 us); returned in seconds */
  timer(i: number, opts?: TimerOpts): number | undefined
  /** on|off|true|false|yes|no; a missing argument is `dflt` (default true, as keepalived) */
  bool(i: number, dflt?: boolean): boolean | undefined
  address(i: number, family?: IpFamily): IpAddr | undefined
  /** ADDR[/LEN]; a missing /LEN is the full length */
  prefix(i: number, family?: IpFamily): IpPrefix | undefined
  /** one of the given words (case-sensitive unless `ci`) */
  oneOf<T extends string>(i: number, words: readonly T[], ci?: boolean): T | undefined

  /** The model section a plugin owns; created from `init` the first time. */
  section<T extends object>(name: string, init: () => T): T
}

export type KeywordHandler<P> = (ctx: KeywordContext, parent: P) => void

/**
 * A block keyword. `open` runs at the keyword and returns the object that the block's own keywords fill in;
 * `close` runs at the block's `}` (validation, defaults). `lines`, if given, receives every line inside the
 * block whose first word is not a registered sub-keyword (address lists, `notification_email { a@b c@d }`).
 */
export interface BlockSpec<P, T> {
  open: (ctx: KeywordContext, parent: P) => T
  close?: (ctx: KeywordContext, self: T, parent: P) => void
  lines?: (ctx: KeywordContext, self: T) => void
  children?: (b: BlockBuilder<T>) => void
}

/**
 * `aliases`: other names accepted silently for the same keyword (keepalived's undocumented synonyms).
 * `deprecatedAliases`: other names accepted with a 'deprecated' note naming this keyword (`lb_algo` -> `lvs_sched`).
 * `deprecated`: this keyword itself is deprecated; the string says what to use instead.
 * Deprecation notes from the tree do not change the `-t` exit code (keepalived accepts these names silently).
 */
export interface KeywordOpts {
  aliases?: readonly string[]
  deprecatedAliases?: readonly string[]
  deprecated?: string
}

export interface BlockBuilder<T> {
  keyword(name: string, handler: KeywordHandler<T>, opts?: KeywordOpts): BlockBuilder<T>
  block<U>(name: string, spec: BlockSpec<T, U>, opts?: KeywordOpts): BlockBuilder<T>
}

/** What a plugin's register() gets as `ctx.keywords`. Paths are slash-separated block names from the root. */
export interface KeywordRegistrar {
  /** a top-level keyword or block; the parent object of top-level handlers is the model's root sections */
  root: BlockBuilder<RootTarget>
  /** add keywords to a block another plugin (or the core) declared, e.g. 'global_defs' or 'virtual_server/real_server' */
  extend<T = any>(path: string, fn: (b: BlockBuilder<T>) => void): void
  /** schema for the section this plugin owns; validated with ajv after the parse */
  schema(section: string, jsonSchema: object): void
}

/** Parent object of top-level keywords: nothing but the section accessor. */
export interface RootTarget {
  readonly kind: 'root'
}

export interface ParseOptions {
  /** -f */
  file: string
  /** -i/--config-id, default host name up to the first dot */
  configId?: string
  /** --strict: warnings count as errors */
  strict?: boolean
  /** -e/--all-config: a missing include is fatal */
  allConfig?: boolean
  /** environment for ${_ENV X}; default process.env */
  env?: Readonly<Record<string, string | undefined>>
  /** seed for ${_RANDOM} */
  randomSeed?: number
  /** read a file; default fs.readFileSync (tests inject a virtual file system) */
  readFile?: (path: string) => string
  /** list a directory for include globs: names and whether each is a directory; default fs.readdirSync */
  readDir?: (path: string) => ReadonlyArray<{ readonly name: string; readonly dir: boolean }>
  /** the text of the main file instead of reading `file` (kad config check on stdin, tests) */
  text?: string
  /** cap on the lines ~SEQ/~LST and multiline definitions may generate (default 5,000,000) */
  maxLines?: number
  /** false: the configuration is another machine's (`kad config cluster`): checks against this one (interfaces) are skipped */
  forThisHost?: boolean
}

/** The immutable result: sections by name (JSON-serialisable, frozen), the files read and the diagnostics. */
export interface ConfigModel {
  readonly sections: Readonly<Record<string, unknown>>
  readonly files: readonly string[]
  readonly configId: string
  /** false: parsed as another machine's configuration (`kad config cluster`); absent otherwise */
  readonly forThisHost?: false
}

export interface ParseResult {
  readonly model: ConfigModel
  readonly diagnostics: readonly ConfigDiagnostic[]
  /** keepalived -t exit code: 0, 2, 4, 5, 6 */
  readonly exitCode: number
}
