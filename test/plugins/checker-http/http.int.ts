import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createHash } from 'node:crypto'
import type { Server } from 'node:http'
import type { CheckerSpec, CheckOutcome } from '@kad/core'
import { PlainHttpChecker, runGenhash } from '@kad/plugin-checker-http'
import { TcpChecker } from '@kad/plugin-checker-tcp'
import { createHost, type Running, type TestHost } from '../checkers/helpers/host.js'
import { ALL_CHECKER_PLUGINS } from '../checkers/helpers/all-plugins.js'
import { BIG, closeServer, listen, makePki, startHttp, startHttps, type Pki } from '../checkers/helpers/servers.js'

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex')

/** one virtual server per scenario, each with one real server checked with `check` */
function scenario(i: number, port: number, check: string): string {
  return `
virtual_server 192.0.2.${i} 80 {
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  protocol TCP
  alpha
  real_server 127.0.0.1 ${port} {
    weight 1
    ${check}
  }
}`
}

function upOf(run: Running): boolean[] {
  return run.latest()!.virtualServers.map((v) => v.realServers.length === 1)
}

describe('HTTP_GET / SSL_GET against real node servers', function () {
  this.timeout(30000)
  let http: Server
  let https: Server
  let hport: number
  let sport: number
  let pki: Pki
  let host: TestHost
  const snis: (string | undefined)[] = []
  before(async () => {
    pki = makePki()
    http = startHttp()
    https = startHttps(pki, (n) => snis.push(n))
    hport = await listen(http)
    sport = await listen(https)
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  after(async () => {
    await closeServer(http)
    await closeServer(https)
    pki.cleanup()
  })

  it('passes a healthy server and fails every bad one within delay_loop + deadline', async () => {
    const get = (url: string, extra = '') => `HTTP_GET {\n connect_timeout 1.5\n retry 0\n ${extra}\n url {\n ${url}\n }\n }`
    const cases: [string, boolean][] = [
      [get('path /ok\nstatus_code 200'), true],
      [get(`path /ok\ndigest ${md5('hello\n')}`), true],
      [get('path /ok\nregex "^hel+o"'), true],
      [get('path /close'), true],
      [get(`path /chunked\ndigest ${md5('hello\n')}`, 'http_protocol 1.1'), true],
      [get(`path /big\ndigest ${md5(BIG)}`), true],
      [get('path /404\nstatus_code 200-299 400-404'), true],
      [get('path /ok\nregex "^nope"\nregex_no_match'), true],
      [get('path /500'), false], // wrong status
      [get('path /404'), false], // 2xx required without status_code or digest
      [get(`path /ok\ndigest ${'0'.repeat(32)}`), false], // wrong digest
      [get('path /ok\nregex "^nope"'), false], // regex mismatch
      [get('path /silent'), false], // slow past the deadline
      [get('path /dribble'), false], // dribbling bytes
      [`HTTP_GET {\n connect_timeout 1.5\n retry 0\n connect_port 1\n url {\n path /ok\n }\n }`, false], // refused
      [get('path /big', 'max_body 1000'), false], // bounded body read
    ]
    const text = cases.map(([c], i) => scenario(i + 1, hport, c)).join('\n')
    const run = await host.run(text)
    try {
      const want = cases.map(([, up]) => up)
      const t0 = Date.now()
      await run.until(() => JSON.stringify(upOf(run)) === JSON.stringify(want), 8000)
      // within delay_loop (0.2) + deadline (1.5) plus the first check's warmup spread (0.2), with slack for a loaded CI
      assert.ok(Date.now() - t0 < 7000)
      // the silent and dribbling servers give their verdict at the deadline
      await new Promise((r) => setTimeout(r, 1900))
      const j: Record<string, any> = {}
      run.fw.dumpJson({ json: (k, v) => (j[k] = v), section: () => undefined })
      const reasons: string[] = j.checkers.virtualServers.map((v: any) => v.realServers[0].reason ?? '')
      assert.ok(reasons.some((r) => /status code 500/.test(r)), reasons.join('\n'))
      assert.ok(reasons.some((r) => /digest mismatch/.test(r)))
      assert.ok(reasons.some((r) => /timeout/.test(r)))
      assert.ok(reasons.some((r) => /ECONNREFUSED/.test(r)))
      assert.ok(reasons.some((r) => /byte cap/.test(r)))
    } finally {
      await run.stop()
    }
  })

  it('HTTP_GET and TCP_CHECK checks of every outcome, many at once, keep their verdicts while their sockets are reused', async () => {
    const spec = (type: string, port: number, options: object = {}): CheckerSpec =>
      ({ type, options, target: { family: 4, address: '127.0.0.1', port }, timing: { delayLoop: 1, connectTimeout: 2, retry: 0, delayBeforeRetry: 1, warmup: 0 }, realServer: 'x' }) as CheckerSpec
    const get = (path: string, extra: object = {}, port = hport) => new PlainHttpChecker(spec('HTTP_GET', port, { urls: [{ path, ...extra }] }))
    const kinds: [() => PlainHttpChecker | TcpChecker, boolean][] = [
      [() => get('/ok', { statusCodes: [[200, 200]] }), true],
      [() => get('/ok', { regex: '^hel+o' }), true],
      [() => get('/big', { digest: md5(BIG) }), true],
      [() => get('/close'), true],
      [() => get('/500'), false],
      [() => get('/ok', {}, 1), false],
      [() => new TcpChecker(spec('TCP_CHECK', hport)), true],
      [() => new TcpChecker(spec('TCP_CHECK', 1)), false],
    ]
    const checks = Array.from({ length: 10 }, () => kinds.map(([make, up]) => ({ c: make(), up }))).flat()
    for (let round = 0; round < 4; round++) {
      const got = await Promise.all(checks.map(({ c }) => new Promise<CheckOutcome>((r) => c.checkFast(r))))
      assert.deepEqual(got.map((o) => o.ok), checks.map(({ up }) => up), `round ${round}: ${JSON.stringify(got.filter((o, i) => o.ok !== checks[i].up))}`)
    }
  })

  it('SSL_GET: passes without a CA, with the right CA and SNI; fails with a bad certificate', async () => {
    const ssl = (extra = '') => `SSL_GET {\n connect_timeout 1\n retry 0\n ${extra}\n url {\n path /ok\n digest ${md5('hello\n')}\n }\n }`
    const good = scenario(1, sport, ssl('sni_name server.test')) + scenario(2, sport, ssl())
    const run = await host.run(good + `\nSSL {\n ca ${pki.cert}\n}`)
    try {
      await run.until(() => upOf(run).every(Boolean), 5000)
      assert.ok(snis.includes('server.test'))
    } finally {
      await run.stop()
    }
    const bad = await host.run(scenario(1, sport, ssl()) + scenario(2, hport, ssl()) + `\nSSL {\n ca ${pki.otherCert}\n}`)
    try {
      await new Promise((r) => setTimeout(r, 1200))
      assert.deepEqual(upOf(bad), [false, false])
      assert.ok(bad.fw.stats().failures >= 2)
    } finally {
      await bad.stop()
    }
  })

  it('kad genhash prints the same as Debian genhash for the same page', async () => {
    for (const args of [
      ['-s', '127.0.0.1', '-p', String(hport), '-u', '/ok'],
      ['-s', '127.0.0.1', '-p', String(hport), '-u', '/big'],
      ['-s', '127.0.0.1', '-p', String(hport), '-u', '/close', '-P', '1.0c', '-V', 'www.test'],
      ['-S', '-s', '127.0.0.1', '-p', String(sport), '-u', '/ok'],
      ['-s', '127.0.0.1', '-p', '1', '-u', '/ok'],
    ]) {
      // async: the servers live in this process
      const theirs = (await promisify(execFile)('genhash', args, { encoding: 'utf8', timeout: 10000 })).stdout
      let ours = ''
      const rc = await runGenhash(args, { out: (s) => (ours += s), err: () => undefined })
      assert.equal(rc, 0)
      assert.equal(ours, theirs, args.join(' '))
    }
    let err = ''
    assert.equal(await runGenhash(['-s', '127.0.0.1'], { out: () => undefined, err: (s) => (err += s) }), 1)
    assert.match(err, /^Usage: genhash COMMAND/)
  })
})
