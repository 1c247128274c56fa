import { strict as assert } from 'node:assert'
import { chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeDumpFile } from '../../core/src/supervisor/roles.js'

describe('core: dump files (keepalived.json holds the VRRP keys)', () => {
  it('are written mode 0600 and owned by kad, even over a wider file another user made first', function () {
    const dir = mkdtempSync(join(tmpdir(), 'kad-dump-'))
    try {
      const f = join(dir, 'keepalived.json')
      writeFileSync(f, 'old', { mode: 0o644 })
      if (process.getuid?.() === 0) chownSync(f, 65534, 65534)
      writeDumpFile(f, '[]\n')
      const st = statSync(f)
      assert.equal(st.mode & 0o777, 0o600)
      assert.equal(st.uid, process.getuid?.())
      assert.equal(readFileSync(f, 'utf8'), '[]\n')
      writeDumpFile(f, '[1]\n')
      assert.equal(readFileSync(f, 'utf8'), '[1]\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
