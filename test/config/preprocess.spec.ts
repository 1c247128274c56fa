import { strict as assert } from 'node:assert'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import { fileURLToPath } from 'node:url'
import { preprocess, expandBraces, globSegmentToRegExp, type ParseOptions } from '../../core/src/config/index.js'
import { vfs, summary } from './helpers.js'

const here = nodePath.dirname(fileURLToPath(import.meta.url))
const cases = nodePath.join(here, '../cases/config')

function pre(text: string, opts: Partial<ParseOptions> = {}, extra: Record<string, string> = {}) {
  const fs = vfs({ '/v/keepalived.conf': text, ...extra })
  return preprocess({ file: '/v/keepalived.conf', readFile: fs.readFile, readDir: fs.readDir, configId: 'main', randomSeed: 7, ...opts })
}
const out = (text: string, opts: Partial<ParseOptions> = {}, extra: Record<string, string> = {}): string[] =>
  pre(text, opts, extra).lines.map((l) => l.words.join(' '))

describe('config preprocessor', () => {
  describe('lines and locations', () => {
    it('splits braces into lines of their own with exact columns', () => {
      const r = pre('vrrp_instance VI { state MASTER }\n')
      assert.deepEqual(r.lines.map((l) => [l.words.join(' '), l.loc.line, l.loc.column, l.brace ?? '']), [
        ['vrrp_instance VI', 1, 1, ''],
        ['{', 1, 18, '{'],
        ['state MASTER', 1, 20, ''],
        ['}', 1, 33, '}'],
      ])
      assert.deepEqual(r.lines[2].cols, [20, 26])
    })
    it('ignores a byte order mark', () => {
      assert.deepEqual(out('\uFEFFglobal_defs {\n}\n'), ['global_defs', '{', '}'])
    })
    it('keeps CRLF files and blank/comment lines out', () => {
      assert.deepEqual(out('a 1\r\n\r\n# x\r\n  b 2  ! y\r\n'), ['a 1', 'b 2'])
    })
    it('reports an unterminated quote at its line and column and continues', () => {
      const r = pre('a 1\nscript "/bin/true\nb 2\n')
      assert.deepEqual(r.lines.map((l) => l.words.join(' ')), ['a 1', 'script /bin/true', 'b 2'])
      assert.equal(r.diagnostics.length, 1)
      assert.equal(r.diagnostics[0].code, 'KAD_CFG_UNTERMINATED_QUOTE')
      assert.deepEqual(r.diagnostics[0].loc, { file: '/v/keepalived.conf', line: 2, column: 8 })
    })
  })

  describe('@ID conditional lines', () => {
    it('keeps @ID lines for the config id and @^ID lines for the others', () => {
      const text = '@main router_id m\n@backup router_id b\n@^main peer 1\n@^backup peer 2\n'
      assert.deepEqual(out(text), ['router_id m', 'peer 2'])
      assert.deepEqual(out(text, { configId: 'backup' }), ['router_id b', 'peer 1'])
    })
    it('keeps columns after the @ID prefix', () => {
      const r = pre('@main   router_id m\n')
      assert.equal(r.lines[0].loc.column, 9)
    })
    it('applies @ID and definitions to the text after a brace, as keepalived', () => {
      assert.deepEqual(out('global_defs { @main router_id m } { @other router_id o }\nx { $V=3 }\ny $V\n'), [
        'global_defs',
        '{',
        'router_id m',
        '}',
        '{',
        '}',
        'x',
        '{',
        '}',
        'y 3',
      ])
      const r = pre('a { @main b 1 }\n')
      assert.deepEqual(r.lines.map((l) => l.loc.column), [1, 3, 11, 15])
    })
    it('locates preprocessor problems at the column of the line', () => {
      const r = pre('  @main\n\t$X =1\n   ~SEQ(N, 1 3\n  include nope.conf\n@main   $Y =2\n')
      assert.deepEqual(
        r.diagnostics.map((d) => `${d.code}@${d.loc?.line}:${d.loc?.column}`),
        ['KAD_CFG_CONDITIONAL@1:3', 'KAD_CFG_DEFINITION@2:2', 'KAD_CFG_SEQ@3:4', 'KAD_CFG_INCLUDE_MISSING@4:3', 'KAD_CFG_DEFINITION@5:9'],
      )
    })
    it('reports @ID with nothing after it and @ with no id', () => {
      const r = pre('@main\n@ router_id x\n')
      assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_CONDITIONAL@keepalived.conf:1', 'KAD_CFG_CONDITIONAL@keepalived.conf:2'])
      assert.equal(r.lines.length, 0)
    })
  })

  describe('$NAME definitions', () => {
    it('defines and substitutes $NAME and ${NAME}, recursively at use time', () => {
      const text = ['$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}', '$ADDRESS_BASE_SUB=0', '${ADDRESS_BASE}.100/32', '$ADDRESS_BASE_SUB=10', '${ADDRESS_BASE}.100/32'].join('\n')
      assert.deepEqual(out(text), ['10.2.0.100/32', '10.2.10.100/32'])
    })
    it('substitutes $NAME only before a blank, comma, ) or the end', () => {
      assert.deepEqual(out('$P=240\npriority $P\nx $Px\ny $P,$P)\n'), ['priority 240', 'x $Px', 'y 240,240)'])
    })
    it('leaves undefined names verbatim', () => {
      assert.deepEqual(out('notify "/bin/x ${UNDEF} $ALSO"\n'), ['notify /bin/x ${UNDEF} $ALSO'])
    })
    it('allows empty values and redefinition', () => {
      assert.deepEqual(out('$E=\n$V=1\na${E}b $V\n$V=2\nc $V\n'), ['ab 1', 'c 2'])
    })
    it('works with conditional definitions ($IF_MAIN=@main)', () => {
      assert.deepEqual(out('@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n$IF_MAIN=@main\n$IF_MAIN prio 9\n'), ['priority 240', 'prio 9'])
      assert.deepEqual(out('$IF_MAIN=@main\n$IF_MAIN prio 9\n', { configId: 'other' }), [])
    })
    it('reports a space before = once and drops the line', () => {
      const r = pre('$FOO =bar\nx 1\n')
      assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_DEFINITION@keepalived.conf:1'])
      assert.deepEqual(r.lines.map((l) => l.words.join(' ')), ['x 1'])
    })
    it('warns about reserved names but still defines them', () => {
      const r = pre('$_MINE=1\nx ${_MINE}\n')
      assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_DEFINITION@keepalived.conf:1'])
      assert.equal(r.diagnostics[0].severity, 'warning')
      assert.deepEqual(r.lines.map((l) => l.words.join(' ')), ['x 1'])
    })
    it('treats names that do not start with a letter or _ as text', () => {
      assert.deepEqual(out('$1X=3\n'), ['$1X=3'])
    })
    it('reports a recursive definition instead of looping', () => {
      const r = pre('$A=${A}x\nval $A\nnext 1\n')
      assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_DEFINITION@keepalived.conf:2'])
      assert.deepEqual(r.lines.map((l) => l.words.join(' ')), ['next 1'])
    })
    it('expands multiline definitions, nested, line by line', () => {
      const text = [
        '$RS= \\',
        'real_server 192.168.${VS_NUM}.${RS_NUM} 80 { \\',
        '    weight 1 \\',
        '}',
        '$VS= \\',
        'virtual_server 10.0.${VS_NUM}.4 80 { \\',
        '    $RS_NUM=1 \\',
        '    $RS \\',
        '    $RS_NUM=2 \\',
        '    $RS \\',
        '}',
        '',
        '$VS_NUM=0',
        '$VS',
      ].join('\n')
      const r = pre(text)
      assert.deepEqual(r.diagnostics, [])
      assert.deepEqual(r.lines.map((l) => l.words.join(' ')), [
        'virtual_server 10.0.0.4 80',
        '{',
        'real_server 192.168.0.1 80',
        '{',
        'weight 1',
        '}',
        'real_server 192.168.0.2 80',
        '{',
        'weight 1',
        '}',
        '}',
      ])
      // every generated line points at the line that used the definition
      assert.ok(r.lines.every((l) => l.loc.line === 14))
    })
    it('substitutes inside the first line of a multiline definition too (the man page example)', () => {
      const text = '$INSTANCE= vrrp_instance VI_${NUM} { \\\n  interface eth0.${NUM} \\\n  @high priority 130 \\\n  @low priority 120 \\\n}\n\n$NUM=0\n$INSTANCE\n$NUM=1\n$INSTANCE\n'
      assert.deepEqual(out(text, { configId: 'low' }), ['vrrp_instance VI_0', '{', 'interface eth0.0', 'priority 120', '}', 'vrrp_instance VI_1', '{', 'interface eth0.1', 'priority 120', '}'])
    })
    it('reports a self-referencing multiline definition instead of overflowing the stack', () => {
      const r = pre('$M=$M \\\nx\n\n$M\n')
      assert.equal(r.diagnostics.length, 1)
      assert.equal(r.diagnostics[0].code, 'KAD_CFG_DEFINITION')
    })
    it('ends a multiline definition at a blank line', () => {
      assert.deepEqual(out('$M=a \\\nb \\\n\nc\n$M\n'), ['c', 'a', 'b'])
    })
    it('does not expand a multiline definition in the middle of a line', () => {
      assert.deepEqual(out('$M=a \\\nb\nx $M y\n'), ['x $M y'])
    })
  })

  describe('built-in definitions', () => {
    it('${_PWD} is the directory of the current file, ${_INSTANCE} the config id', () => {
      assert.deepEqual(out('x ${_PWD} ${_INSTANCE}\n'), ['x /v main'])
    })
    it('${_HASH} and ${_BANG} give the characters, not comments', () => {
      assert.deepEqual(out('x a${_HASH}b${_BANG}c\n'), ['x a#b!c'])
    })
    it('${_ENV VAR} reads the environment', () => {
      assert.deepEqual(out('x ${_ENV KAD_T} y${_ENV NOPE}z\n', { env: { KAD_T: 'val' } }), ['x val yz'])
    })
    it('${_RANDOM [MIN [MAX]]} is seeded and within range', () => {
      const a = out('x ${_RANDOM} ${_RANDOM 5 9} ${_RANDOM 3}\n', { randomSeed: 42 })
      const b = out('x ${_RANDOM} ${_RANDOM 5 9} ${_RANDOM 3}\n', { randomSeed: 42 })
      assert.deepEqual(a, b)
      const [, r1, r2, r3] = a[0].split(' ').map(Number)
      assert.ok(r1 >= 0 && r1 <= 32767)
      assert.ok(r2 >= 5 && r2 <= 9)
      assert.ok(r3 >= 3 && r3 <= 32767)
      for (let seed = 0; seed < 50; seed++) {
        const v = Number(out('${_RANDOM 1 2}\n', { randomSeed: seed })[0])
        assert.ok(v === 1 || v === 2)
      }
    })
  })

  describe('~SEQ and ~LST', () => {
    it('expands ~SEQ with 1, 2 and 3 parameters', () => {
      assert.deepEqual(out('~SEQ(S, 0, 3) ip 10.0.${S}.1\n'), ['ip 10.0.0.1', 'ip 10.0.1.1', 'ip 10.0.2.1', 'ip 10.0.3.1'])
      assert.deepEqual(out('~SEQ(S, 3) n $S\n'), ['n 1', 'n 2', 'n 3'])
      assert.deepEqual(out('~SEQ(S, -2) n $S\n'), ['n -1', 'n -2'])
      assert.deepEqual(out('~SEQ(S, 5, -2, 1) n $S\n'), ['n 5', 'n 3', 'n 1'])
    })
    it('~SEQx formats in hex and accepts hex input', () => {
      assert.deepEqual(out('~SEQx(S, 0x90, 0x10, 0xc0) ip fe80::20:${S}:1\n'), ['ip fe80::20:90:1', 'ip fe80::20:a0:1', 'ip fe80::20:b0:1', 'ip fe80::20:c0:1'])
    })
    it('nests several ~SEQ on one line', () => {
      assert.deepEqual(out('~SEQ(A, 1, 2) ~SEQ(B, 0, 1) v ${A}.${B}\n'), ['v 1.0', 'v 1.1', 'v 2.0', 'v 2.1'])
    })
    it('takes ~SEQ parameters from definitions', () => {
      assert.deepEqual(out('$N=2\n~SEQ(I, 1, $N) x $I\n'), ['x 1', 'x 2'])
    })
    it('expands ~LST, tuples, nesting and combinations with ~SEQ', () => {
      assert.deepEqual(out('~LST(IP, 1, 2) a.${IP}\n'), ['a.1', 'a.2'])
      assert.deepEqual(out('~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}\n'), ['192.168.10.1', '192.168.20.4'])
      assert.deepEqual(out('~LST({A, B}, {1}, {2,3}) x${A}-${B}\n'), ['x1-', 'x2-3'])
      assert.deepEqual(out('~LST(IP, 1, 2) ~LST(IP1, 5,6) 192.169.${IP}.${IP1}\n'), ['192.169.1.5', '192.169.1.6', '192.169.2.5', '192.169.2.6'])
      assert.deepEqual(out('~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}\n'), [
        '192.168.10.1',
        '192.170.10.1',
        '192.168.20.4',
        '192.170.20.4',
      ])
    })
    it('expands a multiline definition for every ~SEQ value', () => {
      const text = '$VI= \\\nvrrp_instance v${ID} { \\\n  virtual_router_id ${ID} \\\n}\n\n~SEQ(ID,1,2) $VI\n'
      assert.deepEqual(out(text), ['vrrp_instance v1', '{', 'virtual_router_id 1', '}', 'vrrp_instance v2', '{', 'virtual_router_id 2', '}'])
    })
    for (const [bad, what] of [
      ['~SEQ(N, 1 3', "missing ')'"],
      ['~SEQ N, 1, 3) x', "no '('"],
      ['~SEQ(, 1, 3) x', 'no variable'],
      ['~SEQ(N, a, 3) x', 'not a number'],
      ['~SEQ(N, 1, 0, 3) x', 'zero step'],
      ['~SEQ(N, 1, -1, 3) x', 'wrong sign'],
      ['~SEQx(N, -3, 1) x', 'negative hex'],
      ['~SEQ(N) x', 'no end'],
      ['~LST(A) x', 'no values'],
      ['~LST(A, 1, 2 x', "missing ')'"],
      ['~LST({A}, {1,2}) x', 'too many values'],
      ['~LST(1A, 1) x', 'bad name'],
    ]) {
      it(`reports one located ~SEQ/~LST error: ${what}`, () => {
        const r = pre(`a 1\n${bad}\nb 2\n`)
        assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_SEQ@keepalived.conf:2'], bad)
        assert.deepEqual(r.lines.map((l) => l.words.join(' ')), ['a 1', 'b 2'])
      })
    }
    it('stops a runaway expansion at maxLines with one diagnostic', () => {
      const r = pre('~SEQ(A, 1, 100000) ~SEQ(B, 1, 100000) x\n', { maxLines: 1000 })
      assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_EXPANSION_LIMIT@keepalived.conf:1'])
      assert.ok(r.lines.length <= 1000)
    })
  })

  describe('include', () => {
    it('follows globs, csh braces and nested relative includes on disk, in order', () => {
      const r = preprocess({ file: nodePath.join(cases, 'include/main.conf'), configId: 'x' })
      assert.deepEqual(r.diagnostics, [])
      const names = r.lines.filter((l) => l.words[0] === 'vrrp_instance').map((l) => l.words[1])
      assert.deepEqual(names, ['A', 'B', 'LEAF', 'OTHER'])
      assert.deepEqual(
        r.files.map((f) => nodePath.relative(nodePath.join(cases, 'include'), f)),
        ['main.conf', 'conf.d/10-a.conf', 'conf.d/20-b.conf', 'sub/part.conf', 'sub/inner/leaf.conf', 'other/part.conf'],
      )
      const leaf = r.lines.find((l) => l.words[1] === 'LEAF')!
      assert.equal(leaf.loc.line, 1)
      assert.ok(leaf.loc.file.endsWith('sub/inner/leaf.conf'))
    })
    it('resolves includes relative to the including file in a virtual fs', () => {
      const r = pre('include a/one.conf\n', {}, { '/v/a/one.conf': 'include ../b/two.conf\none 1\n', '/v/b/two.conf': 'two 2\n' })
      assert.deepEqual(r.lines.map((l) => `${l.words.join(' ')}@${l.loc.file}:${l.loc.line}`), ['two 2@/v/b/two.conf:1', 'one 1@/v/a/one.conf:2'])
    })
    it('reports a missing plain include as a warning that keeps exit 0', () => {
      const r = pre('include nope.conf\nx 1\n')
      assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_INCLUDE_MISSING@keepalived.conf:1'])
      assert.equal(r.diagnostics[0].severity, 'warning')
      assert.equal(r.diagnostics[0].exitClass, 0)
    })
    it('makes a missing includea / -e include fatal with exit class 6', () => {
      for (const [text, opts] of [
        ['includea nope.conf\n', {}],
        ['include nope.conf\n', { allConfig: true }],
        ['includem nope.conf\n', {}],
      ] as const) {
        const r = pre(text, opts)
        assert.equal(r.diagnostics.length, 1, text)
        assert.equal(r.diagnostics[0].severity, 'fatal')
        assert.equal(r.diagnostics[0].exitClass, 6)
      }
    })
    it('reports an unmatched wildcard only when wildcard_match is checked', () => {
      assert.equal(pre('include d/*.conf\n', {}, { '/v/d/x.txt': '' }).diagnostics[0].exitClass, 0)
      const w = pre('includew d/*.conf\n', {}, { '/v/d/x.txt': '' })
      assert.deepEqual(summary(w.diagnostics), ['KAD_CFG_INCLUDE_NO_MATCH@keepalived.conf:1'])
      assert.equal(w.diagnostics[0].exitClass, 6)
    })
    it('applies include_check to later includes and restores it at the end of the file', () => {
      const r = pre('include sub.conf\ninclude nope1.conf\n', {}, { '/v/sub.conf': 'include_check match\ninclude nope2.conf\n' })
      assert.deepEqual(
        r.diagnostics.map((d) => `${d.severity}@${d.loc?.file}:${d.loc?.line}`),
        ['fatal@/v/sub.conf:2', 'warning@/v/keepalived.conf:2'],
      )
      assert.deepEqual(summary(pre('include_check bogus\n').diagnostics), ['KAD_CFG_INCLUDE_SYNTAX@keepalived.conf:1'])
    })
    it('reports include recursion once with the chain, without a stack overflow', () => {
      const r = pre('include a.conf\n', {}, { '/v/a.conf': 'include b.conf\n', '/v/b.conf': 'include a.conf\nb 1\n' })
      assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_INCLUDE_RECURSION@b.conf:1'])
      assert.match(r.diagnostics[0].message, /a\.conf -> .*b\.conf -> .*a\.conf/)
      assert.deepEqual(r.lines.map((l) => l.words.join(' ')), ['b 1'])
      const self = pre('include keepalived.conf\nx 1\n')
      assert.deepEqual(summary(self.diagnostics), ['KAD_CFG_INCLUDE_RECURSION@keepalived.conf:1'])
    })
    it('reports an include without a file name', () => {
      assert.deepEqual(summary(pre('include\nincludea\n').diagnostics), ['KAD_CFG_INCLUDE_SYNTAX@keepalived.conf:1', 'KAD_CFG_INCLUDE_SYNTAX@keepalived.conf:2'])
    })
    it('skips directories and executable files (fatal with includer)', () => {
      const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'kad-cfg-inc-'))
      try {
        fs.mkdirSync(nodePath.join(dir, 'd.conf'))
        fs.writeFileSync(nodePath.join(dir, 'x.conf'), 'router_id x\n', { mode: 0o755 })
        fs.chmodSync(nodePath.join(dir, 'x.conf'), 0o755)
        fs.writeFileSync(nodePath.join(dir, 'main.conf'), 'include d.conf\ninclude x.conf\nincluder x.conf\n')
        const r = preprocess({ file: nodePath.join(dir, 'main.conf'), configId: 'x' })
        assert.deepEqual(
          r.diagnostics.map((d) => `${d.code}@${d.loc?.line}/${d.severity}/${d.exitClass}`),
          ['KAD_CFG_INCLUDE_UNREADABLE@1/warning/0', 'KAD_CFG_INCLUDE_UNREADABLE@2/warning/0', 'KAD_CFG_INCLUDE_UNREADABLE@3/fatal/6'],
        )
        assert.equal(r.lines.length, 0)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
    it('reports a missing main file as fatal', () => {
      const fs = vfs({})
      const r = preprocess({ file: '/v/none.conf', readFile: fs.readFile, configId: 'x' })
      assert.equal(r.mainMissing, true)
      assert.equal(r.diagnostics[0].code, 'KAD_CFG_FILE_MISSING')
      assert.equal(r.diagnostics[0].severity, 'fatal')
    })
  })

  describe('glob helpers', () => {
    it('expands csh braces', () => {
      assert.deepEqual(expandBraces('{foo/{,cat,dog},bar}'), ['foo/', 'foo/cat', 'foo/dog', 'bar'])
      assert.deepEqual(expandBraces('a\\{b,c}'), ['a\\{b,c}'])
    })
    it('matches glob segments like glob(3)', () => {
      const re = globSegmentToRegExp('*.conf')
      assert.ok(re.test('a.conf') && !re.test('a.conf.bak'))
      assert.ok(globSegmentToRegExp('[!a]?.c').test('bx.c'))
      assert.ok(!globSegmentToRegExp('[!a]?.c').test('ax.c'))
    })
  })
})
