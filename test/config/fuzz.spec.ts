/**
 * Fuzzing: random text and random mutations of real configurations go through the lexer, the preprocessor and
 * the parser. Nothing may throw; every diagnostic must be located (except a missing main file).
 */
import { strict as assert } from 'node:assert'
import * as fs from 'node:fs'
import fc from 'fast-check'
import { decomment, tokenize, lexText, parseConfig, type ParseResult } from '../../core/src/config/index.js'
import { testTree, vfs } from './helpers.js'

const SAMPLES = '/usr/share/doc/keepalived/samples'
const samples: string[] = fs.existsSync(SAMPLES)
  ? fs
      .readdirSync(SAMPLES)
      .filter((f) => f.startsWith('keepalived.conf'))
      .map((f) => fs.readFileSync(`${SAMPLES}/${f}`, 'utf8'))
  : ['vrrp_instance VI_1 {\n  state MASTER\n  virtual_router_id 51\n  virtual_ipaddress {\n    192.0.2.1/24\n  }\n}\n']

const PIECES = ['{', '}', '"', "'", '#', '!', '\\', '$', '${', '$X=', '@main ', '@^main ', '~SEQ(', '~SEQx(', '~LST(', ')', ',', '\n', ' ', 'include ', 'includea ', 'x.conf', '*', 'vrrp_instance', 'virtual_router_id', 'priority', 'virtual_ipaddress', 'global_defs', 'router_id', 'virtual_server', 'real_server', 'TCP_CHECK', '10.0.0.1/40', '300', '-1', 'abc', '\\', '\r\n', '${_RANDOM 1 9}', '${_PWD}', '${X}']

const tree = testTree()
const files = {
  '/v/x.conf': 'include keepalived.conf\nrouter_id x\n',
  '/v/d/a.conf': 'global_defs {\n router_id a\n}\n',
}

function parseVirtualText(text: string): ParseResult {
  const v = vfs({ ...files, '/v/keepalived.conf': text })
  return parseConfig({ file: '/v/keepalived.conf', readFile: v.readFile, readDir: v.readDir, configId: 'main', randomSeed: 3, maxLines: 20_000 }, tree)
}

function check(r: ParseResult): void {
  assert.ok(r.exitCode === 0 || r.exitCode === 4 || r.exitCode === 5 || r.exitCode === 6, `exit ${r.exitCode}`)
  for (const d of r.diagnostics) {
    assert.ok(d.loc, `${d.code} ${d.message} is located`)
    assert.equal(typeof d.loc.line, 'number')
  }
}

const textArb = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.array(fc.constantFrom(...PIECES), { maxLength: 120 }).map((a) => a.join('')),
  fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 6 })), { maxLength: 80 }).map((a) => a.join(' ')),
)

type Mutation = { at: number; kind: 'delete' | 'insert' | 'swapLines' | 'dupLine'; text: string; len: number }
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('delete', 'insert', 'swapLines', 'dupLine'),
  text: fc.constantFrom(...PIECES),
  len: fc.integer({ min: 1, max: 30 }),
})

function mutate(src: string, muts: Mutation[]): string {
  let s = src
  for (const m of muts) {
    const at = s.length === 0 ? 0 : m.at % s.length
    if (m.kind === 'delete') s = s.slice(0, at) + s.slice(at + m.len)
    else if (m.kind === 'insert') s = s.slice(0, at) + m.text + s.slice(at)
    else {
      const lines = s.split('\n')
      const i = at % Math.max(1, lines.length)
      const j = (at * 7 + m.len) % Math.max(1, lines.length)
      if (m.kind === 'swapLines') [lines[i], lines[j]] = [lines[j], lines[i]]
      else lines.splice(i, 0, lines[j] ?? '')
      s = lines.join('\n')
    }
  }
  return s
}

describe('config fuzzing (fast-check)', function () {
  this.timeout(60_000)

  it('the lexer never throws', () => {
    fc.assert(
      fc.property(textArb, (t) => {
        const d = decomment(t)
        tokenize(d.text)
        lexText(t)
      }),
      { numRuns: 1000 },
    )
  })

  it('random text never makes the preprocessor or the parser throw', () => {
    fc.assert(fc.property(textArb, (t) => check(parseVirtualText(t))), { numRuns: 400 })
  })

  it('random mutations of the keepalived samples never throw', () => {
    fc.assert(
      fc.property(fc.nat({ max: samples.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 8 }), (idx, muts) => check(parseVirtualText(mutate(samples[idx], muts)))),
      { numRuns: 300 },
    )
  })

  it('one inserted problem gives exactly one diagnostic, at its line', () => {
    const base = [
      'global_defs {',
      '  router_id r1',
      '}',
      'vrrp_instance VI_1 {',
      '  state MASTER',
      '  virtual_router_id 51',
      '  priority 100',
      '  virtual_ipaddress {',
      '    192.0.2.1/24',
      '  }',
      '}',
      'virtual_server 203.0.113.1 80 {',
      '  lb_algo rr',
      '  real_server 198.18.0.1 80 {',
      '    weight 1',
      '    TCP_CHECK {',
      '      connect_timeout 3',
      '    }',
      '  }',
      '}',
    ]
    assert.deepEqual(parseVirtualText(base.join('\n')).diagnostics, [])
    const problems = ['bogus_keyword 1', 'weird {', '}', 'priority 300', 'priority', '@main', '$X =1', '~SEQ(N, 1 3', 'include missing.conf']
    fc.assert(
      fc.property(fc.integer({ min: 0, max: base.length }), fc.constantFrom(...problems), (at, problem) => {
        const lines = [...base.slice(0, at), problem, ...base.slice(at)]
        const r = parseVirtualText(lines.join('\n'))
        const where = r.diagnostics.map((d) => `${d.code}@${d.loc?.line}`)
        if (problem === 'weird {') {
          // an unknown block swallows everything to its matching '}' - one diagnostic, then the rest of the file is inside it
          assert.ok(r.diagnostics.some((d) => d.loc?.line === at + 1), where.join(' '))
          return
        }
        if (problem === '}' && at > 0 && at < base.length) return // closes a block early: the next lines move up a level
        if (problem === 'priority 300' || problem === 'priority') {
          // only a problem where priority is known (inside vrrp_instance); elsewhere it is an unknown keyword or a value line
          assert.equal(r.diagnostics.length, 1, where.join(' '))
        } else assert.equal(r.diagnostics.length, 1, `${problem} at ${at}: ${where.join(' ')}`)
        assert.equal(r.diagnostics[0].loc?.line, at + 1, where.join(' '))
      }),
      { numRuns: 300 },
    )
  })

  it('deep nesting and long lines are handled without recursion limits', () => {
    check(parseVirtualText('global_defs {\n'.repeat(50_000)))
    check(parseVirtualText('}\n'.repeat(10_000)))
    check(parseVirtualText('x ' + 'a'.repeat(1_000_000) + '\n'))
    check(parseVirtualText('$A=$B $B\n$B=$A $A\nx $A\n'))
  })
})
