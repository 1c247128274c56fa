/**
 * The fast schema check (core/src/config/schema-fast.ts) may only say "valid" where ajv, with the options the
 * keyword tree uses, says valid too: fuzzed schemas of the subset and fuzzed data, plus the real plugins' schemas
 * with real and mutated sections. It must also take the fast path for a valid real configuration (else it buys
 * nothing), and a schema it calls simple must be one ajv's meta-schema accepts.
 */
import { strict as assert } from 'node:assert'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import { compileFastCheck, isSimpleSchema } from '../../core/src/config/schema-fast.js'
import { parseConfig } from '../../core/src/config/index.js'
import { builtinTree } from '../../bench/config-load/plugin-tree.js'
import { generateConfig } from '../../bench/config-load/generate.js'

const require = createRequire(import.meta.url)
const AjvMod = require('ajv') as { default: new (o: object) => { compile(s: object): (d: unknown) => boolean; validateSchema(s: object): boolean } }
const ajv = () => new AjvMod.default({ allErrors: true, strict: false, allowUnionTypes: true, code: { optimize: false } })

const TYPES = ['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'] as const
const NAMES = ['a', 'b', 'c', 'toString', '__proto__', 'constructor', 'x y']
const nameArb = fc.constantFrom(...NAMES)
const primArb = fc.oneof(fc.constantFrom(0, -0, 1, -1, 1.5, 255, 256, 65535, 2 ** 53, '', 'a', 'rr', 'NAT', '\u{1F600}', true, false, null), fc.integer(), fc.string({ maxLength: 4 }))
const numArb = fc.oneof(fc.constantFrom(0, 1, -1, 0.5, 255, 65535), fc.integer({ min: -5, max: 300 }))

const SUBSET_KEYS = ['type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'required', 'properties', 'additionalProperties', 'items', 'description']
const schemaArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  schema: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.boolean(),
    fc
      .tuple(
        fc.subarray(SUBSET_KEYS, { maxLength: 4 }),
        fc.record({
          type: fc.oneof(fc.constantFrom(...TYPES), fc.uniqueArray(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 3 })),
          enum: fc.uniqueArray(primArb, { minLength: 1, maxLength: 4 }),
          const: primArb,
          minimum: numArb,
          maximum: numArb,
          exclusiveMinimum: numArb,
          exclusiveMaximum: numArb,
          minLength: fc.nat(4),
          maxLength: fc.nat(4),
          minItems: fc.nat(3),
          maxItems: fc.nat(3),
          required: fc.uniqueArray(nameArb, { maxLength: 3 }),
          properties: fc.dictionary(nameArb, tie('schema'), { maxKeys: 3 }),
          additionalProperties: tie('schema'),
          items: tie('schema'),
          description: fc.string({ maxLength: 3 }),
        }),
        // now and then a keyword outside the subset: the fast path must step aside
        fc.option(fc.constantFrom<[string, unknown]>(['pattern', '^a'], ['multipleOf', 2], ['uniqueItems', true], ['type', 'float'], ['minimum', 'x'], ['required', ['a', 'a']]), { freq: 10 }),
      )
      .map(([keys, full, odd]) => {
        const o: Record<string, unknown> = {}
        for (const k of keys) o[k] = (full as Record<string, unknown>)[k]
        if (odd) o[odd[0]] = odd[1]
        return o
      }),
  ),
})).schema

const dataArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    primArb,
    fc.constantFrom(NaN, Infinity, -Infinity, undefined),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nameArb, tie('value'), { maxKeys: 4 }),
  ),
})).value

describe('config: the fast schema check', () => {
  it('never accepts what ajv rejects, and only calls valid schemas simple (fuzzed)', () => {
    const a = ajv()
    fc.assert(
      fc.property(schemaArb, fc.array(dataArb, { minLength: 1, maxLength: 6 }), (schema, values) => {
        const simple = isSimpleSchema(schema)
        if (simple) assert.equal(a.validateSchema(schema as object), true, `simple but invalid: ${JSON.stringify(schema)}`)
        const fast = compileFastCheck(schema)
        if (!fast) return
        const v = a.compile(schema as object)
        for (const d of values) {
          if (fast(d)) assert.equal(v(d), true, `fast accepted what ajv rejects: ${JSON.stringify(schema)} / ${JSON.stringify(d)}`)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('agrees with ajv on the real plugins’ schemas for a real configuration and its mutations', async () => {
    const bt = await builtinTree()
    const tree = bt.tree
    const r = parseConfig({ file: '/v/k.conf', text: generateConfig(40, 7), configId: 'x' }, tree)
    assert.equal(r.exitCode, 0, JSON.stringify(r.diagnostics.slice(0, 3)))
    const a = ajv()
    const sections = JSON.parse(JSON.stringify(r.model.sections)) as Record<string, unknown>
    let fastSections = 0
    for (const name of tree.schemaSections()) {
      const data = sections[name]
      if (data === undefined) continue
      const fast = tree.fastCheckFor(name)
      if (!fast) continue
      fastSections++
      const schema = (tree as unknown as { schemas: Map<string, { schema: object }> }).schemas.get(name)!.schema
      const v = a.compile(schema)
      assert.equal(fast(data), true, `the fast path takes the valid section '${name}'`)
      assert.equal(v(data), true)
      // mutate one leaf at a time: wrong types, out-of-range numbers, unknown keys, missing keys
      const leaves: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = []
      const walk = (o: unknown): void => {
        if (o === null || typeof o !== 'object') return
        if (Array.isArray(o)) o.forEach((x, i) => (leaves.push({ parent: o, key: i }), walk(x)))
        else for (const k of Object.keys(o)) leaves.push({ parent: o as Record<string, unknown>, key: k }), walk((o as Record<string, unknown>)[k])
      }
      walk(data)
      const replacements: unknown[] = [-1, 1e10, 0.5, 'x', '', null, true, [], {}, undefined, NaN]
      for (const { parent, key } of leaves.slice(0, 400)) {
        const old = (parent as Record<string | number, unknown>)[key]
        for (const rep of replacements) {
          ;(parent as Record<string | number, unknown>)[key] = rep
          if (fast(data)) assert.equal(v(data), true, `${name}: ${String(key)} = ${String(rep)}`)
        }
        ;(parent as Record<string | number, unknown>)[key] = old
        if (!Array.isArray(parent)) {
          delete (parent as Record<string, unknown>)[key as string]
          if (fast(data)) assert.equal(v(data), true, `${name}: without ${String(key)}`)
          ;(parent as Record<string, unknown>)[key as string] = old
          ;(parent as Record<string, unknown>)['zz_unknown'] = 1
          if (fast(data)) assert.equal(v(data), true, `${name}: with an unknown key next to ${String(key)}`)
          delete (parent as Record<string, unknown>)['zz_unknown']
        }
      }
    }
    assert.ok(fastSections >= 2, `the real schemas take the fast path (${fastSections})`)
  })
})
