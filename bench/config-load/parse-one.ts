/**
 * Child process of the config-load bench: parse one file with the real plugins' keywords (checkers +
 * checker-tcp) when they load, else the bench's minimal LVS keyword set, and print one JSON line with the
 * parse time and memory. One process per size so that peak memory is per size.
 */
import { performance } from 'node:perf_hooks'
import { KeywordTree, registerCoreKeywords, parseConfig } from '../../core/src/config/index.js'
import { builtinTree } from './plugin-tree.js'
import { registerMiniLvs } from './lvs-keywords.js'

const file = process.argv[2]
let tree: KeywordTree
let keywords = 'plugins'
const bt = await builtinTree(['checkers', 'checker-tcp'])
if (bt.loaded.includes('checkers') && bt.loaded.includes('checker-tcp')) tree = bt.tree
else {
  keywords = 'mini'
  tree = new KeywordTree()
  registerCoreKeywords(tree)
  registerMiniLvs(tree.forPlugin('minilvs'))
}
// schema compilation is start-up work (like registering keywords), not parsing: do it before the clock starts
tree.compileSchemas()
if (typeof global.gc === 'function') global.gc()
const before = process.memoryUsage()
const rssBefore = process.resourceUsage().maxRSS
const cpu0 = process.cpuUsage()
const t0 = performance.now()
const r = parseConfig({ file, configId: 'bench' }, tree)
const seconds = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
const cpuSeconds = (cpu.user + cpu.system) / 1e6
const after = process.memoryUsage()
const peakRssMb = process.resourceUsage().maxRSS / 1024
// warm: the same parse again (a reload in a running kad); best of two
let warm = Infinity
for (let i = 0; i < 2; i++) {
  const t1 = performance.now()
  parseConfig({ file, configId: 'bench' }, tree)
  warm = Math.min(warm, (performance.now() - t1) / 1000)
}
const unknown = r.diagnostics.filter((d) => d.code === 'KAD_CFG_UNKNOWN_KEYWORD').length
process.stdout.write(
  JSON.stringify({
    seconds,
    cpuSeconds,
    warmSeconds: warm,
    keywords,
    exitCode: r.exitCode,
    diagnostics: r.diagnostics.length,
    unknown,
    firstDiagnostic: r.diagnostics[0]?.message,
    peakRssMb,
    rssBeforeMb: rssBefore / 1024,
    heapDeltaMb: (after.heapUsed - before.heapUsed) / 1048576,
  }) + '\n',
)
