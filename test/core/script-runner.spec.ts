import { strict as assert } from 'node:assert'
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ScriptRunner, splitCommand } from '../../core/src/script-runner.js'
import { createNullLogger } from '../../core/src/logger.js'

describe('core/script-runner', () => {
  let dir: string
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kad-sr-'))))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('splits keepalived script strings: quotes group, backslash escapes', () => {
    assert.deepEqual(splitCommand(`/bin/x a "b c" 'd e' f\\ g`), ['/bin/x', 'a', 'b c', 'd e', 'f g'])
  })

  it('runs a script with extra args and reports its exit code', async () => {
    const r = new ScriptRunner({ log: createNullLogger() })
    const res = await r.run({ command: `/bin/sh -c 'exit 3'` })
    assert.equal(res.code, 3)
    const out = await r.run({ command: '/bin/echo hello', extraArgs: ['INSTANCE', 'VI_1', 'MASTER', '100'], captureOutput: true })
    assert.equal(out.stdout, 'hello INSTANCE VI_1 MASTER 100\n')
  })

  it('a timeout kills the whole process group, grandchildren included', async function () {
    this.timeout(5000)
    const pidFile = join(dir, 'grandchild.pid')
    const script = join(dir, 'hang.sh')
    writeFileSync(script, `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nwait\n`)
    chmodSync(script, 0o755)
    const r = new ScriptRunner({ log: createNullLogger() })
    const res = await r.run({ command: script, timeoutMs: 200 })
    assert.equal(res.timedOut, true)
    const gc = Number(readFileSync(pidFile, 'utf8'))
    await new Promise((ok) => setTimeout(ok, 100))
    // gone, or a zombie waiting for init to reap it (the sandbox's pid 1 may not reap)
    let state = 'gone'
    try {
      state = readFileSync(`/proc/${gc}/stat`, 'utf8').split(') ')[1][0]
    } catch {
      /* gone */
    }
    assert.ok(state === 'gone' || state === 'Z', `grandchild state ${state}`)
  })

  it('runs as script_user when root, and refuses an unknown user', async function () {
    if (process.getuid?.() !== 0) this.skip() // needs root to switch users; CI runs as root
    const r = new ScriptRunner({ log: createNullLogger() })
    const res = await r.run({ command: '/usr/bin/id -u', user: 'nobody', captureOutput: true })
    assert.equal(res.stdout?.trim(), '65534')
    await assert.rejects(r.run({ command: '/bin/true', user: 'no-such-user-kad' }), /script user no-such-user-kad does not exist/)
  })
})
