import { strict as assert } from 'node:assert'
import {
  KeywordTree,
  registerCoreKeywords,
  readUnsigned,
  readInteger,
  readTimerUs,
  readBool,
  readAddress,
  readPrefix,
  readOneOf,
  formatIPv6,
  parseIPv6,
} from '../../core/src/config/index.js'
import { isKadError } from '../../core/src/errors.js'
import { parseText, summary, testTree } from './helpers.js'

const msg = (r: { ok: boolean; message?: string }): string | undefined => (r.ok ? undefined : r.message)

describe('config readers', () => {
  it("reads unsigned numbers with keepalived's messages", () => {
    assert.deepEqual(readUnsigned('42'), { ok: true, value: 42 })
    assert.equal(msg(readUnsigned('300', { min: 1, max: 255 })), "number '300' outside range [1, 255]")
    assert.equal(msg(readUnsigned('abc')), "invalid number 'abc'")
    assert.equal(msg(readUnsigned('-1')), "negative number '-1'")
    assert.equal(msg(readUnsigned('99999999999')), "number '99999999999' outside unsigned integer range")
    assert.equal(msg(readUnsigned('')), "invalid number ''")
    assert.equal(msg(readUnsigned('2\\')), "invalid number '2\\'")
  })
  it('reads signed integers', () => {
    assert.deepEqual(readInteger('-20', { min: -20, max: 19 }), { ok: true, value: -20 })
    assert.equal(msg(readInteger('20', { min: -20, max: 19 })), "number '20' outside range [-20, 19]")
    assert.equal(msg(readInteger('1.5')), "invalid number '1.5'")
    assert.equal(msg(readInteger('3000000000')), "number '3000000000' outside integer range")
  })
  it('reads timers with fractions at 1 us resolution', () => {
    assert.deepEqual(readTimerUs('3'), { ok: true, value: 3_000_000 })
    assert.deepEqual(readTimerUs('2.71828'), { ok: true, value: 2_718_280 })
    assert.deepEqual(readTimerUs('.5'), { ok: true, value: 500_000 })
    assert.deepEqual(readTimerUs('0.0000015'), { ok: true, value: 2, warning: "number '0.0000015' has too many decimal places" })
    assert.equal(msg(readTimerUs('-1')), "negative number '-1'")
    assert.equal(msg(readTimerUs('1.2.3')), "invalid number '1.2.3'")
    assert.equal(msg(readTimerUs('.')), "invalid number '.'")
    assert.equal(msg(readTimerUs('300', { min: 0.01, max: 255 })), "number '300' outside range [0.010000, 255.000000]")
  })
  it('reads booleans', () => {
    for (const w of ['on', 'true', 'yes']) assert.deepEqual(readBool(w), { ok: true, value: true })
    for (const w of ['off', 'false', 'no']) assert.deepEqual(readBool(w), { ok: true, value: false })
    assert.ok(!readBool('On').ok)
  })
  it('reads IPv4 and IPv6 addresses strictly and canonically', () => {
    assert.deepEqual(readAddress('192.168.1.16'), { ok: true, value: { family: 4, address: '192.168.1.16' } })
    assert.equal(msg(readAddress('192.168.300.16')), "invalid IP address '192.168.300.16'")
    for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', '::1::', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'g::1', ':1::2', '']) {
      assert.equal(readAddress(bad).ok, false, bad)
    }
    assert.deepEqual(readAddress('2001:DB8:0:0:0:0:0:1'), { ok: true, value: { family: 6, address: '2001:db8::1' } })
    assert.deepEqual(readAddress('::ffff:192.0.2.1'), { ok: true, value: { family: 6, address: '::ffff:c000:201' } })
    assert.equal(formatIPv6(parseIPv6('1:0:0:2:0:0:0:3')!), '1:0:0:2::3')
    assert.equal(formatIPv6(parseIPv6('1:0:2:3:4:5:6:7')!), '1:0:2:3:4:5:6:7')
    assert.equal(msg(readAddress('::1', 4)), "'::1' is an IPv6 address, an IPv4 address is expected here")
    assert.equal(msg(readAddress('1.2.3.4', 6)), "'1.2.3.4' is an IPv4 address, an IPv6 address is expected here")
  })
  it('reads prefixes; a missing length is the full length', () => {
    assert.deepEqual(readPrefix('10.0.0.1/24'), { ok: true, value: { family: 4, address: '10.0.0.1', prefixLength: 24 } })
    assert.deepEqual(readPrefix('10.0.0.1'), { ok: true, value: { family: 4, address: '10.0.0.1', prefixLength: 32 } })
    assert.deepEqual(readPrefix('2001:db8::/32'), { ok: true, value: { family: 6, address: '2001:db8::', prefixLength: 32 } })
    assert.equal(msg(readPrefix('10.0.0.1/40')), "prefix length 40 outside range [0, 32] in '10.0.0.1/40'")
    assert.equal(msg(readPrefix('2001:db8::/129')), "prefix length 129 outside range [0, 128] in '2001:db8::/129'")
    assert.equal(readPrefix('10.0.0.1/').ok, false)
    assert.equal(readPrefix('192.168.100./24').ok, false)
  })
  it('reads one of a set of words', () => {
    assert.deepEqual(readOneOf('DR', ['NAT', 'DR', 'TUN'] as const), { ok: true, value: 'DR' })
    assert.deepEqual(readOneOf('dr', ['NAT', 'DR', 'TUN'] as const, true), { ok: true, value: 'DR' })
    assert.equal(msg(readOneOf('XYZ', ['NAT', 'DR'])), "invalid value 'XYZ' - expected one of NAT|DR")
  })
})

describe('keyword tree', () => {
  it('records which plugin contributed which keyword path', () => {
    const tree = new KeywordTree()
    registerCoreKeywords(tree)
    tree.forPlugin('vrrp').extend('global_defs', (b) => b.keyword('vrrp_version', () => {}))
    tree.forPlugin('vrrp').root.block('vrrp_instance', { open: () => ({}), children: (b) => b.keyword('priority', () => {}).block('virtual_ipaddress', { open: () => [] }) })
    tree.forPlugin('checkers').extend('vrrp_instance', (b) => b.keyword('x_extra', () => {}))
    assert.deepEqual(tree.keywordsOf('vrrp'), ['global_defs/vrrp_version', 'vrrp_instance', 'vrrp_instance/priority', 'vrrp_instance/virtual_ipaddress'])
    assert.deepEqual(tree.keywordsOf('checkers'), ['vrrp_instance/x_extra'])
    assert.ok(tree.keywordsOf('core').includes('global_defs/router_id'))
    assert.ok(tree.keywordsOf('core').includes('child_wait_time'))
    assert.deepEqual(tree.keywordsOf('nobody'), [])
  })
  it('refuses a duplicate keyword, naming both plugins', () => {
    const tree = new KeywordTree()
    registerCoreKeywords(tree)
    assert.throws(
      () => tree.forPlugin('evil').extend('global_defs', (b) => b.keyword('router_id', () => {})),
      (e: unknown) => isKadError(e, 'KAD_ERR_KEYWORD_DUPLICATE') && /evil/.test(e.message) && /core/.test(e.message),
    )
    assert.throws(() => tree.forPlugin('evil').root.keyword('x', () => {}, { aliases: ['global_defs'] }), (e: unknown) => isKadError(e, 'KAD_ERR_KEYWORD_DUPLICATE'))
  })
  it('refuses to extend a path that does not exist or is not a block', () => {
    const tree = new KeywordTree()
    registerCoreKeywords(tree)
    assert.throws(() => tree.forPlugin('p').extend('no_such_block', () => {}), (e: unknown) => isKadError(e, 'KAD_ERR_KEYWORD_PATH') && /'p'/.test(e.message))
    assert.throws(() => tree.forPlugin('p').extend('global_defs/router_id', () => {}), (e: unknown) => isKadError(e, 'KAD_ERR_KEYWORD_PATH'))
  })
  it('refuses a second schema for a section another plugin owns, and schemas that do not compile', () => {
    const tree = new KeywordTree()
    tree.forPlugin('a').schema('s', { type: 'object' })
    assert.throws(() => tree.forPlugin('b').schema('s', { type: 'object' }), (e: unknown) => isKadError(e, 'KAD_ERR_KEYWORD_DUPLICATE'))
    assert.throws(() => tree.forPlugin('c').schema('t', { type: 'no-such-type' }), (e: unknown) => isKadError(e, 'KAD_ERR_SCHEMA'))
  })
  it('compiles schemas lazily: a schema that only fails to compile is reported at the parse and by compileSchemas()', () => {
    const tree = testTree()
    tree.forPlugin('refs').schema('refs', { $ref: '#/definitions/missing' })
    tree.forPlugin('refs').root.keyword('refs_kw', (k) => {
      k.section('refs', () => ({ a: 1 }))
    })
    const r = parseText('refs_kw\n', {}, tree)
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_SCHEMA@keepalived.conf:1'])
    assert.match(r.diagnostics[0].message, /plugin 'refs'/)
    assert.throws(() => tree.compileSchemas(), (e: unknown) => isKadError(e, 'KAD_ERR_SCHEMA'))
    testTree().compileSchemas()
  })
  it('accepts aliases silently and deprecated aliases with a note that keeps exit 0', () => {
    const r1 = parseText('virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n}\n')
    assert.deepEqual(r1.diagnostics, [])
    assert.equal((r1.model.sections.minilvs as any).virtualServers[0].sched, 'rr')
    const r2 = parseText('vrrp_instance V {\n virtual_router_id 1\n no_preempt\n preempt\n}\n')
    assert.deepEqual(summary(r2.diagnostics), ['KAD_CFG_DEPRECATED@keepalived.conf:3', 'KAD_CFG_DEPRECATED@keepalived.conf:4'])
    assert.match(r2.diagnostics[0].message, /'no_preempt' is deprecated - please use 'nopreempt'/)
    assert.equal(r2.exitCode, 0)
  })
})
