// The Debian samples through core's real config parser (KeywordTree + parseConfigText, ajv schemas applied) as the
// parent registers the plugins (inactive): no diagnostic in a checker path beyond the samples' known quirks, and
// the same checkers and track_file sections as in the checker process (the test host registers them active).
import { strict as assert } from 'node:assert'
import { readFileSync, readdirSync } from 'node:fs'
import { createHostHooks, KeywordTree, parseConfigText, registerCoreKeywords } from '@kad/core'
import { checkersSection } from '@kad/plugin-checkers'
import { ALL_CHECKER_PLUGINS } from './helpers/all-plugins.js'
import { createHost, silentLog, type TestHost } from './helpers/host.js'

const DIR = '/usr/share/doc/keepalived/samples'
const CHECKER_PATH = /^(virtual_server|virtual_server_group|SSL|track_file|vrrp_track_file)/
const ALLOWED = [/no port specified and not persistent/, /Address family/, /no protocol set/, /no scheduler set/, /no forwarding method set/, /protocol specified for fwmark/, /has no url/, /deprecated/i]

describe('checker keywords through core config parser', () => {
  let tree: KeywordTree
  let checkProcess: TestHost
  const noLoc = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v) => (k === 'loc' ? undefined : v)))
  before(async () => {
    checkProcess = await createHost(ALL_CHECKER_PLUGINS)
    tree = new KeywordTree()
    registerCoreKeywords(tree)
    const hooks = createHostHooks()
    for (const p of ALL_CHECKER_PLUGINS) {
      await p.register({ meta: p.meta, options: p.parseOptions ? p.parseOptions({}) : {}, role: 'check', active: false, hooks, keywords: tree.forPlugin(p.meta.name), container: { cradle: {} }, log: silentLog, provide: () => undefined } as never)
    }
  })
  const files = readdirSync(DIR).filter((f) => f.startsWith('keepalived.conf') && readFileSync(`${DIR}/${f}`, 'utf8').includes('virtual_server'))
  for (const f of files) {
    it(f, () => {
      const r = parseConfigText(readFileSync(`${DIR}/${f}`, 'utf8'), tree, { file: `${DIR}/${f}` })
      const s = checkersSection(r.model)
      assert.ok(s.virtualServers.length > 0)
      const mine = r.diagnostics.filter((d) => CHECKER_PATH.test(d.keywordPath ?? '') || /checkers|track_file/.test(d.message))
      for (const d of mine) assert.ok(ALLOWED.some((a) => a.test(d.message)), `${f}:${d.loc?.line} ${d.code} ${d.message}`)
      // the same model as the checker process parses (loc aside)
      assert.deepEqual(noLoc(s), noLoc(checkersSection(checkProcess.parse(readFileSync(`${DIR}/${f}`, 'utf8')).model)))
    })
  }
})
