// The addon without privileges: unix datagram sockets, truncation, error shapes, close semantics.
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { openSocket, ifNameToIndex, ifIndexToName, SOL, SO, type KadSocket, type MessageInfo } from '../../native/ts/index.js'

describe('native KadSocket (unprivileged)', () => {
  const paths: string[] = []
  const socks: KadSocket[] = []
  const path = () => { const p = `/tmp/kad-native-spec-${process.pid}-${paths.length}.sock`; paths.push(p); rmSync(p, { force: true }); return p }
  afterEach(() => {
    for (const s of socks.splice(0)) s.close()
    for (const p of paths.splice(0)) rmSync(p, { force: true })
  })
  const next = (s: KadSocket) => new Promise<{ buf: Buffer; info: MessageInfo }>((resolve) => s.onMessage((buf, info) => resolve({ buf, info })))

  it('delivers datagrams with the sender path, and reports oversized ones as truncated', async () => {
    const p = path()
    const server = openSocket({ domain: 'unix', type: 'dgram', receiveBufferSize: 1024 }).bind(p)
    const cp = path()
    const client = openSocket({ domain: 'unix', type: 'dgram' }).bind(cp)
    socks.push(server, client)
    let got = next(server)
    client.send([Buffer.from('<13>'), Buffer.from('kad')], p)
    const small = await got
    assert.equal(small.buf.toString(), '<13>kad')
    assert.equal(small.info.from, cp)
    assert.equal(small.info.truncated, undefined)
    server.pause()
    const s2 = openSocket({ domain: 'unix', type: 'dgram', receiveBufferSize: 1024 }).bind(path())
    socks.push(s2)
    got = next(s2)
    client.send(Buffer.alloc(5000, 1), paths[2])
    const big = await got
    assert.equal(big.buf.length, 1024)
    assert.equal(big.info.truncated, true)
  })

  it('drains many queued datagrams in batches, in order', async () => {
    const p = path()
    // net.unix.max_dgram_qlen (often 10) bounds what can be queued: 10 datagrams, drained 3 per readable event.
    const server = openSocket({ domain: 'unix', type: 'dgram', batch: 3 }).bind(p)
    const client = openSocket({ domain: 'unix', type: 'dgram' })
    socks.push(server, client)
    for (let i = 0; i < 10; i++) client.send(Buffer.from(String(i)), p)
    const seen: number[] = []
    await new Promise<void>((resolve) => server.onMessage((b) => { seen.push(Number(b.toString())); if (seen.length === 10) resolve() }))
    assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => i))
  })

  it('errors carry the errno name and syscall; closed sockets answer EBADF; close is idempotent', () => {
    const s = openSocket({ domain: 'unix', type: 'dgram' })
    assert.throws(() => s.send(Buffer.from('x'), '/nonexistent/kad.sock'), (e: any) => e.code === 'ENOENT' && e.syscall === 'sendmsg' && e.errno === -2)
    assert.throws(() => s.bind('/proc/kad-cannot-bind-here'), (e: any) => typeof e.code === 'string' && e.syscall === 'bind')
    assert.equal(s.getOption(SOL.SOCKET, SO.RCVBUF) > 0, true)
    s.close()
    s.close()
    assert.ok(s.isClosed)
    assert.throws(() => s.send(Buffer.from('x'), '/tmp/x'), { code: 'EBADF' })
  })

  it('interface names and indexes', () => {
    assert.equal(ifIndexToName(ifNameToIndex('lo')), 'lo')
    assert.equal(ifNameToIndex('kad-no-such-if'), 0)
    assert.equal(ifIndexToName(0x7ffffff0), undefined)
  })

  it('a throwing message handler surfaces as an uncaught exception (not swallowed, not a crash of the addon)', () => {
    const index = fileURLToPath(new URL('../../native/dist/index.js', import.meta.url))
    const script = `
      import(${JSON.stringify(index)}).then((m) => {
        const p = '/tmp/kad-native-throw-' + process.pid
        const s = m.openSocket({ domain: 'unix', type: 'dgram' }).bind(p)
        process.on('uncaughtException', (e) => { console.log('caught:' + e.message); s.close(); require('fs').rmSync(p) })
        s.onMessage(() => { throw new Error('boom') })
        m.openSocket({ domain: 'unix', type: 'dgram' }).send(Buffer.from('x'), p)
      })`
    const out = execFileSync(process.execPath, ['--input-type=commonjs', '-e', script], { encoding: 'utf8', timeout: 10000 })
    assert.match(out, /caught:boom/)
  })
})
