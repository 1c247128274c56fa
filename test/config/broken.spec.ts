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
import { CASES } from './broken-cases.js'

const dir = nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), '../cases/config/broken')

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
