/**
 * The keepalived exit codes recorded beside the broken-config corpus (broken.spec.ts) are checked against the
 * installed keepalived 2.2.7 (`keepalived -t -i main -f FILE`), so the table stays true.
 */
import { strict as assert } from 'node:assert'
import { spawn, spawnSync } from 'node:child_process'
import * as nodePath from 'node:path'
import { fileURLToPath } from 'node:url'
import { CASES } from './broken-cases.js'

const dir = nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), '../cases/config/broken')
const haveKeepalived = spawnSync('keepalived', ['--version']).status !== null

function keepalivedT(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const c = spawn('keepalived', args, { cwd: dir, stdio: 'ignore' })
    const t = setTimeout(() => c.kill('SIGKILL'), 30_000)
    c.on('close', (code) => {
      clearTimeout(t)
      resolve(code)
    })
  })
}

describe('config: keepalived -t on the broken corpus matches the recorded exit codes', function () {
  this.timeout(60_000)
  before(function () {
    if (!haveKeepalived) this.skip() // needs Debian's keepalived 2.2.7 as the reference; installed by scripts/install-deps.sh
  })
  for (const c of CASES) {
    it(`${c.file}${c.opts?.allConfig ? ' -e' : ''}: keepalived exits ${c.keepalived}`, async () => {
      const args = ['-t', '-i', 'main', ...(c.opts?.allConfig ? ['-e'] : []), '-f', c.file]
      assert.equal(await keepalivedT(args), c.keepalived)
    })
  }
})
