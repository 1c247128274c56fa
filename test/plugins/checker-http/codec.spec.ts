import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { decodeChunked, decodeHead, encodeRequest, framingOf, scanHead, ResponseReader, type ReadOutcome, judge, statusOk, compileRegex, md5hex, hexDump, parseGenhashArgs, hostHeader } from '@kad/plugin-checker-http'

describe('checker-http codec', () => {
  it('encodes the request keepalived and genhash send, byte for byte', () => {
    assert.equal(encodeRequest({ path: '/x', host: '127.0.0.1:8080', protocol: '1.0' }).toString(), 'GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:8080\r\n\r\n')
    assert.equal(encodeRequest({ path: '/x', host: 'foo.test', protocol: '1.1' }).toString(), 'GET /x HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: foo.test\r\n\r\n')
    assert.equal(encodeRequest({ path: '/', host: 'h', protocol: '1.0C' }).toString(), 'GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: h\r\n\r\n')
    assert.equal(hostHeader('2001:db8::1', 80), '[2001:db8::1]:80')
    assert.equal(hostHeader('192.0.2.1', 80, 'www.test'), 'www.test')
  })

  it('decodes a head (golden) and its framing', () => {
    const raw = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello')
    const h = decodeHead(raw)
    assert.ok(h.ok)
    assert.equal(h.head.status, 200)
    assert.equal(h.head.headers['x-a'], '1, 2')
    assert.equal(h.head.length, raw.length - 5)
    assert.deepEqual(framingOf(h.head), { kind: 'length', length: 5 })
    const c = decodeHead(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'))
    assert.ok(c.ok && framingOf(c.head).kind === 'chunked')
    assert.deepEqual(decodeHead(Buffer.from('HTTP/1.0 200')), { ok: false, reason: 'incomplete head', incomplete: true })
    assert.equal(decodeHead(Buffer.from('SMTP 220 hi\r\n\r\n')).ok, false)
    const bad = decodeHead(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n'))
    assert.ok(bad.ok && framingOf(bad.head).kind === 'error')
  })

  it('scans the common head without strings, and leaves anything else to decodeHead', () => {
    const raw = Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/html\r\ncontent-LENGTH: \t16 \r\nConnection: close\r\n\r\n<html>ok</html>\n')
    assert.deepEqual(scanHead(raw), { status: 200, length: raw.length - 16, framing: { kind: 'length', length: 16 } })
    assert.deepEqual(scanHead(Buffer.from('HTTP/1.1 204\r\n\r\n')), { status: 204, length: 16, framing: { kind: 'length', length: 0 } })
    assert.deepEqual(scanHead(Buffer.from('HTTP/1.1 500 Oops: no\r\nX: 1\r\n\r\nbody')), { status: 500, length: 31, framing: { kind: 'close' } })
    for (const other of [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n',
      'HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nNo colon\r\n\r\n',
      'HTTP/1.1 2000 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1',
    ])
      assert.equal(scanHead(Buffer.from(other)), undefined, other)
  })

  it('scanHead never disagrees with decodeHead and framingOf (fuzz)', () => {
    // mostly well-formed, so that both answers are exercised
    const line = fc.oneof(
      { arbitrary: fc.constantFrom('Content-Length', 'content-length', 'CONTENT-LENGTH', 'Content-Length ', ' content-length', 'Transfer-Encoding', 'X-A', 'Connection', ''), weight: 4 },
      { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
    )
    const value = fc.oneof(
      { arbitrary: fc.constantFrom('16', ' 16 ', '\t0', '\u00a016', '1, 2', '007', '9999999999999999', '999999999999999', 'chunked', ''), weight: 4 },
      { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
    )
    const eol = fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r')
    const status = fc.oneof(
      { arbitrary: fc.constantFrom('HTTP/1.0 200 OK', 'HTTP/1.1 204', 'HTTP/1.1 304 Not Modified', 'HTTP/1.0 101 x', 'HTTP/1.0 200', 'HTTP/1.0 20 OK', 'HTTP/1.0 200 a:b\u00a0'), weight: 4 },
      { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
    )
    const head = fc.tuple(status, eol, fc.array(fc.tuple(line, fc.constantFrom(':', ': ', ': ', ''), value, eol), { maxLength: 4 }), eol, fc.string({ maxLength: 10 }))
    fc.assert(
      fc.property(head, ([st, e0, hs, e1, tail]) => {
        const text = st + e0 + hs.map(([n, sep, v, e]) => n + sep + v + e).join('') + e1 + tail
        const b = Buffer.from(text, 'latin1')
        const s = scanHead(b)
        if (s === undefined) return true
        const d = decodeHead(b)
        assert.ok(d.ok, text)
        assert.equal(s.status, d.head.status, text)
        assert.equal(s.length, d.head.length, text)
        assert.deepEqual(s.framing, framingOf(d.head), text)
        return true
      }),
      { numRuns: 5000 },
    )
  })

  it('a reader fed views it may not keep (the stream engine) decides as one fed its own buffers (fuzz)', () => {
    const responses = fc.constantFrom(
      'HTTP/1.0 200 OK\r\nContent-Length: 16\r\n\r\n<html>ok</html>\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n',
      'HTTP/1.0 404 Not Found\r\n\r\nuntil the close',
      'HTTP/1.0 200 OK\nContent-Length: 2\n\nok',
      'HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort',
    )
    const feed = (r: ResponseReader, parts: Buffer[], borrowed: boolean): ReadOutcome => {
      const scratch = Buffer.alloc(256)
      for (const p of parts) {
        let d = p
        if (borrowed) {
          p.copy(scratch)
          d = scratch.subarray(0, p.length)
        }
        const o = r.push(d)
        if (o) return o.err === undefined ? { ...o, headBytes: Buffer.from(o.headBytes), body: Buffer.from(o.body) } : o
        // the bytes were the caller's: gone once push returns
        if (borrowed) scratch.fill(0x78)
      }
      const o = r.end()
      return o.err === undefined ? { ...o, headBytes: Buffer.from(o.headBytes), body: Buffer.from(o.body) } : o
    }
    fc.assert(
      fc.property(responses, fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 6 }), (text, cuts) => {
        const all = Buffer.from(text)
        const parts: Buffer[] = []
        let at = 0
        for (const c of cuts) if (at < all.length) parts.push(all.subarray(at, (at = Math.min(all.length, at + c))))
        if (at < all.length) parts.push(all.subarray(at))
        const own = feed(new ResponseReader(1024), parts, false)
        const reader = new ResponseReader(1024, true)
        // a reused reader starts afresh
        feed(reader, [Buffer.from('HTTP/1.0 500 x\r\nContent-Length: 1\r\n\r\n')], true)
        reader.reset()
        assert.deepEqual(feed(reader, parts, true), own)
      }),
      { numRuns: 2000 },
    )
  })

  it('decodes chunked bodies incrementally', () => {
    const full = Buffer.from('3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\n\r\n')
    const v = decodeChunked(full)
    assert.ok(v.ok && v.complete && v.body.toString() === 'hello')
    const part = decodeChunked(full.subarray(0, 9))
    assert.ok(part.ok && !part.complete)
    assert.equal(decodeChunked(Buffer.from('zz\r\n')).ok, false)
    assert.equal(decodeChunked(Buffer.from('3\r\nhelXX')).ok, false)
  })

  it('never throws on arbitrary bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const h = decodeHead(b)
        if (h.ok) framingOf(h.head)
        decodeChunked(b)
      }),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 8 }), (chunks) => {
        const body = Buffer.concat(chunks)
        const enc = Buffer.concat([...chunks.map((c) => Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')])), Buffer.from('0\r\n\r\n')])
        const v = decodeChunked(enc)
        return v.ok && v.complete && v.body.equals(body)
      }),
    )
  })

  it('judges status, digest, regex', () => {
    assert.equal(statusOk({ path: '/' }, 204), true)
    assert.equal(statusOk({ path: '/' }, 301), false)
    assert.equal(statusOk({ path: '/', digest: 'x' }, 500), true)
    assert.equal(statusOk({ path: '/', statusCodes: [[400, 404]] }, 404), true)
    const body = Buffer.from('Hello World')
    assert.equal(judge({ path: '/', digest: md5hex(body) }, 200, body).ok, true)
    assert.equal(judge({ path: '/', digest: '0'.repeat(32) }, 200, body).ok, false)
    const u = { path: '/', regex: 'hello', regexOptions: ['caseless'] }
    assert.equal(judge(u, 200, body, compileRegex(u)).ok, true)
    const n = { path: '/', regex: 'World', regexNoMatch: true }
    assert.equal(judge(n, 200, body, compileRegex(n)).ok, false)
    const off = { path: '/', regex: '^World', regexMinOffset: 6 }
    assert.equal(judge(off, 200, body, compileRegex(off)).ok, true)
  })

  it('genhash: options, usage errors and the hex dump format', () => {
    assert.deepEqual(parseGenhashArgs(['-s', '192.0.2.1', '-p', '80', '-u', '/']), { server: '192.0.2.1', port: 80, url: '/', ssl: false, sni: false, verbose: false, protocol: '1.0', timeout: 5 })
    const a = parseGenhashArgs(['--use-ssl', '--server=h', '-p443', '--url', '/x', '-V', 'v', '-I', '-P', '1.0c', '-t', '2', '-m', '5', '-v'])
    assert.ok('server' in a && a.ssl && a.sni && a.protocol === '1.0C' && a.timeout === 2 && a.fwmark === 5 && a.verbose && a.virtualhost === 'v')
    assert.deepEqual(parseGenhashArgs(['-s', 'h', '-p', '80', '-u', '/', '-P', '2.0']), { error: "invalid HTTP protocol version '2.0'" })
    assert.deepEqual(parseGenhashArgs(['-h']), { help: true })
    assert.deepEqual(parseGenhashArgs(['-s', 'h']), { error: '' })
    assert.equal(hexDump(Buffer.from('hello world\n')), '0000  68 65 6c 6c 6f 20 77 6f - 72 6c 64 0a               hello world.    \n')
  })
})
