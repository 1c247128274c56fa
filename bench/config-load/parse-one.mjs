/**
 * Child process of the config-load bench: what `kad -t -f FILE` does, in-process, with the built kad (core/dist,
 * the code bin/kad.js runs) and no TypeScript loader: create the parent Host with every discovered plugin (plugin
 * import + register = start-up), then time `host.parse()` — preprocess, keyword-tree walk, schema validation
 * (and whatever it compiles or loads on first use), deep freeze and the plugins' validateConfig checks. Prints one
 * JSON line. One process per run so that `cold` is the first parse of a process (JIT warm-up included) and peak
 * memory is per size.
 */
import { performance } from 'node:perf_hooks'
import * as nodePath from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '../..')
const file = process.argv[2]
const { Host } = await import(pathToFileURL(nodePath.join(root, 'core/dist/host.js')).href)
const { defaultOptions } = await import(pathToFileURL(nodePath.join(root, 'core/dist/options.js')).href)

const options = { ...defaultOptions(), configFile: file, configId: 'bench' }
const host = await Host.create({ role: 'parent', options })
const startupSeconds = performance.now() / 1000
const cpu0 = process.cpuUsage()
const t0 = performance.now()
const r = host.parse({ file })
const seconds = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
const peakRssMb = process.resourceUsage().maxRSS / 1024
// warm: the same parse again (what a SIGHUP reload in a running kad pays); best of two
let warm = Infinity
for (let i = 0; i < 2; i++) {
  const t1 = performance.now()
  host.parse({ file })
  warm = Math.min(warm, (performance.now() - t1) / 1000)
}
process.stdout.write(
  JSON.stringify({
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    warmSeconds: warm,
    startupSeconds,
    plugins: host.plugins.length,
    exitCode: r.exitCode,
    diagnostics: r.diagnostics.length,
    unknown: r.diagnostics.filter((d) => d.code === 'KAD_CFG_UNKNOWN_KEYWORD').length,
    firstDiagnostic: r.diagnostics[0]?.message,
    peakRssMb,
  }) + '\n',
)
