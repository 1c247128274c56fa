// The fleet: one TCP listener and one HTTP listener on 0.0.0.0 inside the bench's own network namespace, so
// every 127.x.y.z address is a distinct real server. Counts accepted connections / requests; the parent
// asks over IPC ('reset' / 'get'). The HTTP listener answers every request head with one canned response
// (node:http's parser and response machinery made the fleet, not the checkers, the limit at 10,000 checks/s on
// two cores: both kad and HAProxy timed out against it).
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'

let tcp = 0
let http = 0
const tcpSrv = createServer((s) => {
  tcp++
  s.on('error', () => undefined)
  s.destroy()
})
tcpSrv.maxConnections = 60000
const body = '<html>ok</html>\n'
const response = Buffer.from(`HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
const httpSrv = createServer((s) => {
  s.on('error', () => undefined)
  let head = ''
  s.on('data', (d: Buffer) => {
    head += d.toString('latin1')
    if (!head.includes('\r\n\r\n')) return
    http++
    s.end(response)
  })
})
httpSrv.maxConnections = 60000
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
