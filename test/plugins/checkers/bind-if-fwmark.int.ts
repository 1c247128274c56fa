// bind_if and fwmark of DNS_CHECK, UDP_CHECK and PING_CHECK, on the wire. The checker's sockets live in namespace
// C, which reaches the server address 192.0.2.10 (in namespace S) over two veths: vA (the main table's route) and
// vB (a worse route, and table 100 for fwmark 42). S drops whatever reaches 192.0.2.10 through vA, so a check
// passes only when its packets leave through vB: by bind_if vB (SO_BINDTODEVICE) or fwmark 42 (SO_MARK, policy
// routing). An nftables `meta mark` counter in C sees the marked packets.
import { strict as assert } from 'node:assert'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHost, expectCases, type TestHost } from './helpers/host.js'
import { ALL_CHECKER_PLUGINS } from './helpers/all-plugins.js'

const C = `kad-chk2-bifc-${process.pid}`
const S = `kad-chk2-bifs-${process.pid}`
const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' })
const nft = (ns: string, script: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const UDP_ECHO = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('192.0.2.10', 9000))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(b'\\xca\\xfe' + d, a)
`

describe('bind_if and fwmark of the UDP-based and ICMP checkers', function () {
  this.timeout(40000)
  const children: ChildProcess[] = []
  let host: TestHost
  before(async function () {
    if (process.getuid?.() !== 0) this.skip() // namespaces, raw sockets and SO_MARK need root; CI runs as root
    ip('netns', 'add', C)
    ip('netns', 'add', S)
    ip('-n', C, 'link', 'add', 'vA', 'type', 'veth', 'peer', 'name', 'sA', 'netns', S)
    ip('-n', C, 'link', 'add', 'vB', 'type', 'veth', 'peer', 'name', 'sB', 'netns', S)
    for (const [ns, dev, addr, addr6] of [
      [C, 'vA', '198.51.100.1/24', '2001:db8:a::1/64'],
      [C, 'vB', '203.0.113.1/24', '2001:db8:b::1/64'],
      [S, 'sA', '198.51.100.2/24', '2001:db8:a::2/64'],
      [S, 'sB', '203.0.113.2/24', '2001:db8:b::2/64'],
    ]) {
      ip('-n', ns, 'addr', 'add', addr, 'dev', dev)
      ip('-n', ns, '-6', 'addr', 'add', addr6, 'dev', dev, 'nodad')
      ip('-n', ns, 'link', 'set', dev, 'up')
    }
    for (const ns of [C, S]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.icmp_ratelimit=0'])
    }
    ip('-n', S, 'addr', 'add', '192.0.2.10/32', 'dev', 'lo')
    ip('-n', C, 'route', 'add', '192.0.2.10/32', 'via', '198.51.100.2', 'dev', 'vA')
    ip('-n', C, 'route', 'add', '192.0.2.10/32', 'via', '203.0.113.2', 'dev', 'vB', 'metric', '100')
    ip('-n', C, 'route', 'add', '192.0.2.10/32', 'via', '203.0.113.2', 'dev', 'vB', 'table', '100')
    ip('-n', C, 'rule', 'add', 'fwmark', '42', 'table', '100')
    ip('-n', S, '-6', 'addr', 'add', '2001:db8:10::10/128', 'dev', 'lo')
    ip('-n', C, '-6', 'route', 'add', '2001:db8:10::10/128', 'via', '2001:db8:a::2', 'dev', 'vA', 'metric', '10')
    ip('-n', C, '-6', 'route', 'add', '2001:db8:10::10/128', 'via', '2001:db8:b::2', 'dev', 'vB', 'metric', '100')
    ip('-n', C, '-6', 'route', 'add', '2001:db8:10::10/128', 'via', '2001:db8:b::2', 'dev', 'vB', 'table', '100')
    ip('-n', C, '-6', 'rule', 'add', 'fwmark', '42', 'table', '100')
    nft(S, 'table inet kadf {\n chain in {\n type filter hook input priority 0; policy accept;\n iifname "sA" ip daddr 192.0.2.10 drop\n iifname "sA" ip6 daddr 2001:db8:10::10 drop\n }\n}\n')
    nft(C, 'table inet kadm {\n chain out {\n type filter hook output priority 0; policy accept;\n meta mark 42 counter\n }\n}\n')
    const inS = (cmd: string, ...args: string[]) => {
      const c = spawn('ip', ['netns', 'exec', S, cmd, ...args], { stdio: 'ignore' })
      children.push(c)
    }
    inS('/usr/bin/python3', '-c', UDP_ECHO)
    inS('dnsmasq', '-k', '-p', '53', '--listen-address=192.0.2.10', '--bind-interfaces', '-C', '/dev/null', '--no-resolv', '--no-hosts', '--local=/test/', '--host-record=ok.test,192.0.2.1', '--pid-file=', '--user=root')
    await sleep(700)
    const netns = { netns: `/run/netns/${C}` }
    host = await createHost(ALL_CHECKER_PLUGINS, { 'checker-dns': netns, 'checker-udp': netns, 'checker-ping': netns })
  })
  after(async () => {
    for (const c of children) c.kill('SIGTERM')
    await sleep(100)
    for (const ns of [C, S]) {
      try {
        ip('netns', 'del', ns)
      } catch {
        /* not created */
      }
    }
  })

  it('a check goes out the bind_if interface; fwmark marks its packets (policy routing and an nft counter see it)', async () => {
    const udp = (extra: string) => `UDP_CHECK {\n connect_timeout 1\n retry 0\n connect_port 9000\n payload 0102\n require_reply cafe0102\n ${extra}\n }`
    const dns = (extra: string) => `DNS_CHECK {\n connect_timeout 1\n retry 0\n connect_port 53\n type A\n name ok.test\n ${extra}\n }`
    const ping = (extra: string) => `PING_CHECK {\n connect_timeout 1\n retry 0\n ${extra}\n }`
    const reasons = await expectCases(host, '192.0.2.10', 9000, [
      [udp(''), false],
      [udp('bind_if vB'), 1],
      [udp('bind_if vA'), false],
      [udp('fwmark 42'), 1],
      [dns(''), false],
      [dns('bind_if vB'), 1],
      [dns('fwmark 42'), 1],
      [ping(''), false],
      [ping('bind_if vB'), 1],
      [ping('bind_if vA'), false],
      [ping('fwmark 42'), 1],
      [udp('bind_if nosuchif0'), false],
    ], 1200, 15000)
    assert.match(reasons[0], /timeout/)
    assert.match(reasons[11], /ENODEV|No such device/)
    const listing = execFileSync('ip', ['netns', 'exec', C, 'nft', 'list', 'chain', 'inet', 'kadm', 'out'], { encoding: 'utf8' })
    const packets = Number(/packets (\d+)/.exec(listing)?.[1] ?? 0)
    // three marked checks every 0.2 s for more than a second
    assert.ok(packets >= 6, listing)
  })

  it('PING_CHECK over IPv6 (ICMPv6 raw socket): bind_if and fwmark choose the path', async () => {
    const ping = (extra: string) => `PING_CHECK {\n connect_timeout 1\n retry 0\n ${extra}\n }`
    const cases: [string, boolean][] = [
      [ping(''), false],
      [ping('bind_if vB'), true],
      [ping('bind_if vA'), false],
      [ping('fwmark 42'), true],
    ]
    const text = cases
      .map(([c], i) => `virtual_server 2001:db8:99::${i + 1} 80 {\n delay_loop 0.2\n lb_algo rr\n lb_kind DR\n protocol TCP\n alpha\n real_server 2001:db8:10::10 80 {\n weight 1\n ${c}\n }\n}`)
      .join('\n')
    const r = await host.run(text)
    try {
      const want = JSON.stringify(cases.map(([, up]) => up))
      const now = () => JSON.stringify(r.latest()?.virtualServers.map((v) => v.realServers.length === 1))
      await r.until(() => now() === want, 10000)
      await sleep(1000)
      assert.equal(now(), want)
    } finally {
      await r.stop()
    }
  })
})
