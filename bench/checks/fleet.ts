// The fleet: one TCP listener and one HTTP listener on 0.0.0.0 inside the bench's own network namespace, so
// every 127.x.y.z address is a distinct real server. Counts accepted connections / requests; the parent
// asks over IPC ('reset' / 'get').
import { createServer } from 'node:net'
import { createServer as httpServer } from 'node:http'
import type { AddressInfo } from 'node:net'

let tcp = 0
let http = 0
const tcpSrv = createServer((s) => {
  tcp++
  s.on('error', () => undefined)
  s.destroy()
})
tcpSrv.maxConnections = 60000
const body = Buffer.from('<html>ok</html>\n')
const httpSrv = httpServer((req, res) => {
  http++
  res.writeHead(200, { 'Content-Length': String(body.length), Connection: 'close' })
  res.end(body)
})
httpSrv.keepAliveTimeout = 1
tcpSrv.listen({ port: 0, host: '0.0.0.0', backlog: 65535 }, () => {
  httpSrv.listen({ port: 0, host: '0.0.0.0', backlog: 65535 }, () => {
    process.send!({ tcpPort: (tcpSrv.address() as AddressInfo).port, httpPort: (httpSrv.address() as AddressInfo).port })
  })
})
process.on('message', (m: string) => {
  if (m === 'reset') {
    tcp = 0
    http = 0
  }
  if (m === 'get') process.send!({ tcp, http, cpu: process.cpuUsage() })
  if (m === 'exit') process.exit(0)
})
