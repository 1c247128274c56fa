/**
 * The corpus of deliberately broken configurations (test/cases/config/broken/): every problem gives exactly one
 * diagnostic, with the right code, file and line, and the `-t` exit code is right. keepalived 2.2.7's own exit
 * code for the same file is recorded beside each case (it differs where kad is deliberately better: a missing
 * parameter does not abort with 2, include recursion is reported instead of running out of file descriptors).
 */
import { strict as assert } from 'node:assert'
import * as nodePath from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseConfig } from '../../core/src/config/index.js'
import { testTree } from './helpers.js'

const dir = nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), '../cases/config/broken')

interface Case {
  file: string
  /** 'CODE@file:line' for every problem, in order */
  expect: string[]
  exit: number
  keepalived: number
  opts?: { allConfig?: boolean }
}

const CASES: Case[] = [
  { file: 'unterminated-block.conf', expect: ['KAD_CFG_UNCLOSED_BLOCK@unterminated-block.conf:4'], exit: 5, keepalived: 5 },
  { file: 'unknown-keyword.conf', expect: ['KAD_CFG_UNKNOWN_KEYWORD@unknown-keyword.conf:4'], exit: 5, keepalived: 5 },
  { file: 'bad-number.conf', expect: ['KAD_CFG_INVALID_NUMBER@bad-number.conf:3', 'KAD_CFG_INVALID_NUMBER@bad-number.conf:4'], exit: 5, keepalived: 5 },
  { file: 'missing-include.conf', expect: ['KAD_CFG_INCLUDE_MISSING@missing-include.conf:2'], exit: 0, keepalived: 0 },
  { file: 'missing-include.conf', expect: ['KAD_CFG_INCLUDE_MISSING@missing-include.conf:2'], exit: 6, keepalived: 6, opts: { allConfig: true } },
  { file: 'missing-includea.conf', expect: ['KAD_CFG_INCLUDE_MISSING@missing-includea.conf:2'], exit: 6, keepalived: 6 },
  { file: 'bad-address.conf', expect: ['KAD_CFG_INVALID_ADDRESS@bad-address.conf:4', 'KAD_CFG_INVALID_PREFIX@bad-address.conf:5'], exit: 5, keepalived: 5 },
  { file: 'conditional-misuse.conf', expect: ['KAD_CFG_CONDITIONAL@conditional-misuse.conf:1', 'KAD_CFG_CONDITIONAL@conditional-misuse.conf:2'], exit: 5, keepalived: 0 },
  { file: 'definition-misuse.conf', expect: ['KAD_CFG_DEFINITION@definition-misuse.conf:1', 'KAD_CFG_DEFINITION@definition-misuse.conf:5'], exit: 5, keepalived: 5 },
  { file: 'include-recursion.conf', expect: ['KAD_CFG_INCLUDE_RECURSION@include-recursion-b.inc:2'], exit: 5, keepalived: 0 },
  { file: 'unterminated-quote.conf', expect: ['KAD_CFG_UNTERMINATED_QUOTE@unterminated-quote.conf:2'], exit: 5, keepalived: 5 },
  { file: 'seq-error.conf', expect: ['KAD_CFG_SEQ@seq-error.conf:4'], exit: 5, keepalived: 5 },
  { file: 'missing-brace.conf', expect: ['KAD_CFG_MISSING_BRACE@missing-brace.conf:1'], exit: 5, keepalived: 5 },
  { file: 'extra-brace.conf', expect: ['KAD_CFG_EXTRA_BRACE@extra-brace.conf:4'], exit: 5, keepalived: 5 },
  { file: 'missing-parameter.conf', expect: ['KAD_CFG_MISSING_PARAMETER@missing-parameter.conf:2'], exit: 5, keepalived: 2 },
  { file: 'error-in-include.conf', expect: ['KAD_CFG_INVALID_NUMBER@error-in-include-b.inc:3'], exit: 5, keepalived: 5 },
  {
    file: 'several-problems.conf',
    expect: [
      'KAD_CFG_UNKNOWN_KEYWORD@several-problems.conf:2',
      'KAD_CFG_INVALID_NUMBER@several-problems.conf:5',
      'KAD_CFG_MISSING_PARAMETER@several-problems.conf:6',
      'KAD_CFG_INVALID_ADDRESS@several-problems.conf:8',
      'KAD_CFG_EXTRA_BRACE@several-problems.conf:11',
    ],
    exit: 5,
    keepalived: 2,
  },
  { file: 'no-such-file.conf', expect: ['KAD_CFG_FILE_MISSING@-'], exit: 4, keepalived: 0 },
]

describe('config: corpus of broken configurations', () => {
  for (const c of CASES) {
    it(`${c.file}${c.opts?.allConfig ? ' with -e' : ''}: ${c.expect.length} diagnostic(s), exit ${c.exit} (keepalived ${c.keepalived})`, () => {
      const r = parseConfig({ file: nodePath.join(dir, c.file), configId: 'main', ...c.opts }, testTree())
      const got = r.diagnostics.map((d) => `${d.code}@${d.loc ? `${nodePath.basename(d.loc.file)}:${d.loc.line}` : '-'}`)
      assert.deepEqual(got, c.expect, r.diagnostics.map((d) => d.message).join('\n'))
      assert.equal(r.exitCode, c.exit)
      for (const d of r.diagnostics) {
        assert.ok(d.message.length > 0)
        if (d.code !== 'KAD_CFG_FILE_MISSING') assert.ok(d.loc && d.loc.line > 0, `${d.code} has a location`)
      }
    })
  }
})
