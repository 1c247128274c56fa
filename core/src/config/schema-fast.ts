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

/** generated code above this size is not worth it: ajv takes the schema */
const MAX_CODE = 200_000

/**
 * A checker for a schema that isSimpleSchema accepted; undefined for any other schema. The check is generated
 * as one straight-line function per schema (property tests in a `switch` over the object's own keys): a cold
 * parse runs it interpreted, and plain code costs far less there than a tree of closures. The schema of an
 * array's items gets a function of its own, generated the first time an array has an item: most sections of a
 * configuration are their plugin's defaults, empty lists whose item schemas are never needed.
 */
export function compileFastCheck(schema: unknown): FastCheck | undefined {
  if (!isSimpleSchema(schema)) return undefined
  return generate(schema as boolean | Record<string, unknown>)
}

/** the check of an already simple schema (generated code over MAX_CODE, or refused: undefined) */
function generate(schema: boolean | Record<string, unknown>): FastCheck | undefined {
  const g = new Gen()
  const body = g.node(schema, 'v')
  if (g.size > MAX_CODE) return undefined
  let make: (h: typeof hasOwn, s: RegExp, p: object, items: (i: number) => FastCheck) => FastCheck
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    make = new Function('hasOwn', 'SURROGATE', 'OBJECT_PROTO', 'ITEMS', `return function fastCheck(v) {\n${body}return true\n}`) as typeof make
  } catch {
    // code generation refused (--disallow-code-generation-from-strings): ajv then reports why it cannot compile
    return undefined
  }
  const items: FastCheck[] = []
  // an item schema whose code is refused or too large answers false for every item: "ask ajv"
  const itemCheck = (i: number): FastCheck => (items[i] ??= generate(g.items[i]) ?? (() => false))
  return make(hasOwn, SURROGATE, Object.prototype, itemCheck)
}

const lit = (x: unknown): string => (typeof x === 'number' ? (Object.is(x, -0) ? '0' : String(x)) : JSON.stringify(x))

function typeExpr(t: string, v: string): string {
  switch (t) {
    case 'string':
      return `typeof ${v} === "string"`
    case 'number':
      return `(typeof ${v} === "number" && Number.isFinite(${v}))`
    case 'integer':
      return `Number.isInteger(${v})`
    case 'boolean':
      return `typeof ${v} === "boolean"`
    case 'null':
      return `${v} === null`
    case 'object':
      return `(${v} !== null && typeof ${v} === "object" && !Array.isArray(${v}))`
    default:
      return `Array.isArray(${v})`
  }
}

/** code generator: each schema node becomes statements that `return false` when the value is not surely valid */
class Gen {
  private n = 0
  size = 0
  /** the item schemas the code refers to as ITEMS(index) */
  readonly items: Array<boolean | Record<string, unknown>> = []

  private fresh(p: string): string {
    return `${p}${this.n++}`
  }

  node(schema: boolean | Record<string, unknown>, v: string): string {
    if (this.size > MAX_CODE) return ''
    if (schema === true) return ''
    if (schema === false) return 'return false\n'
    const out: string[] = []
    const t = schema.type
    if (typeof t === 'string') out.push(`if (!(${typeExpr(t, v)})) return false\n`)
    else if (Array.isArray(t)) out.push(`if (!(${(t as string[]).map((x) => typeExpr(x, v)).join(' || ')})) return false\n`)
    if (schema.enum !== undefined) out.push(`if (!(${(schema.enum as unknown[]).map((x) => `${v} === ${lit(x)}`).join(' || ')})) return false\n`)
    if (schema.const !== undefined) out.push(`if (${v} !== ${lit(schema.const)}) return false\n`)
    // number keywords apply to numbers only (ajv); a NaN fails every comparison, so it goes to ajv
    const cmp: string[] = []
    if (schema.minimum !== undefined) cmp.push(`${v} >= ${lit(schema.minimum)}`)
    if (schema.maximum !== undefined) cmp.push(`${v} <= ${lit(schema.maximum)}`)
    if (schema.exclusiveMinimum !== undefined) cmp.push(`${v} > ${lit(schema.exclusiveMinimum)}`)
    if (schema.exclusiveMaximum !== undefined) cmp.push(`${v} < ${lit(schema.exclusiveMaximum)}`)
    if (cmp.length > 0) out.push(`if (typeof ${v} === "number" && !(${cmp.join(' && ')})) return false\n`)
    // ajv counts code points; a string with surrogates goes to ajv
    const len: string[] = []
    if (schema.minLength !== undefined) len.push(`${v}.length < ${lit(schema.minLength)}`)
    if (schema.maxLength !== undefined) len.push(`${v}.length > ${lit(schema.maxLength)}`)
    if (len.length > 0) out.push(`if (typeof ${v} === "string" && (SURROGATE.test(${v}) || ${len.join(' || ')})) return false\n`)
    const items: string[] = []
    if (schema.minItems !== undefined) items.push(`${v}.length < ${lit(schema.minItems)}`)
    if (schema.maxItems !== undefined) items.push(`${v}.length > ${lit(schema.maxItems)}`)
    if (items.length > 0) out.push(`if (Array.isArray(${v}) && (${items.join(' || ')})) return false\n`)
    if (schema.items !== undefined && schema.items !== true) {
      const i = this.fresh('i')
      const c = this.fresh('c')
      const at = this.items.push(schema.items as boolean | Record<string, unknown>) - 1
      out.push(`if (Array.isArray(${v}) && ${v}.length > 0) {\nconst ${c} = ITEMS(${at})\nfor (let ${i} = 0; ${i} < ${v}.length; ${i}++) if (!${c}(${v}[${i}])) return false\n}\n`)
    }
    const objectCode: string[] = []
    const required = (schema.required as string[] | undefined) ?? []
    for (const r of required) objectCode.push(`if (!hasOwn(${v}, ${lit(r)}) || ${v}[${lit(r)}] === undefined) return false\n`)
    const props = (schema.properties as Record<string, boolean | Record<string, unknown>> | undefined) ?? {}
    const names = Object.keys(props)
    const additional = schema.additionalProperties as boolean | Record<string, unknown> | undefined
    if (names.length > 0 || (additional !== undefined && additional !== true)) {
      // one pass over the object's own keys; ajv also validates `o[name]` for names the object inherits: plain
      // objects only inherit Object.prototype's, so those few names are checked by name
      const k = this.fresh('k')
      const x = this.fresh('x')
      const p = this.fresh('p')
      const cases: string[] = []
      for (const name of names) {
        const inner = this.node(props[name], x)
        cases.push(`case ${lit(name)}:\n${inner ? `if (${x} !== undefined) {\n${inner}}\n` : ''}break\n`)
      }
      const extra = additional === undefined ? '' : this.node(additional, x)
      objectCode.push(
        `const ${p} = Object.getPrototypeOf(${v})\nif (${p} !== OBJECT_PROTO && ${p} !== null) return false\n`,
        `for (const ${k} in ${v}) {\nconst ${x} = ${v}[${k}]\nswitch (${k}) {\n${cases.join('')}default:\n${extra}}\n}\n`,
      )
      for (const name of names.filter((nm) => nm in Object.prototype)) {
        const y = this.fresh('y')
        const inner = this.node(props[name], y)
        if (inner) objectCode.push(`if (!hasOwn(${v}, ${lit(name)})) {\nconst ${y} = ${v}[${lit(name)}]\nif (${y} !== undefined) {\n${inner}}\n}\n`)
      }
    }
    if (objectCode.length > 0) out.push(`if (${v} !== null && typeof ${v} === "object" && !Array.isArray(${v})) {\n${objectCode.join('')}}\n`)
    const code = out.join('')
    this.size += code.length
    return code
  }
}
