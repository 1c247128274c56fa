// NetlinkSocket against a fake kernel: batching, ACK/error mapping, dumps, time-outs, overruns, notifications.
import { strict as assert } from 'node:assert'
import { NetlinkSocket, type NetlinkTransport } from '../../native/ts/netlink-socket.js'
import { decodeMessages, encodeAttrs, encodeMessage, NLM_F, NLMSG, strAttr, type NlMsg } from '../../native/ts/codec/netlink.js'
import { RTM, RTM_NAMES } from '../../native/ts/codec/rtnetlink.js'
import { systemError } from '../../native/ts/errors.js'
import type { MessageHandler } from '../../native/ts/socket.js'

class FakeKernel implements NetlinkTransport {
  sends: Buffer[][] = []
  received: NlMsg[] = []
  onMsg?: MessageHandler
  onErr?: (e: Error) => void
  closed = false
  /** Called with every request message; return the datagrams to answer with (or nothing). */
  answer: (m: NlMsg) => Buffer[] = (m) => [ack(m, 0)]
  setOption(): this { return this }
  bind(): this { return this }
  unref(): this { return this }
  pause(): this { return this }
  resume(): this { return this }
  close(): void { this.closed = true }
  onError(h: (e: Error) => void): this { this.onErr = h; return this }
  onMessage(h: MessageHandler): this { this.onMsg = h; return this }
  send(data: Buffer | Buffer[]): number {
    const frames = Array.isArray(data) ? data : [data]
    this.sends.push(frames)
    const replies: Buffer[] = []
    for (const f of frames) {
      const d = decodeMessages(f)
      assert.ok(d.ok)
      for (const m of d.messages) { this.received.push(m); replies.push(...this.answer(m)) }
    }
    // The kernel answers asynchronously: deliver on the next turn, as the poll callback would.
    setImmediate(() => { for (const r of replies) this.onMsg?.(r, { from: '0' }) })
    return frames.reduce((n, f) => n + f.length, 0)
  }
}

function ack(m: NlMsg, errno: number, text?: string): Buffer {
  const e = Buffer.alloc(4)
  e.writeInt32LE(-errno, 0)
  const hdr = encodeMessage({ type: m.type, flags: m.flags, seq: m.seq, payload: [] })
  const tlv = text ? encodeAttrs([strAttr(1, text)]) : Buffer.alloc(0)
  return encodeMessage({ type: NLMSG.ERROR, flags: NLM_F.CAPPED | (text ? NLM_F.ACK_TLVS : 0), seq: m.seq, payload: [e, hdr, tlv] })
}

describe('native NetlinkSocket (fake kernel)', () => {
  const make = (k: FakeKernel, extra: Partial<ConstructorParameters<typeof NetlinkSocket>[0]> = {}) =>
    new NetlinkSocket({ protocol: 0, transport: k, typeNames: RTM_NAMES, ...extra })

  it('sends requests issued together in few sendmsg calls, within the window, and resolves each on its ACK', async () => {
    const k = new FakeKernel()
    const s = make(k, { window: 256 })
    const all = Array.from({ length: 1000 }, () => s.request(RTM.NEWADDR, NLM_F.CREATE, Buffer.alloc(24)))
    await Promise.all(all)
    assert.equal(k.received.length, 1000)
    assert.ok(k.sends.length <= 8, `${k.sends.length} sendmsg calls`)
    assert.ok(k.sends.every((f) => f.length <= 256))
    assert.equal(new Set(k.received.map((m) => m.seq)).size, 1000)
    assert.ok(k.received.every((m) => (m.flags & (NLM_F.REQUEST | NLM_F.ACK)) === (NLM_F.REQUEST | NLM_F.ACK)))
    assert.equal(s.outstanding, 0)
    s.close()
  })

  it('maps NLMSG_ERROR to an errno-named error with the extended-ACK text and the capability for EPERM', async () => {
    const k = new FakeKernel()
    const s = make(k)
    k.answer = (m) => [ack(m, 17, 'Address already assigned')]
    await assert.rejects(s.request(RTM.NEWADDR, 0, Buffer.alloc(8)), (e: any) => e.code === 'EEXIST' && e.syscall === 'RTM_NEWADDR' && /Address already assigned/.test(e.message))
    k.answer = (m) => [ack(m, 1)]
    await assert.rejects(s.request(RTM.NEWROUTE, 0, Buffer.alloc(12)), (e: any) => e.code === 'EPERM' && /CAP_NET_ADMIN/.test(e.message))
    s.close()
  })

  it('collects a multi-part dump across datagrams up to NLMSG_DONE', async () => {
    const k = new FakeKernel()
    const s = make(k)
    k.answer = (m) => {
      const part = (i: number) => encodeMessage({ type: RTM.NEWLINK, flags: NLM_F.MULTI, seq: m.seq, payload: Buffer.from([i, 0, 0, 0]) })
      return [Buffer.concat([part(1), part(2)]), Buffer.concat([part(3), encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq: m.seq, payload: Buffer.alloc(4) })])]
    }
    const parts = await s.dump(RTM.GETLINK, Buffer.alloc(16))
    assert.deepEqual(parts.map((p) => p.payload[0]), [1, 2, 3])
    assert.equal(k.received[0].flags & NLM_F.DUMP, NLM_F.DUMP)
    s.close()
  })

  it('runs one dump at a time (the kernel answers a second concurrent dump with EBUSY)', async () => {
    const k = new FakeKernel()
    const s = make(k)
    let inDump = 0
    let maxInDump = 0
    k.answer = (m) => {
      if (!(m.flags & NLM_F.DUMP)) return [ack(m, 0)]
      inDump++
      maxInDump = Math.max(maxInDump, inDump)
      setImmediate(() => inDump--)
      return [encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq: m.seq, payload: Buffer.alloc(4) })]
    }
    await Promise.all([s.dump(RTM.GETLINK, Buffer.alloc(16)), s.dump(RTM.GETADDR, Buffer.alloc(8)), s.request(RTM.NEWADDR, 0, Buffer.alloc(8)), s.dump(RTM.GETROUTE, Buffer.alloc(12))])
    assert.equal(maxInDump, 1)
    assert.equal(k.received.length, 4)
    s.close()
  })

  it('repeats a dump the kernel marks NLM_F_DUMP_INTR (the table changed meanwhile)', async () => {
    const k = new FakeKernel()
    const s = make(k)
    let dumps = 0
    k.answer = (m) => {
      dumps++
      const flags = NLM_F.MULTI | (dumps === 1 ? NLM_F.DUMP_INTR : 0)
      return [Buffer.concat([
        encodeMessage({ type: RTM.NEWADDR, flags, seq: m.seq, payload: Buffer.from([dumps, 0, 0, 0]) }),
        encodeMessage({ type: NLMSG.DONE, flags, seq: m.seq, payload: Buffer.alloc(4) }),
      ])]
    }
    const parts = await s.dump(RTM.GETADDR, Buffer.alloc(8))
    assert.equal(dumps, 2)
    assert.deepEqual(parts.map((p) => p.payload[0]), [2])
    assert.notEqual(k.received[0].seq, k.received[1].seq)
    assert.equal(s.stats.interrupted, 1)
    s.close()
  })

  it('times out an unanswered request with ETIMEDOUT', async () => {
    const k = new FakeKernel()
    k.answer = () => []
    const s = make(k, { timeoutMs: 40 })
    const t0 = Date.now()
    await assert.rejects(s.request(RTM.NEWADDR, 0, Buffer.alloc(8)), { code: 'ETIMEDOUT' })
    assert.ok(Date.now() - t0 < 1000)
    assert.equal(s.stats.timeouts, 1)
    s.close()
  })

  it('on ENOBUFS fails outstanding requests and calls the overrun handlers (re-sync by dump)', async () => {
    const k = new FakeKernel()
    k.answer = () => []
    const s = make(k)
    let overruns = 0
    s.onOverrun(() => overruns++)
    const p = s.request(RTM.NEWADDR, 0, Buffer.alloc(8))
    await new Promise((r) => setImmediate(r))
    k.onErr!(systemError(105, 'recvmsg'))
    await assert.rejects(p, { code: 'ENOBUFS' })
    assert.equal(overruns, 1)
    assert.equal(s.stats.overruns, 1)
    s.close()
  })

  it('passes messages that answer no request to notification handlers; drops malformed datagrams', async () => {
    const k = new FakeKernel()
    const s = make(k)
    const seen: number[] = []
    s.onNotification((m) => seen.push(m.type))
    k.onMsg!(encodeMessage({ type: RTM.NEWLINK, flags: 0, seq: 0, payload: Buffer.alloc(16) }), { from: '0' })
    k.onMsg!(Buffer.from([1, 2, 3]), { from: '0' })
    k.onMsg!(Buffer.alloc(64), { from: '0', truncated: true })
    assert.deepEqual(seen, [RTM.NEWLINK])
    assert.equal(s.stats.malformed, 2)
    s.close()
  })

  it('close() rejects what is outstanding with EBADF and is idempotent', async () => {
    const k = new FakeKernel()
    k.answer = () => []
    const s = make(k)
    const p = s.request(RTM.NEWADDR, 0, Buffer.alloc(8))
    await new Promise((r) => setImmediate(r))
    s.close()
    s.close()
    await assert.rejects(p, { code: 'EBADF' })
    await assert.rejects(s.request(RTM.NEWADDR, 0, Buffer.alloc(8)), { code: 'EBADF' })
    assert.ok(k.closed)
  })
})
