import { strict as assert } from 'node:assert'
import { KeywordTree, registerCoreKeywords, parseConfigText, getCoreSection, configExitCode, formatConfigDiagnostic } from '../../core/src/config/index.js'
import { parseText, parseVirtual, summary, testTree, type MiniInstance } from './helpers.js'

const inst = (r: ReturnType<typeof parseText>): MiniInstance[] => (r.model.sections.testvrrp as { instances: MiniInstance[] }).instances

describe('config parser', () => {
  it('walks blocks opened on the keyword line or the next, with content sharing lines with braces', () => {
    const r = parseText(
      [
        'vrrp_instance VI_1 {',
        '  state MASTER',
        '  virtual_router_id 51',
        '  priority 150',
        '  advert_int 0.5',
        '  virtual_ipaddress { 192.0.2.1/24',
        '    2001:db8::1 }',
        '}',
        'vrrp_instance VI_2',
        '{ virtual_router_id 52 }',
      ].join('\n'),
    )
    assert.deepEqual(r.diagnostics, [])
    assert.equal(r.exitCode, 0)
    const [a, b] = inst(r)
    assert.deepEqual({ ...a }, { name: 'VI_1', state: 'MASTER', vrid: 51, priority: 150, advertInt: 0.5, nopreempt: false, vips: ['192.0.2.1/24', '2001:db8::1/128'], trackScripts: [] })
    assert.equal(b.vrid, 52)
  })

  it('returns a deep-frozen, JSON-serialisable model', () => {
    const r = parseText('vrrp_instance V {\n virtual_router_id 1\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n')
    assert.ok(Object.isFrozen(r.model) && Object.isFrozen(r.model.sections) && Object.isFrozen(inst(r)[0].vips))
    assert.ok(Object.isFrozen(inst(r)[0]))
    assert.deepEqual(JSON.parse(JSON.stringify(r.model.sections)), r.model.sections)
    assert.deepEqual(r.model.files, ['/v/keepalived.conf'])
    assert.equal(r.model.configId, 'main')
  })

  it('reports an unknown keyword with location, path and a suggestion, skips its block, and exits 5', () => {
    const r = parseText('global_defs {\n  router_idd x\n  bogus_block {\n    a 1\n    b { c }\n  }\n  router_id ok\n}\n')
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_UNKNOWN_KEYWORD@keepalived.conf:2', 'KAD_CFG_UNKNOWN_KEYWORD@keepalived.conf:3'])
    assert.equal(r.diagnostics[0].keywordPath, 'global_defs/router_idd')
    assert.equal(r.diagnostics[0].loc?.column, 3)
    assert.match(r.diagnostics[0].message, /did you mean 'router_id'/)
    assert.equal(r.diagnostics[0].severity, 'warning')
    assert.equal(r.exitCode, 5)
    assert.equal(getCoreSection(r.model).routerId, 'ok')
  })

  it('--strict turns warnings into errors', () => {
    const r = parseText('nope 1\ninclude missing.conf\n', { strict: true })
    assert.deepEqual(r.diagnostics.map((d) => d.severity), ['error', 'error'])
    assert.equal(r.exitCode, 5)
    assert.equal(parseText('include missing.conf\n').exitCode, 0)
  })

  it("reports Missing '{' once and still parses the block's content", () => {
    const r = parseText('vrrp_instance V\n  virtual_router_id 7\n}\n')
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_MISSING_BRACE@keepalived.conf:1'])
    assert.equal(inst(r)[0].vrid, 7)
  })

  it("treats a block keyword followed by the parent's '}' as an empty block", () => {
    const r = parseText('vrrp_instance V {\n virtual_router_id 1\n virtual_ipaddress\n}\nglobal_defs {\n}\n')
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_MISSING_BRACE@keepalived.conf:3'])
  })

  it("reports an extra '}' and an unexpected '{'", () => {
    const r = parseText('global_defs {\n}\n}\n{\n  router_id x\n}\nchild_wait_time 3\n')
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_EXTRA_BRACE@keepalived.conf:3', 'KAD_CFG_UNEXPECTED_BRACE@keepalived.conf:4'])
    assert.equal(getCoreSection(r.model).childWaitTime, 3)
  })

  it("reports a missing '}' at EOF at the unclosed block's keyword, innermost first closed", () => {
    const r = parseText('global_defs {\n router_id a\nvrrp_instance V {\n virtual_router_id 1\n')
    // vrrp_instance is then inside global_defs: the unknown-keyword warning says a '}' may be missing before it
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_UNCLOSED_BLOCK@keepalived.conf:1', 'KAD_CFG_UNKNOWN_KEYWORD@keepalived.conf:3'])
    assert.match(r.diagnostics[1].message, /is a '}' missing before it\?/)
    const r2 = parseText('vrrp_instance V {\n virtual_router_id 1\n virtual_ipaddress {\n 192.0.2.1\n')
    assert.deepEqual(summary(r2.diagnostics), ['KAD_CFG_UNCLOSED_BLOCK@keepalived.conf:1', 'KAD_CFG_UNCLOSED_BLOCK@keepalived.conf:3'])
    assert.deepEqual(inst(r2)[0].vips, ['192.0.2.1/32'])
  })

  it('reports a keyword that takes no block followed by one, and skips that block', () => {
    const r = parseText('global_defs {\n router_id x {\n   a b\n }\n child_wait_time 1\n}\n')
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_NOT_A_BLOCK@keepalived.conf:2', 'KAD_CFG_UNKNOWN_KEYWORD@keepalived.conf:5'])
  })

  it('reports a missing parameter with keyword and word position, and keeps parsing', () => {
    const r = parseText('vrrp_instance V {\n priority\n virtual_router_id 9\n}\n')
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_MISSING_PARAMETER@keepalived.conf:2'])
    assert.equal(r.diagnostics[0].message, 'Configuration line starting `priority` is missing a parameter after keyword `priority` at word position 2')
    assert.equal(inst(r)[0].vrid, 9)
    assert.equal(r.exitCode, 5)
  })

  it('reports bad values at the column of the word, one diagnostic each', () => {
    const r = parseText('vrrp_instance V {\n virtual_router_id 300\n priority abc\n advert_int -1\n virtual_ipaddress {\n  192.168.300.16/24\n  10.0.0.1/40\n }\n}\n')
    // the bad virtual_router_id is reported on its line, not again as 'must be set' at the block
    assert.deepEqual(summary(r.diagnostics), [
      'KAD_CFG_INVALID_NUMBER@keepalived.conf:2',
      'KAD_CFG_INVALID_NUMBER@keepalived.conf:3',
      'KAD_CFG_INVALID_NUMBER@keepalived.conf:4',
      'KAD_CFG_INVALID_ADDRESS@keepalived.conf:6',
      'KAD_CFG_INVALID_PREFIX@keepalived.conf:7',
    ])
    assert.equal(r.diagnostics[0].message, "number '300' outside range [1, 255]")
    assert.equal(r.diagnostics[0].loc?.column, 20)
    assert.equal(r.diagnostics[1].message, "invalid number 'abc'")
    assert.equal(r.diagnostics[2].message, "negative number '-1'")
    assert.deepEqual(summary(parseText('vrrp_instance V {\n priority 1\n}\n').diagnostics), ['KAD_CFG_ERROR@keepalived.conf:1'])
  })

  it('catches a throwing handler as a located diagnostic', () => {
    const tree = testTree()
    tree.forPlugin('buggy').root.keyword('boom', () => {
      throw new Error('bang')
    })
    const r = parseText('boom\nchild_wait_time 2\n', {}, tree)
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_HANDLER@keepalived.conf:1'])
    assert.match(r.diagnostics[0].message, /plugin 'buggy' threw: bang/)
  })

  it('validates sections against their schemas and locates the failing block', () => {
    const r = parseText('vrrp_instance "" {\n virtual_router_id 1\n}\n')
    const schema = r.diagnostics.filter((d) => d.code === 'KAD_CFG_SCHEMA')
    assert.equal(schema.length, 1)
    assert.equal(schema[0].loc?.line, 1)
    assert.match(schema[0].message, /section 'testvrrp' \/instances\/0\/name/)
  })

  it('creates registered default sections even when the config does not mention them', () => {
    const r = parseText('')
    assert.equal(getCoreSection(r.model).childWaitTime, 5)
    assert.ok(r.model.sections.core)
  })

  it('fills the core section from global_defs and the top-level globals', () => {
    const r = parseText(
      [
        'net_namespace blue',
        'instance i1',
        'child_wait_time 9',
        'global_defs {',
        '  router_id r1',
        '  script_user nobody :nogroup',
        '  enable_script_security',
        '  startup_script "/bin/start.sh a" root',
        '  startup_script_timeout 20',
        '  umask IWGRP|IWOTH',
        '  random_seed 12',
        '  json_version 2',
        '  process_names',
        '  vrrp_process_name kv',
        '  vrrp_priority -5',
        '  checker_rt_priority 50',
        '  bfd_rlimit_rtime 5000',
        '  vrrp_cpu_affinity 0',
        '  max_auto_priority',
        '  reload_check_config',
        '  data_use_instance off',
        '  include_check match',
        '}',
      ].join('\n'),
    )
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_DEPRECATED@keepalived.conf:17'])
    const c = getCoreSection(r.model)
    assert.equal(c.netNamespace, 'blue')
    assert.equal(c.instance, 'i1')
    assert.equal(c.usePidDir, true)
    assert.equal(c.childWaitTime, 9)
    assert.equal(c.routerId, 'r1')
    assert.deepEqual(c.scriptUser, { user: 'nobody', group: 'nogroup', setSupplementaryGroups: true })
    assert.equal(c.enableScriptSecurity, true)
    assert.deepEqual(c.startupScript, { command: '/bin/start.sh a', user: 'root' })
    assert.equal(c.startupScriptTimeout, 20)
    assert.equal(c.umask, 0o022)
    assert.equal(c.randomSeed, 12)
    assert.equal(c.jsonVersion, 2)
    assert.deepEqual(c.processNames, { vrrp: 'kv', checker: 'keepalived_ipvs', bfd: 'keepalived_bfd' })
    assert.equal(c.vrrp.nice, -5)
    assert.deepEqual(c.vrrp.cpuAffinity, [0])
    assert.equal(c.checker.rtPriority, 50)
    assert.equal(c.bfd.rlimitRttime, 5000)
    assert.equal(c.maxAutoPriority, 99)
    assert.equal(c.reloadCheckConfig, '/dev/null')
    assert.equal(c.dataUseInstance, false)
  })

  it('rejects bad core values with located diagnostics', () => {
    const r = parseText('global_defs {\n umask 0999\n startup_script_timeout 0\n vrrp_priority 20\n process_name abcdefghijklmnopq\n}\nnet_namespace a\nnet_namespace b\n')
    assert.deepEqual(summary(r.diagnostics), [
      'KAD_CFG_ERROR@keepalived.conf:2',
      'KAD_CFG_INVALID_NUMBER@keepalived.conf:3',
      'KAD_CFG_INVALID_NUMBER@keepalived.conf:4',
      'KAD_CFG_ERROR@keepalived.conf:5',
      'KAD_CFG_ERROR@keepalived.conf:8',
    ])
  })

  it('sorts diagnostics by file reading order and line, each once', () => {
    const r = parseVirtual(
      { '/v/main.conf': 'zzz 1\ninclude b.conf\nyyy 2\n', '/v/b.conf': 'bbb 1\n' },
      '/v/main.conf',
    )
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_UNKNOWN_KEYWORD@main.conf:1', 'KAD_CFG_UNKNOWN_KEYWORD@main.conf:3', 'KAD_CFG_UNKNOWN_KEYWORD@b.conf:1'])
    // a ~SEQ that produces the same bad line 3 times reports it once
    const s = parseText('~SEQ(I, 1, 3) nope 1\n')
    assert.deepEqual(summary(s.diagnostics), ['KAD_CFG_UNKNOWN_KEYWORD@keepalived.conf:1'])
  })

  it('a missing main file is fatal (exit 4), unlike keepalived', () => {
    const r = parseVirtual({}, '/v/none.conf')
    assert.equal(r.exitCode, 4)
    assert.deepEqual(summary(r.diagnostics), ['KAD_CFG_FILE_MISSING@-'])
  })

  it("computes keepalived's exit code: highest class wins", () => {
    assert.equal(configExitCode([]), 0)
    assert.equal(configExitCode([{ code: 'X', severity: 'fatal', message: '' }]), 4)
    assert.equal(configExitCode([{ code: 'X', severity: 'fatal', message: '' }, { code: 'Y', severity: 'warning', message: '' }]), 5)
    assert.equal(configExitCode([{ code: 'X', severity: 'error', message: '', exitClass: 6 }, { code: 'Y', severity: 'error', message: '' }]), 6)
    assert.equal(configExitCode([{ code: 'X', severity: 'warning', message: '', exitClass: 0 }, { code: 'Y', severity: 'info', message: '' }]), 0)
  })

  it('formats diagnostics as file:line:col: severity: message [code] (path)', () => {
    const r = parseText('vrrp_instance V {\n virtual_router_id 0\n}\n')
    assert.equal(formatConfigDiagnostic(r.diagnostics[0]), "/v/keepalived.conf:2:20: error: number '0' outside range [1, 255] [KAD_CFG_INVALID_NUMBER] (vrrp_instance/virtual_router_id)")
  })

  it('parseConfigText parses text without a file', () => {
    const tree = new KeywordTree()
    registerCoreKeywords(tree)
    const r = parseConfigText('global_defs {\n router_id t\n}\n', tree, { file: '/x/k.conf' })
    assert.equal(getCoreSection(r.model).routerId, 't')
    assert.deepEqual(r.model.files, ['/x/k.conf'])
  })

  it('gives handlers the raw line for keepalived-style script parsing', () => {
    const tree = testTree()
    let raw: string | undefined
    tree.forPlugin('s').root.keyword('notify_x', (k) => {
      raw = k.raw
    })
    parseText(`notify_x "/bin/n.sh 'a b'" root # c\n`, {}, tree)
    assert.equal(raw, `notify_x "/bin/n.sh 'a b'" root`)
  })
})
