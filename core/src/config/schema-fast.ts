/**
 * A small JSON-schema interpreter for the subset of draft-07 the plugins' section schemas use (type, enum, const,
 * minimum / maximum / exclusive*, minLength / maxLength, properties, required, additionalProperties, items,
 * minItems / maxItems, annotations). It only ever answers "surely valid": anything it does not fully understand,
 * and any data it would reject, goes to ajv, which stays the authority for every diagnostic.
 *
 * Why: ajv generates and compiles code per schema (about 50 ms for the built-in plugins' schemas, plus its
 * meta-schema when a schema is checked at registration). `kad -t` parses once and exits, so that cost was most of
 * the parse of a 1,000-server configuration. A valid configuration now never compiles a schema; an invalid one
 * gets ajv's exact messages, as before.
 *
 * Soundness (the fast path never accepts what ajv rejects) is checked by test/config/schema-fast.spec.ts with
 * fast-check: it is allowed to be stricter than ajv, never looser.
 */

/** true: the value is valid for ajv (same options as keyword-tree.ts); false: ask ajv */
export type FastCheck = (value: unknown) => boolean

const ANNOTATIONS = new Set(['title', 'description', '$comment', 'default', 'examples', '$schema', 'readOnly', 'writeOnly'])
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'])
const SUPPORTED = new Set([
  'type',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
])

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const isPrimitive = (v: unknown): boolean => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0
const SURROGATE = /[\uD800-\uDFFF]/

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case 'string':
      return typeof v === 'string'
    case 'number':
      return typeof v === 'number' && Number.isFinite(v)
    case 'integer':
      return Number.isInteger(v)
    case 'boolean':
      return typeof v === 'boolean'
    case 'null':
      return v === null
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v)
    case 'array':
      return Array.isArray(v)
  }
  return false
}

/**
 * Whether `schema` is, for sure, a valid draft-07 schema made only of the supported subset. False means "ask ajv"
 * (which then either accepts it or gives its own message).
 */
export function isSimpleSchema(schema: unknown, depth = 0): boolean {
  if (typeof schema === 'boolean') return true
  if (!isPlainObject(schema) || depth > 64) return false
  for (const k in schema) {
    if (!hasOwn(schema, k)) return false
    const v = schema[k]
    if (ANNOTATIONS.has(k)) {
      if ((k === 'title' || k === 'description' || k === '$comment') && typeof v !== 'string') return false
      if (k === 'examples' && !Array.isArray(v)) return false
      if ((k === 'readOnly' || k === 'writeOnly') && typeof v !== 'boolean') return false
      if (k === '$schema' && v !== 'http://json-schema.org/draft-07/schema#' && v !== 'http://json-schema.org/draft-07/schema') return false
      continue
    }
    if (!SUPPORTED.has(k)) return false
    switch (k) {
      case 'type':
        if (typeof v === 'string') {
          if (!TYPES.has(v)) return false
        } else if (Array.isArray(v)) {
          if (v.length === 0 || new Set(v).size !== v.length || !v.every((t) => typeof t === 'string' && TYPES.has(t))) return false
        } else return false
        break
      case 'enum':
        if (!Array.isArray(v) || v.length === 0 || !v.every(isPrimitive) || new Set(v).size !== v.length) return false
        break
      case 'const':
        if (!isPrimitive(v)) return false
        break
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        if (typeof v !== 'number' || !Number.isFinite(v)) return false
        break
      case 'minLength':
      case 'maxLength':
      case 'minItems':
      case 'maxItems':
        if (!isCount(v)) return false
        break
      case 'required':
        if (!Array.isArray(v) || !v.every((s) => typeof s === 'string') || new Set(v).size !== v.length) return false
        break
      case 'properties':
        if (!isPlainObject(v)) return false
        for (const p in v) if (!hasOwn(v, p) || !isSimpleSchema(v[p], depth + 1)) return false
        break
      case 'additionalProperties':
      case 'items':
        if (!isSimpleSchema(v, depth + 1)) return false
        break
    }
  }
  return true
}

/** A checker for a schema that isSimpleSchema accepted; undefined for any other schema. */
export function compileFastCheck(schema: unknown): FastCheck | undefined {
  if (!isSimpleSchema(schema)) return undefined
  return build(schema as boolean | Record<string, unknown>)
}

const ALWAYS: FastCheck = () => true
const NEVER: FastCheck = () => false

function build(schema: boolean | Record<string, unknown>): FastCheck {
  if (schema === true) return ALWAYS
  if (schema === false) return NEVER
  const checks: FastCheck[] = []
  const t = schema.type
  if (typeof t === 'string') checks.push((v) => typeOk(t, v))
  else if (Array.isArray(t)) {
    const ts = t as string[]
    checks.push((v) => ts.some((x) => typeOk(x, v)))
  }
  if (schema.enum !== undefined) {
    const values = schema.enum as unknown[]
    checks.push((v) => values.includes(v) && (typeof v !== 'number' || Number.isFinite(v)))
  }
  if (schema.const !== undefined) {
    const c = schema.const
    checks.push((v) => v === c)
  }
  // number keywords apply to numbers only (ajv); a NaN fails every comparison, so it goes to ajv
  const min = schema.minimum as number | undefined
  const max = schema.maximum as number | undefined
  const xmin = schema.exclusiveMinimum as number | undefined
  const xmax = schema.exclusiveMaximum as number | undefined
  if (min !== undefined || max !== undefined || xmin !== undefined || xmax !== undefined) {
    checks.push(
      (v) =>
        typeof v !== 'number' ||
        ((min === undefined || v >= min) && (max === undefined || v <= max) && (xmin === undefined || v > xmin) && (xmax === undefined || v < xmax)),
    )
  }
  const minLen = schema.minLength as number | undefined
  const maxLen = schema.maxLength as number | undefined
  if (minLen !== undefined || maxLen !== undefined) {
    // ajv counts code points; a string with surrogates goes to ajv
    checks.push((v) => typeof v !== 'string' || (!SURROGATE.test(v) && (minLen === undefined || v.length >= minLen) && (maxLen === undefined || v.length <= maxLen)))
  }
  const minItems = schema.minItems as number | undefined
  const maxItems = schema.maxItems as number | undefined
  if (minItems !== undefined || maxItems !== undefined) {
    checks.push((v) => !Array.isArray(v) || ((minItems === undefined || v.length >= minItems) && (maxItems === undefined || v.length <= maxItems)))
  }
  if (schema.items !== undefined) {
    const item = build(schema.items as boolean | Record<string, unknown>)
    if (item !== ALWAYS) {
      checks.push((v) => {
        if (!Array.isArray(v)) return true
        for (let i = 0; i < v.length; i++) if (!item(v[i])) return false
        return true
      })
    }
  }
  const required = schema.required as string[] | undefined
  if (required !== undefined && required.length > 0) {
    checks.push((v) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return true
      const o = v as Record<string, unknown>
      for (let i = 0; i < required.length; i++) if (!hasOwn(o, required[i]) || o[required[i]] === undefined) return false
      return true
    })
  }
  const props = schema.properties as Record<string, boolean | Record<string, unknown>> | undefined
  const names = props ? Object.keys(props) : []
  const additional = schema.additionalProperties as boolean | Record<string, unknown> | undefined
  if (names.length > 0 || (additional !== undefined && additional !== true)) {
    // one pass over the object's own keys (models have a few keys, schemas many properties): known keys get their
    // schema, others the additionalProperties one. ajv also validates `o[name]` for names the object inherits:
    // plain objects only inherit Object.prototype's, so those few names are checked by name.
    const byName = new Map<string, FastCheck>()
    for (const n of names) byName.set(n, build(props![n]))
    const inherited = names.filter((n) => n in Object.prototype)
    const extra = additional === undefined ? ALWAYS : build(additional)
    checks.push((v) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return true
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) return false
      const o = v as Record<string, unknown>
      for (const k in o) {
        const x = o[k]
        const c = byName.get(k)
        if (c !== undefined) {
          if (x !== undefined && !c(x)) return false
        } else if (!extra(x)) return false
      }
      for (let i = 0; i < inherited.length; i++) {
        const n = inherited[i]
        if (!hasOwn(o, n)) {
          const x = o[n]
          if (x !== undefined && !byName.get(n)!(x)) return false
        }
      }
      return true
    })
  }
  if (checks.length === 0) return ALWAYS
  if (checks.length === 1) return checks[0]
  return (v) => {
    for (let i = 0; i < checks.length; i++) if (!checks[i](v)) return false
    return true
  }
}
