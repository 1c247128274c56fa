/** The url regex of HTTP_GET / SSL_GET: checked when the configuration is parsed, compiled where checks run. */
import type { UrlModel } from './http-checker.js'

/** PCRE2 option names keepalived accepts, and the JavaScript flag each maps to ('' = accepted, no effect) */
export const REGEX_OPTIONS: Readonly<Record<string, string>> = {
  allow_empty_class: '',
  alt_bsux: '',
  auto_callout: '',
  caseless: 'i',
  dollar_endonly: '',
  dotall: 's',
  dupnames: '',
  extended: 'x',
  extended_more: 'x',
  firstline: '',
  match_unset_backref: '',
  multiline: 'm',
  never_ucp: '',
  never_utf: '',
  no_auto_capture: '',
  no_auto_possess: '',
  no_dotstar_anchor: '',
  no_start_optimize: '',
  ucp: 'u',
  ungreedy: '',
  utf: 'u',
}

export function compileRegex(u: UrlModel): RegExp | undefined {
  if (u.regex === undefined) return undefined
  let src = u.regex
  let flags = ''
  for (const o of u.regexOptions ?? []) {
    const f = REGEX_OPTIONS[o]
    if (f === 'x') src = src.replace(/\\#/g, '\u0000').replace(/#[^\n]*/g, '').replace(/\s+/g, '').replace(/\u0000/g, '\\#')
    else if (f && !flags.includes(f)) flags += f
  }
  return new RegExp(src, flags)
}
