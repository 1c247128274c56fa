// npm run bench -- netlink [count] [rounds]: add and delete COUNT addresses in a fresh namespace through kad's
// netlink library (requests batched, many per sendmsg, ACKs collected asynchronously) and through `ip -batch`.
// Last line: key=value pairs; ratio = kad time / ip time (goal <= 1). Needs root.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createNetworking } from '@kad/native'

const count = Number(process.argv[2] ?? 1000)
const rounds = Number(process.argv[3] ?? 5)
const NS = `kad-bench-netlink-${process.pid}`
const DEV = 'kbn0'
const sh = (cmd: string): string => execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' })

// 2001:db8::/32 documentation addresses, nodad so neither side waits for duplicate address detection.
const addrs = Array.from({ length: count }, (_, i) => `2001:db8:0:${(i >> 8).toString(16)}::${((i & 0xff) + 1).toString(16)}/64`)
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const v6count = (): number => (sh(`ip -n ${NS} -6 addr show dev ${DEV} scope global | grep -c inet6 || true`).trim() as unknown as number) * 1

sh(`ip netns del ${NS} 2>/dev/null || true; ip netns add ${NS}; ip -n ${NS} link add ${DEV} type veth peer name kbn1; ip -n ${NS} link set ${DEV} up`)
const dir = mkdtempSync(join(tmpdir(), 'kad-bench-netlink-'))
const net = createNetworking({ netns: `/run/netns/${NS}`, timeoutMs: 30000 })
try {
  const addFile = join(dir, 'add')
  const delFile = join(dir, 'del')
  writeFileSync(addFile, addrs.map((a) => `addr add ${a} dev ${DEV} nodad`).join('\n') + '\n')
  writeFileSync(delFile, addrs.map((a) => `addr del ${a} dev ${DEV}`).join('\n') + '\n')
  await net.rtnl.listLinks() // open the socket outside the timing

  const kad: number[] = []
  const ip: number[] = []
  for (let r = 0; r < rounds; r++) {
    let t = performance.now()
    await Promise.all(addrs.map((address) => net.rtnl.addAddress({ dev: DEV, address, flags: ['nodad'] })))
    const kadAdd = performance.now() - t
    if (v6count() !== count) throw new Error(`kad added ${v6count()} addresses, expected ${count}`)
    t = performance.now()
    await Promise.all(addrs.map((address) => net.rtnl.delAddress({ dev: DEV, address })))
    const kadDel = performance.now() - t
    if (v6count() !== 0) throw new Error('kad left addresses behind')

    t = performance.now()
    sh(`ip -n ${NS} -batch ${addFile}`)
    const ipAdd = performance.now() - t
    if (v6count() !== count) throw new Error(`ip added ${v6count()} addresses, expected ${count}`)
    t = performance.now()
    sh(`ip -n ${NS} -batch ${delFile}`)
    const ipDel = performance.now() - t
    kad.push(kadAdd + kadDel)
    ip.push(ipAdd + ipDel)
    console.log(`round ${r + 1}: kad add ${kadAdd.toFixed(1)} ms del ${kadDel.toFixed(1)} ms | ip -batch add ${ipAdd.toFixed(1)} ms del ${ipDel.toFixed(1)} ms`)
  }
  const k = median(kad)
  const i = median(ip)
  const s = net.rtnl.socket.stats
  console.log(`median of ${rounds} rounds, ${count} adds + ${count} deletes: kad ${k.toFixed(1)} ms, ip -batch ${i.toFixed(1)} ms; kad sent ${s.sent} requests in ${s.batches} sendmsg calls`)
  console.log(`count=${count} rounds=${rounds} kad_ms=${k.toFixed(1)} ip_ms=${i.toFixed(1)} kad_ops_per_s=${Math.round((2 * count) / (k / 1000))} ip_ops_per_s=${Math.round((2 * count) / (i / 1000))} ratio=${(k / i).toFixed(3)}`)
} finally {
  net.close()
  rmSync(dir, { recursive: true, force: true })
  sh(`ip netns del ${NS} 2>/dev/null || true`)
}
