/**
 * How the tests start kad: `node bin/kad.js` — unless another workspace's plugin currently fails to load (the
 * plugins are built in parallel by other people), in which case an isolated runtime is used: a temporary
 * node_modules holding only @kad/core, @kad/native and the plugins the VRRP tests need, run with
 * --preserve-symlinks so that plugin discovery sees only those. Set KAD_TEST_ISOLATED=0/1 to force either.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const PLUGINS = ['plugin-vrrp', 'plugin-notifier-fifo', 'plugin-checkers', 'plugin-checker-file', 'plugin-bfd']
const RT = '/tmp/kad-vrrp-test-runtime'

function buildIsolated(root: string): string {
  const nm = join(RT, 'node_modules')
  if (!existsSync(join(RT, 'bin/kad.js'))) {
    mkdirSync(join(nm, '@kad'), { recursive: true })
    mkdirSync(join(RT, 'bin'), { recursive: true })
    for (const e of readdirSync(join(root, 'node_modules'))) {
      if (e === '@kad' || e === '.bin') continue
      try { symlinkSync(join(root, 'node_modules', e), join(nm, e)) } catch { /* exists */ }
    }
    for (const e of ['core', 'native', ...PLUGINS]) {
      try { symlinkSync(join(root, 'node_modules/@kad', e), join(nm, '@kad', e)) } catch { /* exists */ }
    }
    writeFileSync(join(RT, 'bin/kad.js'), "import { main } from '../node_modules/@kad/core/dist/cli/main.js'\nprocess.exitCode = await main(process.argv.slice(2))\n")
  }
  return join(RT, 'bin/kad.js')
}

let cached: string[] | undefined

/** argv prefix (after process.execPath) that runs kad; `forceIsolated` after a plugin failed to load */
export function kadCommand(root: string, forceIsolated = false): string[] {
  if (forceIsolated) return ['--preserve-symlinks', '--preserve-symlinks-main', buildIsolated(root)]
  if (cached) return cached
  const bin = join(root, 'bin/kad.js')
  let isolated = process.env.KAD_TEST_ISOLATED === '1'
  if (process.env.KAD_TEST_ISOLATED === undefined) {
    const probe = join(RT + '-probe.conf')
    writeFileSync(probe, '')
    try {
      execFileSync(process.execPath, [bin, '-t', '-f', probe], { stdio: 'pipe' })
    } catch (e) {
      const err = String((e as { stderr?: Buffer }).stderr ?? '')
      if (err.includes('KAD_ERR_PLUGIN_LOAD')) {
        isolated = true
        console.warn(`[vrrp tests] bin/kad.js cannot load every plugin now (${err.trim().split('\n')[0]}); using an isolated runtime`)
      }
    }
  }
  cached = isolated ? ['--preserve-symlinks', '--preserve-symlinks-main', buildIsolated(root)] : [bin]
  return cached
}
