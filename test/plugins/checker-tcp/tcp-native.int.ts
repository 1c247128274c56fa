// TCP_CHECK, HTTP_GET and SMTP_CHECK on the native stream engine, in namespaces: the real server's bind_if (SO_BINDTODEVICE),
// fwmark (SO_MARK), bindto and bind_port are applied on the wire (nftables counters in the checker's namespace),
// a port check never reaches the server's accept(), an abandoned connect is cut by the framework's deadline.
import { strict as assert } from 'node:assert'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CheckerSpec, CheckOutcome } from '@kad/core'

const here = dirname(fileURLToPath(import.meta.url))
const C = `kad-ctcp-c-${process.pid}`
const S = `kad-ctcp-s-${process.pid}`
const sh = (cmd: string) => execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' })

const SERVER = `
let accepts = 0
require('node:net').createServer((c) => {
  process.stdout.write('accept ' + (++accepts) + '\\n')
  c.on('error', () => {})
  c.once('data', () => c.end('HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'))
}).listen(8080, '0.0.0.0', () => process.stdout.write('ready\\n'))
// SMTP: banner, 250 to HELO, 221 to QUIT
require('node:net').createServer((c) => {
  c.on('error', () => {})
  c.write('220 mx ESMTP\\r\\n')
  c.on('data', (d) => { const l = String(d); if (/^HELO/i.test(l)) c.write('250 mx\\r\\n'); else if (/^QUIT/i.test(l)) c.end('221 bye\\r\\n') })
}).listen(2525, '0.0.0.0')
`

function spec(type: string, target: Partial<CheckerSpec['target']>, options: Record<string, unknown> = {}): CheckerSpec {
  return {
    type,
    options,
    target: { family: 4, address: '198.51.100.2', port: 8080, ...target },
    timing: { delayLoop: 1, connectTimeout: 1, retry: 0, delayBeforeRetry: 1, warmup: 0 },
    realServer: '[198.51.100.2]:8080',
  }
}

function run(specs: CheckerSpec[]): { fast: CheckOutcome; promise: CheckOutcome }[] {
  const out = execFileSync('ip', ['netns', 'exec', C, process.execPath, '--import', 'tsx', join(here, 'fixtures/run-checks.ts'), JSON.stringify(specs)], { encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').pop()!)
}

function counters(): Record<string, number> {
  const j = JSON.parse(sh(`ip netns exec ${C} nft -j list table inet kadctcp`)) as { nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[] }
  const out: Record<string, number> = {}
  for (const x of j.nftables) if (x.rule?.comment) out[x.rule.comment] = x.rule.expr.find((e) => e.counter)?.counter?.packets ?? 0
  return out
}

describe('TCP_CHECK / HTTP_GET on the native engine (root, namespaces)', function () {
  this.timeout(40000)
  let server: ChildProcess
  let serverOut = ''
  before(async () => {
    sh(`ip netns add ${C} && ip netns add ${S} && ip -n ${C} link set lo up && ip -n ${S} link set lo up`)
    sh(`ip -n ${C} link add kv0 type veth peer name kv1 netns ${S}`)
    sh(`ip -n ${C} addr add 198.51.100.1/24 dev kv0 && ip -n ${C} addr add 198.51.100.3/24 dev kv0 && ip -n ${C} link set kv0 up`)
    sh(`ip -n ${S} addr add 198.51.100.2/24 dev kv1 && ip -n ${S} link set kv1 up`)
    sh(
      `ip netns exec ${C} nft 'add table inet kadctcp; add chain inet kadctcp out { type filter hook output priority 0; }; ` +
        `add rule inet kadctcp out meta mark 0x42 tcp flags syn counter comment "mark"; ` +
        `add rule inet kadctcp out oifname "kv0" tcp flags syn counter comment "kv0"; ` +
        `add rule inet kadctcp out ip saddr 198.51.100.3 tcp sport 47123 tcp flags syn counter comment "bind"'`,
    )
    server = spawn('ip', ['netns', 'exec', S, process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
    server.stdout!.on('data', (d) => (serverOut += d))
    for (let i = 0; i < 100 && !serverOut.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50))
  })
  after(() => {
    server?.kill('SIGKILL')
    sh(`ip netns del ${C} 2>/dev/null; ip netns del ${S} 2>/dev/null; true`)
  })

  it('TCP_CHECK: passes, applies fwmark / bind_if / bindto / bind_port, and the server never accepts', async () => {
    const c0 = counters()
    const r = run([spec('TCP_CHECK', { fwmark: 0x42, bindIf: 'kv0', bindTo: '198.51.100.3', bindPort: 47123 }), spec('TCP_CHECK', {})])
    assert.deepEqual(r.map((x) => [x.fast.ok, x.promise.ok]), [[true, true], [true, true]])
    const c1 = counters()
    assert.equal(c1.mark - c0.mark, 2) // the fast and the promise attempt of the marked check only
    assert.equal(c1.bind - c0.bind, 2)
    assert.equal(c1.kv0 - c0.kv0, 4)
    // the server's output arrives through this (blocked) event loop: let it in
    await new Promise((r) => setTimeout(r, 300))
    assert.ok(!serverOut.includes('accept'), serverOut)
  })

  it('TCP_CHECK: refused, silent (cut by the deadline), and a bind_if with no route all fail', () => {
    sh(`ip netns exec ${S} nft 'add table inet kaddrop; add chain inet kaddrop in { type filter hook input priority 0; }; add rule inet kaddrop in tcp dport 8082 drop'`)
    const r = run([spec('TCP_CHECK', { port: 8083 }), spec('TCP_CHECK', { port: 8082 }), spec('TCP_CHECK', { bindIf: 'lo' })])
    assert.match((r[0].fast as { reason: string }).reason, /ECONNREFUSED/)
    assert.match((r[0].promise as { reason: string }).reason, /ECONNREFUSED/)
    assert.match((r[1].fast as { reason: string }).reason, /test timeout/)
    assert.match((r[1].promise as { reason: string }).reason, /aborted/)
    assert.equal(r[2].fast.ok, false)
  })

  it('SMTP_CHECK: passes with fwmark / bind_if applied, fails a refused port', () => {
    const c0 = counters()
    const r = run([spec('SMTP_CHECK', { port: 2525, fwmark: 0x42, bindIf: 'kv0' }), spec('SMTP_CHECK', { port: 2526 })])
    assert.deepEqual([r[0].fast, r[0].promise], [{ ok: true }, { ok: true }])
    assert.match((r[1].fast as { reason: string }).reason, /ECONNREFUSED/)
    assert.equal(counters().mark - c0.mark, 2)
  })

  it('HTTP_GET: passes with fwmark / bind_if applied, fails a wrong status', async () => {
    const c0 = counters()
    const urls = (code: number) => ({ urls: [{ path: '/', statusCodes: [[code, code]] }] })
    const r = run([spec('HTTP_GET', { fwmark: 0x42, bindIf: 'kv0' }, urls(200)), spec('HTTP_GET', {}, urls(404))])
    assert.deepEqual([r[0].fast, r[0].promise], [{ ok: true }, { ok: true }])
    assert.match((r[1].fast as { reason: string }).reason, /status code 200/)
    assert.equal(counters().mark - c0.mark, 2)
    await new Promise((r) => setTimeout(r, 300))
    assert.ok(serverOut.includes('accept'), 'the HTTP checks reached the server')
  })
})
