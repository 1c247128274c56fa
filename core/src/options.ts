import { hostname } from 'node:os'

/** The daemon's command-line options (keepalived 2.2.7's flags), as the CLI parsed them. Plain JSON. */
export interface DaemonOptions {
  /** -f */
  configFile: string
  /** -n */
  dontFork: boolean
  /** -l */
  logConsole: boolean
  /** -D */
  logDetail: boolean
  /** -S 0..7 (local0..7) or 'daemon' / 'user' */
  logFacility: number | 'daemon' | 'user'
  /** -g[FILE] */
  logFile?: string
  flushLogFile: boolean
  /** -G */
  noSyslog: boolean
  /** -P only vrrp, -C only checker, -B no bfd, --all every child */
  vrrpOnly: boolean
  checkOnly: boolean
  noBfd: boolean
  all: boolean
  /** -p -r -c -b */
  pidFile: string
  vrrpPidFile: string
  checkersPidFile: string
  bfdPidFile: string
  /** -V -I -X -R */
  dontReleaseVrrp: boolean
  dontReleaseIpvs: boolean
  releaseVips: boolean
  dontRespawn: boolean
  /** -d */
  dumpConf: boolean
  /** -i */
  configId: string
  /** -s */
  namespace?: string
  /** -e */
  allConfig: boolean
  /** -u */
  umask?: number
  /** -a */
  addressMonitoring: boolean
  /** --ignore-sigint */
  ignoreSigint: boolean
  /** --strict (kad): warnings are errors */
  strict: boolean
  /** --plugin-path (kad): extra node_modules directories */
  pluginPath: string[]
}

export function defaultConfigId(): string {
  return hostname().split('.')[0]
}

export function defaultOptions(over: Partial<DaemonOptions> = {}): DaemonOptions {
  return {
    configFile: '/etc/keepalived/keepalived.conf',
    dontFork: false,
    logConsole: false,
    logDetail: false,
    logFacility: 'daemon',
    flushLogFile: false,
    noSyslog: false,
    vrrpOnly: false,
    checkOnly: false,
    noBfd: false,
    all: false,
    pidFile: '/run/keepalived.pid',
    vrrpPidFile: '/run/vrrp.pid',
    checkersPidFile: '/run/checkers.pid',
    bfdPidFile: '/run/bfd.pid',
    dontReleaseVrrp: false,
    dontReleaseIpvs: false,
    releaseVips: false,
    dontRespawn: false,
    dumpConf: false,
    configId: defaultConfigId(),
    allConfig: false,
    addressMonitoring: false,
    ignoreSigint: false,
    strict: false,
    pluginPath: [],
    ...over,
  }
}

export type PidFileOptions = Pick<DaemonOptions, 'pidFile' | 'vrrpPidFile' | 'checkersPidFile' | 'bfdPidFile'>

/**
 * keepalived 2.2.7's pid file names for a daemon in a network namespace (-s / net_namespace NS:
 * /run/keepalived/NS/keepalived.pid …), with an `instance NAME` (/run/keepalived/keepalived_NAME.pid …) or with
 * `use_pid_dir` (/run/keepalived/keepalived.pid …); nothing (the -p -r -c -b defaults) otherwise. Flags given on
 * the command line win over these.
 */
export function pidFilesFor(where: { namespace?: string; instance?: string; usePidDir?: boolean }): Partial<PidFileOptions> {
  const name = (dir: string, suffix: string): PidFileOptions => ({
    pidFile: `${dir}/keepalived${suffix}.pid`,
    vrrpPidFile: `${dir}/vrrp${suffix}.pid`,
    checkersPidFile: `${dir}/checkers${suffix}.pid`,
    bfdPidFile: `${dir}/bfd${suffix}.pid`,
  })
  if (where.namespace) return name(`${PID_DIR}/${where.namespace}`, '')
  if (where.instance) return name(PID_DIR, `_${where.instance}`)
  if (where.usePidDir) return name(PID_DIR, '')
  return {}
}

/** keepalived's pid directory (use_pid_dir, instance, net_namespace) */
export const PID_DIR = '/run/keepalived'
