import { strict as assert } from 'node:assert'
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { validateScripts } from '../../core/src/script-security.js'
import type { ConfigDiagnostic, ConfigModel } from '../../core/src/config/types.js'

const model = (enable: boolean): ConfigModel => ({ sections: { core: { enableScriptSecurity: enable } }, files: [], configId: 't' })

describe('core/script-security: configuration-time checks', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync('/tmp/kad-ss-')
    chmodSync(dir, 0o755)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('without enable_script_security any script is a SECURITY VIOLATION of exit class 6', () => {
    const out: ConfigDiagnostic[] = []
    validateScripts(model(false), { report: (d) => out.push(d) }, [{ command: '/bin/true' }])
    assert.equal(out.length, 1)
    assert.equal(out[0].exitClass, 6)
    assert.match(out[0].message, /SECURITY VIOLATION/)
  })

  it('with it, a script in a world-writable directory is reported naming that directory', function () {
    if (process.getuid?.() !== 0) this.skip() // ownership checks assume root-owned paths; CI runs as root
    const bad = join(dir, 'open')
    mkdirSync(bad)
    chmodSync(bad, 0o777)
    writeFileSync(join(bad, 's.sh'), '#!/bin/sh\n')
    chmodSync(join(bad, 's.sh'), 0o755)
    writeFileSync(join(dir, 'ok.sh'), '#!/bin/sh\n')
    chmodSync(join(dir, 'ok.sh'), 0o755)
    const out: ConfigDiagnostic[] = []
    validateScripts(model(true), { report: (d) => out.push(d) }, [
      { command: `${join(bad, 's.sh')} arg`, user: 'root', what: 'notify_master of VI_1' },
      { command: join(dir, 'ok.sh'), user: 'root' },
    ])
    assert.equal(out.length, 1, JSON.stringify(out))
    assert.match(out[0].message, new RegExp(`notify_master of VI_1: script .*s\\.sh is not safe to run \\(${bad}: writable by group or others\\)`))
  })
})
