import { strict as assert } from 'node:assert'
import { decomment, tokenize, lexText } from '../../core/src/config/index.js'

const words = (s: string): string[] => tokenize(decomment(s).text).tokens.map((t) => t.text)

describe('config lexer', () => {
  it('removes # and ! comments anywhere, not inside double quotes, and keeps escaped ones', () => {
    assert.deepEqual(words('router_id r1 # comment'), ['router_id', 'r1'])
    assert.deepEqual(words('router_id r1! comment'), ['router_id', 'r1'])
    assert.deepEqual(words('! whole line'), [])
    assert.deepEqual(words('notify "/bin/x #1 !2" # c'), ['notify', '/bin/x #1 !2'])
    assert.deepEqual(words('router_id a\\#b\\!c'), ['router_id', 'a#b!c'])
  })

  it('reports a trailing backslash as a continuation but keeps it in the text', () => {
    const d = decomment('$X=a \\')
    assert.equal(d.continued, true)
    assert.equal(d.text, '$X=a \\')
    assert.equal(decomment('a \\\\').continued, false)
  })

  it('groups quoted words with both quote kinds, also in the middle of a word', () => {
    assert.deepEqual(words(`abcd" efg h jkl "mnop`), ['abcd efg h jkl mnop'])
    assert.deepEqual(words(`abcd "efg h jkl" mnop`), ['abcd', 'efg h jkl', 'mnop'])
    assert.deepEqual(words(`misc_path '/bin/check a b' x`), ['misc_path', '/bin/check a b', 'x'])
    assert.deepEqual(words(`x "" y`), ['x', '', 'y'])
  })

  it("decodes keepalived's escapes inside quotes", () => {
    assert.deepEqual(words(String.raw`x "\a\b\E\f\n\r\t\v"`), ['x', '\x07\b\x1b\f\n\r\t\v'])
    assert.deepEqual(words(String.raw`x "\101\x41\x4a\cA\q\\\""`), ['x', 'AAJ\x01q\\"'])
    assert.deepEqual(words(String.raw`x "\0012"`), ['x', '\x012'])
  })

  it('keeps backslashes outside quotes (regexes, a stray trailing backslash)', () => {
    assert.deepEqual(words(String.raw`regex ^\d+$`), ['regex', String.raw`^\d+$`])
    assert.deepEqual(words('priority 2\\'), ['priority', '2\\'])
    assert.deepEqual(words(String.raw`a\"b c\'d e\\"f g"`), ['a"b', "c'd", 'e\\\\f g'])
  })

  it('makes unquoted braces words of their own and keeps quoted ones', () => {
    assert.deepEqual(words('vrrp_instance VI_1 {'), ['vrrp_instance', 'VI_1', '{'])
    assert.deepEqual(words('virtual_ipaddress { 10.0.0.1 }'), ['virtual_ipaddress', '{', '10.0.0.1', '}'])
    assert.deepEqual(words('}}'), ['}', '}'])
    const t = tokenize('a{b "{" }')
    assert.deepEqual(t.tokens.map((x) => [x.text, x.brace ?? '']), [['a', ''], ['{', '{'], ['b', ''], ['{', ''], ['}', '}']])
  })

  it('gives every word its 1-based column', () => {
    const t = tokenize('  priority   100 {')
    assert.deepEqual(t.tokens.map((x) => x.col), [3, 14, 18])
    assert.deepEqual(tokenize('x y', 5).tokens.map((x) => x.col), [5, 7])
  })

  it('reports an unterminated quote with its column and still returns the words', () => {
    const t = tokenize('script "/bin/true')
    assert.deepEqual(t.unterminated, { col: 8, quote: '"' })
    assert.deepEqual(t.tokens.map((x) => x.text), ['script', '/bin/true'])
    const s = tokenize("x 'a b")
    assert.equal(s.unterminated?.quote, "'")
  })

  it('lexes a text into located lines', () => {
    const lines = lexText('global_defs {\n  # c\n\n  router_id x\r\n}\n')
    assert.deepEqual(lines.map((l) => [l.line, l.tokens.map((t) => t.text).join(' ')]), [
      [1, 'global_defs {'],
      [4, 'router_id x'],
      [5, '}'],
    ])
  })
})
