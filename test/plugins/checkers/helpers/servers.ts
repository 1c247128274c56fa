/** Real servers for the checker integration tests. */
import { createServer as httpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import { createServer as httpsServer } from 'node:https'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import type { AddressInfo } from 'node:net'

export const BIG = Buffer.alloc(300_000, 'kad-')

/** routes every test uses */
export function handler(req: IncomingMessage, res: ServerResponse): void {
  switch (req.url) {
    case '/ok':
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '6' }).end('hello\n')
      return
    case '/close':
      // HTTP/1.0 style: no length, body until close
      res.writeHead(200, { Connection: 'close' })
      res.end('body until close\n')
      return
    case '/chunked':
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.write('hel')
      res.end('lo\n')
      return
    case '/big':
      res.writeHead(200, { 'Content-Length': String(BIG.length) }).end(BIG)
      return
    case '/500':
      res.writeHead(500).end('oops')
      return
    case '/404':
      res.writeHead(404).end('missing')
      return
    case '/silent':
      return // never answers
    case '/dribble': {
      res.writeHead(200, { 'Content-Length': '1000' })
      const t = setInterval(() => res.write('x'), 100)
      res.on('close', () => clearInterval(t))
      return
    }
    default:
      res.writeHead(404).end()
  }
}

export async function listen(s: Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((r) => s.listen(0, host, r))
  return (s.address() as AddressInfo).port
}

export function startHttp(): Server {
  const s = httpServer(handler)
  s.keepAliveTimeout = 100
  return s
}

export interface Pki {
  dir: string
  cert: string
  key: string
  otherCert: string
  cleanup(): void
}

/** two self-signed certificates (openssl req -x509): the server's, and an unrelated one */
export function makePki(): Pki {
  const dir = mkdtempSync(`${tmpdir()}/kad-pki-`)
  for (const n of ['server', 'other']) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/${n}.key`, '-out', `${dir}/${n}.crt`, '-days', '2', '-subj', `/CN=${n}.test`, '-addext', 'subjectAltName=DNS:server.test,IP:127.0.0.1'], { stdio: 'ignore' })
  }
  return { dir, cert: `${dir}/server.crt`, key: `${dir}/server.key`, otherCert: `${dir}/other.crt`, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export function startHttps(pki: Pki, onSni?: (name: string | undefined) => void): Server {
  const s = httpsServer({ cert: readFileSync(pki.cert), key: readFileSync(pki.key) }, handler)
  if (onSni) s.on('secureConnection', (sock) => onSni((sock as unknown as { servername?: string }).servername))
  return s
}

export async function closeServer(s: { close(cb: () => void): void; closeAllConnections?: () => void }): Promise<void> {
  s.closeAllConnections?.()
  await new Promise<void>((r) => s.close(() => r()))
}
