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
