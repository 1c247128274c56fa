import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = new URL('../..', import.meta.url).pathname
const KAD = join(ROOT, 'bin/kad.js')

function kad(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  try {
    const out = execFileSync(process.execPath, [KAD, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    return { code: 0, out, err: '' }
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string }
    return { code: x.status, out: x.stdout, err: x.stderr }
  }
}

describe('third-party plugins (examples/kad-plugin-webhook installed into a temporary node_modules)', function () {
  this.timeout(60000)
  let dir: string
  let nm: string

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kad-tp-'))
    // install the example the way a user would: npm pack + npm install of the tarball (no registry needed)
    execFileSync('npm', ['pack', join(ROOT, 'examples/kad-plugin-webhook'), '--pack-destination', dir, '--silent'], { stdio: 'ignore' })
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!
    writeFileSync(join(dir, 'package.json'), '{"name":"site","private":true}')
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--legacy-peer-deps', '--offline', join(dir, tgz)], { cwd: dir, stdio: 'ignore' })
    nm = join(dir, 'node_modules')
    // its peer dependency: this kad
    mkdirSync(join(nm, '@kad'), { recursive: true })
    symlinkSync(join(ROOT, 'core'), join(nm, '@kad/core'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('kad plugins list shows it beside the built-ins, with its node_modules path, roles and keywords', () => {
    const r = kad(['plugins', 'list', '--json', '--plugin-path', nm])
    assert.equal(r.code, 0, r.err)
    const rows = JSON.parse(r.out) as Array<{ name: string; source: string; roles: string[]; keywords: string[]; package: string }>
    const wh = rows.find((x) => x.package === 'kad-plugin-webhook')
    assert.ok(wh, 'webhook plugin listed')
    assert.equal(wh.source, nm)
    assert.deepEqual(wh.roles, ['vrrp', 'check', 'bfd'])
    assert.ok(wh.keywords.some((k) => k.includes('webhook_url')), wh.keywords.join(' '))
    assert.ok(rows.some((x) => x.source === 'built-in' && x.name === 'vrrp'))
    const text = kad(['plugins', 'list'], { KAD_PLUGIN_PATH: nm })
    assert.match(text.out, new RegExp(`webhook@0\\.1\\.0 +${nm.replace(/[/.]/g, '\\$&')}`))
  })

  it('a config can use its keyword (kad -t is clean with it, warns without it)', () => {
    const conf = join(dir, 'keepalived.conf')
    writeFileSync(conf, 'global_defs {\n  router_id tp\n  webhook_url http://127.0.0.1:9/hook\n}\n')
    const withIt = kad(['-t', '-f', conf, '--plugin-path', nm])
    assert.equal(withIt.code, 0, withIt.err)
    const without = kad(['-t', '-f', conf])
    assert.equal(without.code, 5)
    assert.match(without.err, /keepalived\.conf:3:\d+: warning: Unknown keyword 'webhook_url'/)
  })
})
