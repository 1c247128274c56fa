/**
 * A small lab for traffic tests (used inside the UML guest and on the host): a client namespace and backend
 * namespaces around a director (the namespace the caller runs in, or a given one), node TCP backends that answer
 * with their name, and a client that counts which backend answered.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'

export const sh = (cmd: string): string => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' })

export interface Lab {
  readonly client: string
  readonly backends: { ns: string; name: string; address: string }[]
  readonly servers: ChildProcess[]
  /** connects `count` times to vip:port from the client namespace; counts answers per backend name */
  connect(vip: string, port: number, count: number): Promise<Record<string, number>>
  stopBackend(name: string): void
  startBackend(name: string): Promise<void>
  destroy(): void
}

const SERVER = `const n=process.argv[1];require('net').createServer(s=>{s.on('error',()=>{});s.end(n+'\\n')}).listen(8080,'0.0.0.0',()=>console.log('ready'))`
const CLIENT = `const [vip,port,count]=process.argv.slice(1);const net=require('net');const out={};let left=+count;
function one(){return new Promise(r=>{const s=net.connect({host:vip,port:+port});let d='';const t=setTimeout(()=>{s.destroy();r('timeout')},3000);
s.on('data',b=>d+=b);s.on('error',()=>{clearTimeout(t);r('error')});s.on('close',()=>{clearTimeout(t);r(d.trim()||'empty')})})}
(async()=>{for(let i=0;i<+count;i++){const k=await one();out[k]=(out[k]||0)+1}console.log(JSON.stringify(out))})()`

/**
 * prefix: namespace name prefix (kad-<area>-); director: namespace of the director ('' = the current one).
 * Client 198.51.100.2/24 behind the director's 198.51.100.1; backend i (1-based) 203.0.113.(4i+2)/30 behind .(4i+1).
 */
export async function createLab(prefix: string, nBackends: number, director = ''): Promise<Lab> {
  const inDir = (c: string): string => (director ? `ip netns exec ${director} ${c}` : c)
  const client = `${prefix}c`
  const backends = Array.from({ length: nBackends }, (_, i) => ({ ns: `${prefix}b${i + 1}`, name: `b${i + 1}`, address: `203.0.113.${4 * (i + 1) + 2}` }))
  const servers: ChildProcess[] = []
  const startServer = (i: number): Promise<void> => new Promise<void>((resolve, reject) => {
    const b = backends[i]
    const p = spawn('ip', ['netns', 'exec', b.ns, process.execPath, '-e', SERVER, b.name], { stdio: ['ignore', 'pipe', 'inherit'] })
    servers[i] = p
    const t = setTimeout(() => reject(new Error(`backend ${b.name} did not start`)), 90_000)
    p.stdout!.once('data', () => { clearTimeout(t); resolve() })
    p.once('exit', (c) => { clearTimeout(t); reject(new Error(`backend ${b.name} exited ${c}`)) })
  })
  const destroy = (): void => {
    for (const s of servers) s.kill('SIGKILL')
    for (const ns of [client, ...backends.map((b) => b.ns)]) sh(`ip netns del ${ns} 2>/dev/null || true`)
    sh(inDir(`ip link del ${prefix}kc 2>/dev/null || true`))
  }
  try {
    sh(`ip netns add ${client}`)
    sh(`ip link add ${prefix}kc type veth peer name eth0 netns ${client}`)
    if (director) sh(`ip link set ${prefix}kc netns ${director}`)
    sh(inDir(`ip addr add 198.51.100.1/24 dev ${prefix}kc`))
    sh(inDir(`ip link set ${prefix}kc up`))
    sh(`ip -n ${client} addr add 198.51.100.2/24 dev eth0 && ip -n ${client} link set eth0 up && ip -n ${client} link set lo up && ip -n ${client} route add default via 198.51.100.1`)
    for (const [i, b] of backends.entries()) {
      const gw = `203.0.113.${4 * (i + 1) + 1}`
      sh(`ip netns add ${b.ns}`)
      sh(`ip link add ${prefix}k${i + 1} type veth peer name eth0 netns ${b.ns}`)
      if (director) sh(`ip link set ${prefix}k${i + 1} netns ${director}`)
      sh(inDir(`ip addr add ${gw}/30 dev ${prefix}k${i + 1}`))
      sh(inDir(`ip link set ${prefix}k${i + 1} up`))
      sh(`ip -n ${b.ns} addr add ${b.address}/30 dev eth0 && ip -n ${b.ns} link set eth0 up && ip -n ${b.ns} link set lo up && ip -n ${b.ns} route add default via ${gw}`)
    }
    sh(inDir('sysctl -qw net.ipv4.ip_forward=1'))
    await Promise.all(backends.map((_b, i) => startServer(i)))
  } catch (e) {
    destroy()
    throw e
  }
  return {
    client,
    backends,
    servers,
    async connect(vip, port, count) {
      const out = await new Promise<string>((resolve, reject) => {
        const p = spawn('ip', ['netns', 'exec', client, process.execPath, '-e', CLIENT, vip, String(port), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] })
        let o = ''
        p.stdout!.on('data', (b) => (o += b))
        p.on('exit', (c) => (c === 0 ? resolve(o) : reject(new Error(`client exited ${c}`))))
      })
      return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>
    },
    stopBackend(name) {
      const i = backends.findIndex((b) => b.name === name)
      servers[i]?.kill('SIGKILL')
    },
    startBackend(name) {
      return startServer(backends.findIndex((b) => b.name === name))
    },
    destroy,
  }
}
