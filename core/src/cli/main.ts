import { Command, CommanderError, Option } from 'commander'
import { childProcess } from '../child-process.js'
import { writeFileSync, existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Host, importPlugins } from '../host.js'
import { discoverPlugins, pluginSearchPath } from '../plugin/discover.js'
import { defaultOptions, pidFilesFor, type DaemonOptions, type PidFileOptions } from '../options.js'
import { SIGFUNC_JSON, SIGFUNC_STATS_CLEAR } from '../supervisor/roles.js'
import { formatConfigDiagnostic as formatDiagnostic, getCoreSection } from '../config/index.js'
import { KAD_VERSION, KEEPALIVED_COMPAT } from '../version.js'
import { KadError } from '../errors.js'
import type { ConfigDiagnostic } from '../config/types.js'
import type { ClusterNode } from '../hooks/host-hooks.js'

/** keepalived's signal functions (x86-64 numbers, as `keepalived --signum` prints them) */
export const SIGFUNCS: Record<string, number> = { STOP: 15, RELOAD: 1, DATA: 10, STATS: 12, STATS_CLEAR: SIGFUNC_STATS_CLEAR, JSON: SIGFUNC_JSON }

const FACILITY_RE = /^([0-7]|local[0-7]|user|daemon)$/

function parseFacility(v: string): DaemonOptions['logFacility'] {
  if (!FACILITY_RE.test(v)) throw new KadError('KAD_ERR_USAGE', `invalid log facility '${v}': use 0-7, local0-7, user or daemon`)
  if (v === 'user' || v === 'daemon') return v
  return Number(v.replace('local', ''))
}

export interface CliIo {
  out: (s: string) => void
  err: (s: string) => void
}
const stdio: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }

function daemonProgram(io: CliIo): Command {
  const p = new Command('kad')
  p.description(`kad ${KAD_VERSION}: keepalived ${KEEPALIVED_COMPAT} rebuilt in TypeScript. Subcommands: plugins list, config check|dump, genhash, demo.`)
    .option('-f, --use-file <FILE>', 'use the specified configuration file', '/etc/keepalived/keepalived.conf')
    .option('-P, --vrrp', 'only run with VRRP subsystem')
    .option('-C, --check', 'only run with Health-checker subsystem')
    .option('-B, --no_bfd', "don't run BFD subsystem")
    .option('--all', 'force all child processes to run, even if they have no configuration')
    .option('-l, --log-console', 'log messages to local console')
    .option('-D, --log-detail', 'detailed log messages')
    .option('-S, --log-facility <FACILITY>', 'syslog facility: 0-7, local0-7, user or daemon (default)')
    .option('-G, --no-syslog', "don't log via syslog")
    .option('-g, --log-file [FILE]', 'also log to FILE (default /tmp/keepalived.log)')
    .option('--flush-log-file', 'flush the log file after every write')
    .option('-u, --umask <MASK>', 'umask for file creation (in numeric form)')
    .option('-X, --release-vips', 'drop VIP on transition from signal')
    .option('-V, --dont-release-vrrp', "don't remove VRRP VIPs and VROUTEs on daemon stop")
    .option('-I, --dont-release-ipvs', "don't remove IPVS topology on daemon stop")
    .option('-R, --dont-respawn', "don't respawn child processes")
    .option('-n, --dont-fork', "don't fork the daemon process")
    .option('-d, --dump-conf', 'dump the configuration data')
    .option('-p, --pid <FILE>', 'use specified pidfile for parent process')
    .option('-r, --vrrp_pid <FILE>', 'use specified pidfile for VRRP child process')
    .option('-c, --checkers_pid <FILE>', 'use specified pidfile for checkers child process')
    .option('-b, --bfd_pid <FILE>', 'use specified pidfile for BFD child process')
    .option('-a, --address-monitoring', 'report all address additions/deletions notified via netlink')
    .option('-x, --snmp', 'enable SNMP subsystem (not supported by kad: ignored with a warning)')
    .option('-A, --snmp-agent-socket <FILE>', 'use the specified socket for master agent (ignored)')
    .option('-s, --namespace <NAME>', 'run in network namespace NAME (overrides config)')
    .option('-m, --core-dump', 'produce core dump if terminate abnormally')
    .option('-M, --core-dump-pattern [PATN]', 'also set /proc/sys/kernel/core_pattern to PATN')
    .option('-e, --all-config', 'error if any configuration file missing')
    .option('-i, --config-id <ID>', "skip configuration lines beginning '@' that don't match id")
    .option('--signum <SIGFUNC>', 'return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON')
    .option('-t, --config-test [LOG_FILE]', 'check the configuration for obvious errors, output to stderr by default')
    .option('--ignore-sigint', 'do not terminate on SIGINT')
    .option('--strict', 'kad: treat configuration warnings as errors')
    .addOption(new Option('--plugin-path <DIRS>', 'kad: extra node_modules directories to search for plugins (colon-separated)'))
    .option('-v, --version', 'display the version number')
    .helpOption('-h, --help', 'display this help message')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError()
    .exitOverride()
    .allowExcessArguments(false)
  return p
}

export function optionsFrom(o: Record<string, any>): DaemonOptions {
  return defaultOptions({
    configFile: o.useFile,
    dontFork: !!o.dontFork,
    logConsole: !!o.logConsole,
    logDetail: !!o.logDetail,
    logFacility: o.logFacility ? parseFacility(o.logFacility) : 'daemon',
    logFile: o.logFile === true ? '/tmp/keepalived.log' : o.logFile,
    flushLogFile: !!o.flushLogFile,
    noSyslog: o.syslog === false,
    vrrpOnly: !!o.vrrp,
    checkOnly: !!o.check,
    noBfd: !!o.no_bfd,
    all: !!o.all,
    ...pidFlags(o),
    dontReleaseVrrp: !!o.dontReleaseVrrp,
    dontReleaseIpvs: !!o.dontReleaseIpvs,
    releaseVips: !!o.releaseVips,
    dontRespawn: !!o.dontRespawn,
    dumpConf: !!o.dumpConf,
    ...(o.configId ? { configId: o.configId } : {}),
    namespace: o.namespace,
    allConfig: !!o.allConfig,
    umask: o.umask !== undefined ? parseInt(o.umask, o.umask.startsWith('0') ? 8 : 10) : undefined,
    addressMonitoring: !!o.addressMonitoring,
    ignoreSigint: !!o.ignoreSigint,
    strict: !!o.strict,
    pluginPath: o.pluginPath ? String(o.pluginPath).split(':').filter(Boolean) : [],
  })
}

/** the pid files named by -p -r -c -b */
function pidFlags(o: Record<string, string | undefined>): Partial<PidFileOptions> {
  return {
    ...(o.pid ? { pidFile: o.pid } : {}),
    ...(o.vrrp_pid ? { vrrpPidFile: o.vrrp_pid } : {}),
    ...(o.checkers_pid ? { checkersPidFile: o.checkers_pid } : {}),
    ...(o.bfd_pid ? { bfdPidFile: o.bfd_pid } : {}),
  }
}

/**
 * Run kad again with `args` inside network namespace `ns` (`ip netns exec` setns()es and execs, so the child is
 * the daemon) and wait for it; the signals keepalived acts on are passed on, so a service manager that signals
 * this process reaches the daemon.
 */
async function runInNamespace(ns: string, args: string[], say: (msg: string) => void): Promise<number> {
  if (!existsSync(`/run/netns/${ns}`)) {
    // keepalived says the same and exits 0; kad exits 1 so that a service manager sees the failure
    say(`Failed to open /run/netns/${ns}: no such network namespace (create it with ip netns add ${ns}). Unable to set network namespace ${ns} - exiting`)
    return 1
  }
  const child = childProcess().spawn('ip', ['netns', 'exec', ns, process.execPath, process.argv[1], ...args], { stdio: 'inherit', env: { ...process.env, KAD_NETNS: ns } })
  const sigs = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const
  const pass = (sig: NodeJS.Signals) => () => child.kill(sig)
  const handlers = sigs.map((sig) => [sig, pass(sig)] as const)
  for (const [sig, h] of handlers) process.on(sig, h)
  const code = await new Promise<number>((r) => {
    child.on('error', (e) => r((process.stderr.write(`kad: cannot run in network namespace ${ns}: ${e.message}\n`), 1)))
    child.on('exit', (c, sig) => r(sig ? 1 : c ?? 1))
  })
  for (const [sig, h] of handlers) process.off(sig, h)
  return code
}

/** `kad -t`: every diagnostic once, as file:line: severity: message; keepalived's exit codes */
async function configTest(o: DaemonOptions, logFile: string | undefined, io: CliIo): Promise<number> {
  const host = await Host.create({ role: 'parent', options: o })
  const res = host.parse({ file: o.configFile })
  const text = res.diagnostics.map((d) => formatDiagnostic(d) + '\n').join('')
  if (logFile) writeFileSync(logFile, text)
  else io.err(text)
  return res.exitCode
}

async function pluginsCommand(args: string[], io: CliIo): Promise<number> {
  const p = new Command('kad plugins').exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err })
  p.command('list')
    .description('show every built-in and installed plugin')
    .option('--json', 'machine-readable output')
    .option('--plugin-path <DIRS>', 'extra node_modules directories (colon-separated)')
    .action(async (o: { json?: boolean; pluginPath?: string }) => {
      const found = discoverPlugins(pluginSearchPath(o.pluginPath ? o.pluginPath.split(':') : []))
      const host = await Host.create({ role: 'parent', plugins: await importPlugins(found) })
      const rows = host.plugins.map((l) => {
        const d = found.find((f) => f.packageName === l.packageName)
        return { name: l.meta.name, version: l.meta.version, package: l.packageName, source: l.source, roles: l.meta.roles, keywords: l.keywords, description: l.meta.description ?? d?.description }
      })
      if (o.json) io.out(JSON.stringify(rows, null, 2) + '\n')
      else {
        for (const r of rows) {
          io.out(`${r.name}@${r.version}  ${r.source === 'built-in' ? 'built-in' : r.source}  roles: ${r.roles.join(',')}\n`)
          io.out(`  keywords: ${r.keywords.join(' ') || '(none)'}\n`)
        }
      }
    })
  await p.parseAsync(args, { from: 'user' })
  return 0
}

async function configCommand(args: string[], io: CliIo): Promise<number> {
  const p = new Command('kad config').exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err })
  let code = 0
  const common = (c: Command) =>
    c
      .option('-f, --use-file <FILE>', 'configuration file', '/etc/keepalived/keepalived.conf')
      .option('-i, --config-id <ID>', 'config id for @ID lines')
      .option('--strict', 'warnings are errors')
      .option('--json', 'machine-readable output')
      .option('--plugin-path <DIRS>', 'extra node_modules directories')
  const run = async (o: Record<string, any>, dump: boolean) => {
    const opts = optionsFrom(o)
    const host = await Host.create({ role: 'parent', options: opts })
    const res = host.parse({ file: opts.configFile })
    if (dump) {
      io.out(o.json ? JSON.stringify(res.model, null, 2) + '\n' : JSON.stringify(res.model.sections, null, 2) + '\n')
      if (res.diagnostics.length) io.err(res.diagnostics.map((d) => formatDiagnostic(d) + '\n').join(''))
    } else if (o.json) io.out(JSON.stringify({ exitCode: res.exitCode, diagnostics: res.diagnostics }, null, 2) + '\n')
    else io.err(res.diagnostics.map((d) => formatDiagnostic(d) + '\n').join(''))
    code = res.exitCode
  }
  common(p.command('check').description('validate a configuration (like -t)')).action((o) => run(o, false))
  common(p.command('dump').description('print the parsed, validated model')).action((o) => run(o, true))
  p.command('cluster')
    .description("check the configurations of the nodes of one cluster together (each node's file first, then what the plugins compare: VRIDs, VIPs, adverts, priorities, peers) and predict failover times")
    .argument('<FILES...>', "each node's keepalived.conf; ID=FILE parses FILE with config id ID (@ID lines), for a file shared by the nodes")
    .option('-i, --config-id <ID>', 'config id for @ID lines')
    .option('--strict', 'warnings are errors')
    .option('--json', 'machine-readable output')
    .option('--plugin-path <DIRS>', 'extra node_modules directories')
    .action(async (files: string[], o: Record<string, any>) => {
      code = await clusterCheck(files, optionsFrom(o), o.json === true, io)
    })
  await p.parseAsync(args, { from: 'user' })
  return code
}

/**
 * `kad config cluster FILE...`: each file parsed and validated as `kad -t` does; if none has errors, the plugins
 * compare them (hooks.clusterCheck). Exit 1 when anything is an error (or, with --strict, a warning).
 */
async function clusterCheck(files: string[], opts: DaemonOptions, json: boolean, io: CliIo): Promise<number> {
  const host = await Host.create({ role: 'parent', options: opts })
  const all: ConfigDiagnostic[] = []
  const nodes: ClusterNode[] = []
  for (const arg of files) {
    // ID=FILE: one configuration shared by the nodes, told apart by @ID lines
    const m = /^([^/=]+)=(.+)$/.exec(arg)
    const [file, configId] = m && !existsSync(arg) ? [m[2], m[1]] : [arg, undefined]
    const res = host.parse({ file, forThisHost: false, ...(configId !== undefined ? { configId } : {}) })
    all.push(...res.diagnostics)
    nodes.push({ file: configId !== undefined ? `${file}@${configId}` : file, model: res.model })
  }
  const alone = all.some((d) => d.severity === 'error' || d.severity === 'fatal')
  if (!alone) {
    if (files.length < 2) all.push({ code: 'KAD_CLUSTER_ONE_NODE', severity: 'warning', message: 'one configuration: nothing to compare it with' })
    await host.hooks.clusterCheck.promise(nodes, { report: (d) => all.push(d) })
  }
  const failed = all.some((d) => d.severity === 'error' || d.severity === 'fatal' || (opts.strict && d.severity === 'warning'))
  if (json) io.out(JSON.stringify({ exitCode: failed ? 1 : 0, diagnostics: all }, null, 2) + '\n')
  else io.err(all.map((d) => formatDiagnostic(d) + '\n').join(''))
  return failed ? 1 : 0
}

async function genhashCommand(args: string[], io: CliIo): Promise<number> {
  try {
    // genhash belongs to the HTTP checker plugin: found like any plugin, through kad's node_modules
    const found = discoverPlugins(pluginSearchPath()).find((p) => p.packageName === '@kad/plugin-checker-http')
    if (!found) throw new Error('not installed')
    const mod = (await import(pathToFileURL(found.main).href)) as { runGenhash?: (a: string[]) => Promise<number> }
    if (mod.runGenhash) return await mod.runGenhash(args)
  } catch {
    /* fall through */
  }
  io.err('genhash: the checker-http plugin is not installed\n')
  return 1
}

/** the daemon: keepalived's flags */
async function daemon(args: string[], io: CliIo): Promise<number> {
  const p = daemonProgram(io)
  try {
    p.parse(args, { from: 'user' })
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1
    throw e
  }
  const o = p.opts()
  if (o.version) {
    io.err(`kad v${KAD_VERSION} (keepalived ${KEEPALIVED_COMPAT} compatible)\n`)
    return 0
  }
  if (o.signum !== undefined) {
    const n = SIGFUNCS[String(o.signum).toUpperCase()]
    if (n === undefined) {
      io.err(`Unknown sigfunc ${o.signum}\n`)
      return 1
    }
    io.out(`${n}\n`)
    return 0
  }
  let opts: DaemonOptions
  try {
    opts = optionsFrom(o)
  } catch (e) {
    io.err(`${(e as Error).message}\n`)
    p.outputHelp({ error: true })
    return 1
  }
  if (o.configTest !== undefined) return configTest(opts, typeof o.configTest === 'string' ? o.configTest : undefined, io)
  if (opts.umask !== undefined) process.umask(opts.umask)
  if (o.snmp) io.err('kad: SNMP is not supported; -x ignored\n')

  if (opts.namespace && process.env.KAD_NETNS !== opts.namespace) {
    // -s NAME: run the whole daemon inside the network namespace, as keepalived does
    const args2 = args.filter((a, i) => !(a === '-s' || a === '--namespace' || a.startsWith('--namespace=') || (i > 0 && (args[i - 1] === '-s' || args[i - 1] === '--namespace'))))
    return await runInNamespace(opts.namespace, args2, (m) => io.err(`kad: ${m}\n`))
  }
  if (!opts.dontFork) {
    // keepalived forks into the background; Node cannot fork, so start ourselves detached with -n and exit
    const child = childProcess().spawn(process.execPath, [process.argv[1], ...args, '--dont-fork'], { detached: true, stdio: 'ignore' })
    child.unref()
    return 0
  }

  // the daemon's own modules: -t, `kad config` and `kad plugins` never load them
  const [{ createLogger }, { Supervisor }, { syslogSender }] = await Promise.all([import('../logger.js'), import('../supervisor/supervisor.js'), import('../supervisor/syslog.js')])
  const log = createLogger({ role: 'parent', console: opts.logConsole, detail: opts.logDetail, facility: opts.logFacility, noSyslog: opts.noSyslog, file: opts.logFile, syslogSend: await syslogSender() })
  process.title = 'kad'
  if (!existsSync(resolve(opts.configFile))) log.error(`Config files missing '${opts.configFile}'.`)
  const host = await Host.create({ role: 'parent', options: opts, log })
  const sup = new Supervisor(host, opts)
  const model = sup.load()
  if (!model) {
    log.error('configuration has errors that stop kad from running; exiting')
    return 1
  }
  const ns = getCoreSection(model).netNamespace
  if (ns !== undefined && process.env.KAD_NETNS === undefined) {
    // net_namespace NAME in the config: as -s NAME (keepalived reads it before it starts anything)
    return await runInNamespace(ns, opts.dontFork ? args : [...args, '--dont-fork'], (m) => log.error(`${m} (net_namespace, ${opts.configFile})`))
  }
  // the pid files keepalived would use for this namespace / instance / use_pid_dir, unless flags named them
  const core = getCoreSection(model)
  Object.assign(opts, pidFilesFor({ namespace: process.env.KAD_NETNS, instance: core.instance, usePidDir: core.usePidDir }), pidFlags(o))
  if (ns !== undefined && ns !== process.env.KAD_NETNS) log.warn(`net_namespace ${ns} ignored: already running in network namespace ${process.env.KAD_NETNS} (-s)`)
  if (opts.dumpConf) log.info(`configuration: ${JSON.stringify(model.sections)}`)
  log.info(`kad ${KAD_VERSION} starting (keepalived ${KEEPALIVED_COMPAT} compatible)`)
  await sup.start(model)
  return sup.done
}

/** the `kad` command; returns the exit code */
export async function main(argv: string[] = process.argv.slice(2), io: CliIo = stdio): Promise<number> {
  try {
    const [first, ...rest] = argv
    if (first === 'plugins') return await pluginsCommand(rest, io)
    if (first === 'config') return await configCommand(rest, io)
    if (first === 'genhash' || first === '-T' || first === '--genhash') return await genhashCommand(rest, io)
    if (first === 'demo') {
      const demo = (await import(resolve(new URL('../../../examples/demo/index.js', import.meta.url).pathname)).catch(() => undefined)) as { runDemo?: (a: string[]) => Promise<number> } | undefined
      if (demo?.runDemo) return await demo.runDemo(rest)
      io.err('kad demo: the demo is not available in this installation\n')
      return 1
    }
    return await daemon(argv, io)
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode
    if (e instanceof KadError) {
      io.err(`kad: ${e.code}: ${e.message}\n`)
      return 1
    }
    io.err(`kad: ${(e as Error).stack ?? String(e)}\n`)
    return 70
  }
}
