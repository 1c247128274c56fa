// The native stream engine (health-check TCP connections) against a real listener in another namespace: connect
// ok / refused / abandoned mid-handshake, request and response bytes, a port check the server never accepts, and
// bind_if (SO_BINDTODEVICE), fwmark (SO_MARK), bindto / bind_port seen on the wire by nftables counters.
import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { SO, SOL, streams, streamTarget, type StreamHandler, type StreamTargetInput } from '@kad/native'
import { addNs, delNs, sh, waitFor } from './helpers.js'

const C = `kad-native-sc-${process.pid}`
const S = `kad-native-ss-${process.pid}`

const SERVER = `
const net = require('node:net')
let accepts = 0
net.createServer((c) => {
  accepts++
  process.stdout.write('accepts ' + accepts + '\\n')
  c.on('error', () => {})
  c.once('data', () => c.end('HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'))
}).listen(8080, '::', () => process.stdout.write('ready\\n'))
// a server that speaks first (SMTP-like): a banner, then its close
net.createServer((c) => { c.on('error', () => {}); c.end('220 banner\\r\\n') }).listen(8081, '::')
`

interface Seen {
  connect?: string | null
  data: Buffer[]
  end: boolean
  error?: string
}

function handler(): StreamHandler & { seen: Seen; connected: Promise<string | null>; ended: Promise<void> } {
  const seen: Seen = { data: [], end: false }
  let onC!: (e: string | null) => void
  let onE!: () => void
  const connected = new Promise<string | null>((r) => (onC = r))
  const ended = new Promise<void>((r) => (onE = r))
  return {
    seen,
    connected,
    ended,
    onConnect(err) {
      seen.connect = err ?? null
      onC(err ?? null)
    },
    onData(d) {
      seen.data.push(d)
    },
    onEnd() {
      seen.end = true
      onE()
    },
    onError(e) {
      seen.error = e
      onE()
    },
  }
}

function counters(): Record<string, number> {
  const j = JSON.parse(sh(`ip netns exec ${C} nft -j list table inet kadstreams`)) as { nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[] }
  const out: Record<string, number> = {}
  for (const x of j.nftables) {
    const r = x.rule
    if (!r?.comment) continue
    out[r.comment] = r.expr.find((e) => e.counter)?.counter?.packets ?? 0
  }
  return out
}

describe('native stream engine (root, namespaces)', function () {
  this.timeout(20000)
  let server: ChildProcess
  let serverOut = ''
  let nsC: string
  const base = (over: Partial<StreamTargetInput> = {}) => streamTarget({ family: 4, address: '198.51.100.2', port: 8080, netns: nsC, ...over })

  before(async () => {
    nsC = addNs(C)
    addNs(S)
    sh(`ip -n ${C} link add kv0 type veth peer name kv1 netns ${S}`)
    sh(`ip -n ${C} addr add 198.51.100.1/24 dev kv0 && ip -n ${C} addr add 198.51.100.3/24 dev kv0 && ip -n ${C} link set kv0 up`)
    sh(`ip -n ${S} addr add 198.51.100.2/24 dev kv1 && ip -n ${S} link set kv1 up`)
    sh(`ip -n ${C} addr add 2001:db8:5::1/64 dev kv0 nodad && ip -n ${S} addr add 2001:db8:5::2/64 dev kv1 nodad`)
    // SYNs to 8082 vanish: a connect there never completes
    sh(`ip netns exec ${S} nft 'add table inet kaddrop; add chain inet kaddrop in { type filter hook input priority 0; }; add rule inet kaddrop in tcp dport 8082 drop'`)
    sh(
      `ip netns exec ${C} nft 'add table inet kadstreams; add chain inet kadstreams out { type filter hook output priority 0; }; ` +
        `add rule inet kadstreams out meta mark 0x42 tcp dport 8080 tcp flags syn counter comment "mark"; ` +
        `add rule inet kadstreams out oifname "kv0" tcp dport 8080 tcp flags syn counter comment "kv0"; ` +
        `add rule inet kadstreams out ip saddr 198.51.100.3 tcp sport 47123 tcp flags syn counter comment "bind"; ` +
        `add rule inet kadstreams out tcp dport 8080 tcp flags rst counter comment "rst"'`,
    )
    server = spawn('ip', ['netns', 'exec', S, process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
    server.stdout!.on('data', (d) => (serverOut += d))
    await waitFor(() => serverOut.includes('ready'), 5000)
  })
  after(() => {
    server?.kill('SIGKILL')
    delNs(C, S)
  })

  it('connects, sends a request, reads the response and the close, then resets', async () => {
    const h = handler()
    const fd = streams().open(base(), h)
    assert.equal(typeof fd, 'number', String(fd))
    assert.equal(await h.connected, null)
    const req = Buffer.from('GET / HTTP/1.0\r\n\r\n')
    assert.equal(streams().send(fd as number, req), req.length)
    assert.equal(streams().read(fd as number), undefined)
    await h.ended
    assert.equal(Buffer.concat(h.seen.data).toString(), 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')
    assert.equal(h.seen.end, true)
    const rst = counters().rst
    streams().close(fd as number, true)
    assert.equal(counters().rst, rst + 1)
    assert.equal(streams().active, 0)
  })

  it('connects over IPv6, with bind_if and a source address', async () => {
    const h = handler()
    const fd = streams().open(base({ family: 6, address: '2001:db8:5::2', bindIf: 'kv0', bindTo: '2001:db8:5::1' }), h)
    assert.equal(typeof fd, 'number', String(fd))
    assert.equal(await h.connected, null)
    streams().close(fd as number, true)
    const h2 = handler()
    const fd2 = streams().open(base({ family: 6, address: '2001:db8:5::2', port: 8083 }), h2)
    assert.equal(await h2.connected, 'ECONNREFUSED')
    streams().close(fd2 as number)
    assert.equal(streams().active, 0)
  })

  it('a port check with the delayed ACK and a reset is never accepted by the server', async () => {
    // the server's report of earlier tests' connections comes through this event loop: let it in first
    await new Promise((r) => setTimeout(r, 200))
    const before = serverOut
    for (let i = 0; i < 5; i++) {
      const h = handler()
      const fd = streams().open(base({ delayAck: true }), h)
      assert.equal(await h.connected, null)
      streams().close(fd as number, true)
    }
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(serverOut, before)
    assert.equal(streams().active, 0)
  })

  it('delivers what the server sent before read() was called, then its close', async () => {
    const h = handler()
    const fd = streams().open(base({ port: 8081 }), h) as number
    assert.equal(await h.connected, null)
    await new Promise((r) => setTimeout(r, 200))
    assert.deepEqual(h.seen.data, [])
    assert.equal(streams().read(fd), undefined)
    await h.ended
    assert.equal(Buffer.concat(h.seen.data).toString(), '220 banner\r\n')
    assert.equal(h.seen.end, true)
    streams().close(fd)
  })

  it('reports a refused port, and a synchronous failure as text', async () => {
    const h = handler()
    const fd = streams().open(base({ port: 8083 }), h)
    assert.equal(typeof fd, 'number')
    assert.equal(await h.connected, 'ECONNREFUSED')
    streams().close(fd as number)
    // no route: the connect fails at once
    assert.equal(streams().open(base({ address: '203.0.113.9' }), handler()), 'connect ENETUNREACH')
    assert.equal(streams().active, 0)
  })

  it('abandons a connect the server never answers: close() ends it, no event follows', async () => {
    const h = handler()
    const fd = streams().open(base({ port: 8082 }), h)
    assert.equal(typeof fd, 'number')
    assert.equal(streams().active, 1)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(h.seen.connect, undefined)
    streams().close(fd as number)
    assert.equal(streams().active, 0)
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(h.seen.connect, undefined)
  })

  it('applies fwmark (SO_MARK), bind_if (SO_BINDTODEVICE), bindto and bind_port on the wire', async () => {
    const c0 = counters()
    const h = handler()
    const fd = streams().open(base({ fwmark: 0x42, bindIf: 'kv0', bindTo: '198.51.100.3', bindPort: 47123 }), h) as number
    assert.equal(typeof fd, 'number')
    assert.equal(await h.connected, null)
    assert.equal(streams().getOption(fd, SOL.SOCKET, SO.MARK)!.readUInt32LE(0), 0x42)
    assert.equal(streams().getOption(fd, SOL.SOCKET, SO.BINDTODEVICE)!.toString('latin1').replace(/\0.*$/s, ''), 'kv0')
    streams().close(fd, true)
    const c1 = counters()
    assert.equal(c1.mark, c0.mark + 1)
    assert.equal(c1.kv0, c0.kv0 + 1)
    assert.equal(c1.bind, c0.bind + 1)
    // without a mark nothing is counted as marked
    const h2 = handler()
    const fd2 = streams().open(base(), h2) as number
    assert.equal(await h2.connected, null)
    streams().close(fd2, true)
    assert.equal(counters().mark, c1.mark)
  })

  it('bind_if on an interface with no route to the server fails the connect', async () => {
    const h = handler()
    const fd = streams().open(base({ bindIf: 'lo' }), h)
    const outcome = typeof fd === 'string' ? fd : await Promise.race([h.connected, new Promise((r) => setTimeout(() => r('pending'), 1500))])
    if (typeof fd === 'number') streams().close(fd)
    assert.notEqual(outcome, null, 'connected through the wrong interface')
    assert.equal(streams().active, 0)
  })
})
