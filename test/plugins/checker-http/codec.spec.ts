import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { decodeChunked, decodeHead, encodeRequest, framingOf, judge, statusOk, compileRegex, md5hex, hexDump, parseGenhashArgs, hostHeader } from '@kad/plugin-checker-http'

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
