// The native stream engine (health-check TCP connections) against a real listener in another namespace: connect
// ok / refused / abandoned mid-handshake, request and response bytes (sent by JavaScript, or by the engine as a
// target's request), a port check the engine resets itself and the server never accepts, opens and closes queued
// in batches, stale connection numbers, and bind_if (SO_BINDTODEVICE), fwmark (SO_MARK), bindto / bind_port seen
// on the wire by nftables counters.
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
// 200,000 bytes for a request: more than one recv of the engine
net.createServer((c) => { c.on('error', () => {}); c.once('data', () => c.end(Buffer.alloc(200000, 'x'))) }).listen(8084, '::')
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
      // the engine's bytes are valid during the call only
      seen.data.push(Buffer.from(d))
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

/** the end of the current task: queued opens and closes have reached the addon */
const settled = () => new Promise((r) => setImmediate(r))

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
    assert.equal(await h.connected, null)
    const req = Buffer.from('GET / HTTP/1.0\r\n\r\n')
    assert.equal(streams().send(fd, req), req.length)
    assert.equal(streams().read(fd), undefined)
    await h.ended
    assert.equal(Buffer.concat(h.seen.data).toString(), 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')
    assert.equal(h.seen.end, true)
    const rst = counters().rst
    streams().close(fd, true)
    assert.equal(streams().active, 0)
    await settled()
    assert.equal(counters().rst, rst + 1)
  })

  it("sends a target's request itself as soon as connected and reports the response", async () => {
    const h = handler()
    const conn = streams().open(base({ delayAck: true, request: Buffer.from('GET / HTTP/1.0\r\n\r\n') }), h)
    await h.ended
    // a request target reports its connect only when it fails
    assert.equal(h.seen.connect, undefined)
    assert.equal(Buffer.concat(h.seen.data).toString(), 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')
    streams().close(conn)
    assert.equal(streams().active, 0)
  })

  it('connects over IPv6, with bind_if and a source address', async () => {
    const h = handler()
    const fd = streams().open(base({ family: 6, address: '2001:db8:5::2', bindIf: 'kv0', bindTo: '2001:db8:5::1' }), h)
    assert.equal(await h.connected, null)
    streams().close(fd, true)
    const h2 = handler()
    const fd2 = streams().open(base({ family: 6, address: '2001:db8:5::2', port: 8083 }), h2)
    assert.equal(await h2.connected, 'ECONNREFUSED')
    streams().close(fd2)
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
      streams().close(fd, true)
    }
    // the engine resets a resetOnConnect target itself: the connection is closed when its connect is reported
    await settled()
    const rst = counters().rst
    const target = base({ delayAck: true, resetOnConnect: true })
    const hs = Array.from({ length: 50 }, () => handler())
    for (const h of hs) streams().open(target, h)
    assert.equal(streams().active, 50)
    for (const h of hs) assert.equal(await h.connected, null)
    assert.equal(streams().active, 0)
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(counters().rst, rst + 50)
    assert.equal(serverOut, before)
  })

  it('a socket outlives its connection: a response of many recvs, a port check, a refused connect and a request in turn', async () => {
    // one at a time, so that each takes the socket the one before gave back
    const request = Buffer.from('GET / HTTP/1.0\r\n\r\n')
    const rst = (await settled(), counters().rst)
    for (let round = 0; round < 3; round++) {
      const big = handler()
      const c1 = streams().open(base({ port: 8084, delayAck: true, request }), big)
      await big.ended
      assert.equal(Buffer.concat(big.seen.data).length, 200000)
      streams().close(c1)
      const port = handler()
      streams().open(base({ delayAck: true, resetOnConnect: true }), port)
      assert.equal(await port.connected, null)
      const refused = handler()
      streams().open(base({ port: 8083, delayAck: true, resetOnConnect: true }), refused)
      assert.equal(await refused.connected, 'ECONNREFUSED')
      const get = handler()
      const c4 = streams().open(base({ delayAck: true, request }), get)
      await get.ended
      assert.equal(Buffer.concat(get.seen.data).toString(), 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')
      streams().close(c4)
    }
    assert.equal(streams().active, 0)
    // a reset per port check and per request to 8080, whichever way the socket ended its connection
    await settled()
    assert.equal(counters().rst, rst + 6)
  })

  it('a closed connection number does nothing, even once its slot serves another connection', async () => {
    const h1 = handler()
    const c1 = streams().open(base(), h1)
    assert.equal(await h1.connected, null)
    streams().close(c1)
    const h2 = handler()
    const c2 = streams().open(base({ port: 8081 }), h2)
    assert.notEqual(c2, c1)
    // the stale number neither closes nor reads the new connection
    streams().close(c1)
    assert.equal(streams().read(c1), 'epoll_ctl EBADF')
    assert.equal(streams().active, 1)
    assert.equal(await h2.connected, null)
    assert.equal(streams().read(c2), undefined)
    await h2.ended
    assert.equal(Buffer.concat(h2.seen.data).toString(), '220 banner\r\n')
    streams().close(c2)
    assert.equal(streams().active, 0)
  })

  it('delivers what the server sent before read() was called, then its close', async () => {
    const h = handler()
    const fd = streams().open(base({ port: 8081 }), h)
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
    assert.equal(await h.connected, 'ECONNREFUSED')
    streams().close(fd)
    // no route: the connect fails at once, reported as text through onConnect (the connection is closed)
    const h2 = handler()
    streams().open(base({ address: '203.0.113.9' }), h2)
    assert.equal(await h2.connected, 'connect ENETUNREACH')
    assert.equal(streams().active, 0)
  })

  it('abandons a connect the server never answers: close() ends it, no event follows', async () => {
    const h = handler()
    const fd = streams().open(base({ port: 8082 }), h)
    assert.equal(streams().active, 1)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(h.seen.connect, undefined)
    streams().close(fd)
    assert.equal(streams().active, 0)
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(h.seen.connect, undefined)
    // opened and closed in the same task: nothing is reported either
    const h2 = handler()
    streams().close(streams().open(base(), h2))
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(h2.seen.connect, undefined)
    assert.equal(streams().active, 0)
  })

  it('applies fwmark (SO_MARK), bind_if (SO_BINDTODEVICE), bindto and bind_port on the wire', async () => {
    const c0 = counters()
    const h = handler()
    const fd = streams().open(base({ fwmark: 0x42, bindIf: 'kv0', bindTo: '198.51.100.3', bindPort: 47123 }), h)
    assert.equal(await h.connected, null)
    assert.equal(streams().getOption(fd, SOL.SOCKET, SO.MARK)!.readUInt32LE(0), 0x42)
    assert.equal(streams().getOption(fd, SOL.SOCKET, SO.BINDTODEVICE)!.toString('latin1').replace(/\0.*$/s, ''), 'kv0')
    streams().close(fd, true)
    await settled()
    const c1 = counters()
    assert.equal(c1.mark, c0.mark + 1)
    assert.equal(c1.kv0, c0.kv0 + 1)
    assert.equal(c1.bind, c0.bind + 1)
    // without a mark nothing is counted as marked
    const h2 = handler()
    const fd2 = streams().open(base(), h2)
    assert.equal(await h2.connected, null)
    streams().close(fd2, true)
    await settled()
    assert.equal(counters().mark, c1.mark)
  })

  it('bind_if on an interface with no route to the server fails the connect', async () => {
    const h = handler()
    const fd = streams().open(base({ bindIf: 'lo' }), h)
    const outcome = await Promise.race([h.connected, new Promise((r) => setTimeout(() => r('pending'), 1500))])
    streams().close(fd)
    assert.notEqual(outcome, null, 'connected through the wrong interface')
    assert.equal(streams().active, 0)
  })
})
