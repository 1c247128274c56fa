/**
 * `kad genhash` / `genhash`: fetch one URL over HTTP or HTTPS and print the MD5 of the body exactly as
 * Debian's keepalived 2.2.7 genhash does (non-verbose: the hex digest alone; "Connection failed" and
 * "Timeout WEB read" still exit 0; usage errors exit 1).
 */
import { isIP } from 'node:net'
import { lookup } from 'node:dns/promises'
import { httpFetch, hostHeader } from './fetch.js'
import { md5hex } from './http-checker.js'

const USAGE = `Usage: genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
`

const LONG: Record<string, string> = {
  '--use-ssl': '-S',
  '--use-sni': '-I',
  '--server': '-s',
  '--port': '-p',
  '--url': '-u',
  '--use-virtualhost': '-V',
  '--verbose': '-v',
  '--help': '-h',
  '--fwmark': '-m',
  '--protocol': '-P',
  '--timeout': '-t',
}
const WITH_ARG = new Set(['-s', '-p', '-u', '-V', '-m', '-P', '-t'])

export interface GenhashIo {
  out: (s: string) => void
  err: (s: string) => void
}

export interface GenhashArgs {
  server: string
  port: number
  url: string
  ssl: boolean
  sni: boolean
  virtualhost?: string
  verbose: boolean
  protocol: '1.0' | '1.0C' | '1.1'
  timeout: number
  fwmark?: number
}

/** parse argv (without node and script); a string is the error to print before the usage */
export function parseGenhashArgs(argv: readonly string[]): GenhashArgs | { help: true } | { error: string } {
  const a: Partial<GenhashArgs> & { ssl: boolean; sni: boolean; verbose: boolean } = { ssl: false, sni: false, verbose: false }
  for (let i = 0; i < argv.length; i++) {
    let opt = argv[i]
    let val: string | undefined
    if (opt.startsWith('--')) {
      const eq = opt.indexOf('=')
      if (eq > 0) {
        val = opt.slice(eq + 1)
        opt = opt.slice(0, eq)
      }
      const s = LONG[opt]
      if (!s) return { error: `genhash: unrecognized option '${opt}'` }
      opt = s
    } else if (opt.startsWith('-') && opt.length > 2 && WITH_ARG.has(opt.slice(0, 2))) {
      val = opt.slice(2)
      opt = opt.slice(0, 2)
    }
    if (WITH_ARG.has(opt) && val === undefined) {
      val = argv[++i]
      if (val === undefined) return { error: `genhash: option requires an argument -- '${opt.slice(1)}'` }
    }
    switch (opt) {
      case '-h':
        return { help: true }
      case '-S':
        a.ssl = true
        break
      case '-I':
        a.sni = true
        break
      case '-v':
        a.verbose = true
        break
      case '-s':
        a.server = val
        break
      case '-p': {
        const n = Number(val)
        if (!/^\d+$/.test(val!) || n < 1 || n > 65535) return { error: `invalid port number '${val}'` }
        a.port = n
        break
      }
      case '-u':
        a.url = val
        break
      case '-V':
        a.virtualhost = val
        break
      case '-m': {
        if (!/^\d+$/.test(val!)) return { error: `invalid fwmark '${val}'` }
        a.fwmark = Number(val)
        break
      }
      case '-P': {
        const p = val === '1.0' ? '1.0' : val === '1.0c' || val === '1.0C' ? '1.0C' : val === '1.1' ? '1.1' : undefined
        if (!p) return { error: `invalid HTTP protocol version '${val}'` }
        a.protocol = p
        break
      }
      case '-t': {
        const n = Number(val)
        if (!/^\d+(\.\d+)?$/.test(val!) || n <= 0) return { error: `invalid timeout '${val}'` }
        a.timeout = n
        break
      }
      default:
        return { error: `genhash: invalid option -- '${opt.replace(/^-+/, '')}'` }
    }
  }
  if (a.server === undefined || a.port === undefined || a.url === undefined) return { error: '' }
  return { server: a.server, port: a.port, url: a.url, ssl: a.ssl, sni: a.sni, verbose: a.verbose, protocol: a.protocol ?? '1.0', timeout: a.timeout ?? 5, ...(a.virtualhost !== undefined ? { virtualhost: a.virtualhost } : {}), ...(a.fwmark !== undefined ? { fwmark: a.fwmark } : {}) }
}

/** keepalived's dump_buffer: decimal offset, 8 + 8 hex bytes, the printable characters */
export function hexDump(b: Uint8Array): string {
  let out = ''
  for (let off = 0; off < b.length; off += 16) {
    const row = b.subarray(off, off + 16)
    let hex = ''
    let asc = ''
    for (let j = 0; j < 16; j++) {
      if (j === 8) hex += '- '
      if (j < row.length) {
        hex += row[j].toString(16).padStart(2, '0') + ' '
        asc += row[j] >= 32 && row[j] < 127 ? String.fromCharCode(row[j]) : '.'
      } else {
        hex += '   '
        asc += ' '
      }
    }
    out += `${String(off).padStart(4, '0')}  ${hex}  ${asc}\n`
  }
  return out
}

// the section titles exactly as genhash prints them
const BANNERS: Record<string, string> = {
  'HTTP Header Buffer': '[    HTTP Header Buffer    ]',
  'HTTP Header Ascii Buffer': '[ HTTP Header Ascii Buffer ]',
  'HTML Buffer': '[        HTML Buffer        ]',
  'HTML hash resulting': '[    HTML hash resulting    ]',
  'HTML hash final resulting': '[ HTML hash final resulting ]',
}
function banner(title: string): string {
  return `-----------------------${BANNERS[title]}-----------------------\n`
}

export async function runGenhash(argv: string[], io: GenhashIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  const a = parseGenhashArgs(argv)
  if ('help' in a) {
    io.err(USAGE)
    return 1
  }
  if ('error' in a) {
    if (a.error) io.err(a.error + '\n')
    io.err(USAGE)
    return 1
  }
  let address = a.server
  if (!isIP(address)) {
    try {
      address = (await lookup(a.server)).address
    } catch {
      io.out('Connection failed\n')
      return 0
    }
  }
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), a.timeout * 1000)
  try {
    const r = await httpFetch(
      {
        address,
        port: a.port,
        path: a.url,
        host: hostHeader(address, a.port, a.virtualhost),
        protocol: a.protocol,
        ...(a.ssl ? { tls: a.sni && a.virtualhost ? { servername: a.virtualhost } : {} } : {}),
        maxBody: 64 * 1024 * 1024,
      },
      ac.signal,
    )
    const digest = md5hex(r.body)
    if (a.verbose) {
      let s = banner('HTTP Header Buffer') + hexDump(r.headBytes)
      s += banner('HTTP Header Ascii Buffer') + r.headBytes.toString('latin1').replace(/\r/g, '') + '\n'
      s += banner('HTML Buffer') + hexDump(r.body) + '\n'
      s += banner('HTML hash resulting') + hexDump(Buffer.from(digest, 'hex'))
      s += banner('HTML hash final resulting') + digest + '\n\n'
      s += `Global response time for [${a.url}] = ${Math.round(r.durationMs * 1000)} usecs\n`
      io.out(s)
    } else io.out(digest + '\n')
    return 0
  } catch (e) {
    const msg = (e as Error).message
    io.out(ac.signal.aborted ? 'Timeout WEB read\n' : msg.startsWith('E') && !msg.includes(' ') ? 'Connection failed\n' : `${msg}\n`)
    return 0
  } finally {
    clearTimeout(timer)
  }
}
