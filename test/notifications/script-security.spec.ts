import { strict as assert } from 'node:assert'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ScriptRunner, checkScriptSecurity, isKadError } from '@kad/core'
import fifoPlugin from '../../plugins/notifier-fifo/src/index.js'
import { makeHost, makeLog, waitFor } from './harness.js'

/**
 * enable_script_security as keepalived: a script that runs as root must not be modifiable by anyone else, and
 * the refusal names the path component that is unsafe.
 */
describe('script security (enable_script_security) for notify scripts', () => {
  const isRoot = process.getuid?.() === 0
  let dir: string

  const script = (path: string, mode = 0o755, body = '#!/bin/sh\necho ran\n') => {
    writeFileSync(path, body)
    chmodSync(path, mode)
    return path
  }

  beforeEach(() => {
    // under /tmp (sticky, root-owned): the temp dir itself is 0700 and ours
    dir = mkdtempSync(join(tmpdir(), 'kad-sec-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('accepts a script whose every path component is safe, and runs it', async () => {
    const s = script(join(dir, 'ok.sh'))
    assert.deepEqual(checkScriptSecurity(s, process.getuid!()), { ok: true })
    const runner = new ScriptRunner({ log: makeLog() })
    runner.configure({ security: true, defaultUser: 'root' })
    const r = await runner.run({ command: s, captureOutput: true, timeoutMs: 5000 })
    assert.equal(r.code, 0)
    assert.equal(r.stdout, 'ran\n')
  })

  it('refuses a script writable by others, naming the script', async () => {
    const s = script(join(dir, 'open.sh'), 0o757)
    const v = checkScriptSecurity(s, process.getuid!())
    assert.deepEqual(v, { ok: false, path: s, reason: 'writable by group or others' })
    const runner = new ScriptRunner({ log: makeLog() })
    runner.configure({ security: true, defaultUser: 'root' })
    await assert.rejects(runner.run({ command: `${s} arg1` }), (e: unknown) => isKadError(e, 'KAD_ERR_SCRIPT_INSECURE') && (e as Error).message.includes(`${s}: writable by group or others`))
  })

  it('refuses a script in a world-writable directory without the sticky bit, naming the directory', () => {
    const d = join(dir, 'shared')
    mkdirSync(d)
    chmodSync(d, 0o777)
    const s = script(join(d, 'n.sh'))
    assert.deepEqual(checkScriptSecurity(s, process.getuid!()), { ok: false, path: d, reason: 'writable by group or others' })
    // with the sticky bit (like /tmp) the directory is acceptable
    chmodSync(d, 0o1777)
    assert.deepEqual(checkScriptSecurity(s, process.getuid!()), { ok: true })
  })

  it('refuses a script or a directory owned by another user, naming it (root: chown)', function () {
    if (!isRoot) this.skip() // chown to another user needs root; CI runs as root
    const s = script(join(dir, 'theirs.sh'))
    chownSync(s, 65534, 65534)
    assert.deepEqual(checkScriptSecurity(s, 0), { ok: false, path: s, reason: 'owned by uid 65534, not root' })
    const d = join(dir, 'theirdir')
    mkdirSync(d, 0o755)
    chownSync(d, 65534, 65534)
    const s2 = script(join(d, 'mine.sh'))
    assert.deepEqual(checkScriptSecurity(s2, 0), { ok: false, path: d, reason: 'owned by uid 65534, not root' })
  })

  it('refuses a relative path, a missing script and a non-executable one', () => {
    assert.equal(checkScriptSecurity('rel.sh', 0).ok, false)
    assert.deepEqual(checkScriptSecurity(join(dir, 'nope.sh'), 0), { ok: false, path: join(dir, 'nope.sh'), reason: 'script does not exist' })
    const s = script(join(dir, 'noexec.sh'), 0o644)
    assert.deepEqual(checkScriptSecurity(s, process.getuid!()), { ok: false, path: s, reason: 'not executable' })
  })

  it('a notify_fifo_script that is not safe is refused with a log line naming the unsafe component; the FIFO still works', async () => {
    const d = join(dir, 'shared')
    mkdirSync(d)
    chmodSync(d, 0o777)
    const s = script(join(d, 'reader.sh'))
    const fifo = join(dir, 'n.fifo')
    const host = await makeHost([fifoPlugin], 'vrrp')
    host.scriptRunner.configure({ security: true, defaultUser: 'root' })
    host.load(`global_defs {\n  notify_fifo ${fifo}\n  notify_fifo_script ${s}\n}\n`)
    await host.start()
    await waitFor(() => host.log.lines.some((l) => l.level === 'error' && /refused/.test(l.msg)), 2000, 10, 'refusal')
    const line = host.log.lines.find((l) => /refused/.test(l.msg))!
    assert.ok(line.msg.includes(`${d}: writable by group or others`), line.msg)
    host.notifications.publish({ source: 'vrrp', kind: 'vrrp-instance', name: 'VI_1', to: 'MASTER', priority: 100, time: Date.now() })
    await host.notifications.drain()
    let written = -1
    host.hooks.dumpJson.call({ section: () => {}, json: (k, v) => void (k === 'notify_fifos' && (written = (v as { written: number }[])[0].written)) })
    assert.equal(written, 1)
    await host.stop()
  })
})
