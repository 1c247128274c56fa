import { strict as assert } from 'node:assert'
import { readFileSync, readdirSync } from 'node:fs'
import { Ajv } from 'ajv'
import { CHECKERS_SCHEMA, checkersSection, type CheckersSection } from '@kad/plugin-checkers'
import { createHost, type TestHost } from './helpers/host.js'
import { ALL_CHECKER_PLUGINS } from './helpers/all-plugins.js'

const DIR = '/usr/share/doc/keepalived/samples'
const CHECKER_PATH = /^(virtual_server|virtual_server_group|SSL|track_file)/

function countBlocks(text: string): number {
  const noComments = text.split('\n').map((l) => l.replace(/[!#].*$/, '')).join('\n')
  return (noComments.match(/\b(TCP_CHECK|HTTP_GET|SSL_GET|MISC_CHECK|SMTP_CHECK|DNS_CHECK|UDP_CHECK|PING_CHECK|FILE_CHECK)\s*\{/g) ?? []).length
}

describe('Debian keepalived samples with checkers parse into the model', () => {
  let host: TestHost
  const validate = new Ajv({ allErrors: true, strict: false }).compile(CHECKERS_SCHEMA)
  before(async () => {
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  const files = readdirSync(DIR).filter((f) => f.startsWith('keepalived.conf') && readFileSync(`${DIR}/${f}`, 'utf8').includes('virtual_server'))

  for (const f of files) {
    it(f, () => {
      const text = readFileSync(`${DIR}/${f}`, 'utf8')
      const r = host.parse(text)
      const mine = r.diagnostics.filter((d) => CHECKER_PATH.test(d.keywordPath ?? '') && d.severity !== 'deprecated')
      const s = checkersSection(r.model)
      assert.ok(validate(s), JSON.stringify(validate.errors))
      assert.ok(s.virtualServers.length > 0)
      const blocks = s.virtualServers.flatMap((v) => v.realServers.flatMap((rs) => rs.checkers))
      // SMTP_CHECK's extra host {} blocks become extra checkers
      const hostExtra = (text.match(/^\s*host\s*\{/gm)?.length ?? 0) - (text.match(/SMTP_CHECK[^}]*?host\s*\{/gs)?.length ?? 0)
      assert.equal(blocks.length, countBlocks(text) + Math.max(0, hostExtra), 'checker blocks')
      // only the known sample quirks are diagnosed
      const allowed = [/no port specified and not persistent/, /Invalid lvs_scheduler/, /Address family/, /no protocol set/, /no scheduler set/, /no forwarding method set/, /protocol specified for fwmark/, /has no url/]
      for (const d of mine) assert.ok(allowed.some((a) => a.test(d.message)), `${f}:${d.loc?.line} ${d.message}`)
      // the model survives JSON (it crosses IPC)
      assert.deepEqual(JSON.parse(JSON.stringify(s)), s)
    })
  }

  it('keepalived.conf.quorum: quorum, hysteresis, scripts, alpha/omega, connect_port', () => {
    const s = checkersSection(host.parse(readFileSync(`${DIR}/keepalived.conf.quorum`, 'utf8')).model)
    const vs = s.virtualServers[0]
    assert.equal(vs.quorum > 0, true)
    assert.ok(vs.quorumUp?.command && vs.quorumDown?.command)
    assert.equal(vs.alpha, true)
    assert.equal(vs.omega, true)
    const tcp = vs.realServers.flatMap((r) => r.checkers).find((c) => c.type === 'TCP_CHECK')!
    assert.equal(typeof tcp.common.connectPort, 'number')
  })

  it('keepalived.conf.SSL_GET: urls with digests, persistence, SSL', () => {
    const s: CheckersSection = checkersSection(host.parse(readFileSync(`${DIR}/keepalived.conf.SSL_GET`, 'utf8')).model)
    const ssl = s.virtualServers.flatMap((v) => v.realServers.flatMap((r) => r.checkers)).filter((c) => c.type === 'SSL_GET')
    assert.ok(ssl.length > 0)
    const urls = (ssl[0].options as { urls: { path: string; digest?: string }[] }).urls
    assert.ok(urls.length >= 2)
    assert.match(urls[0].digest!, /^[0-9a-f]{32}$/)
    assert.ok(s.virtualServers.some((v) => v.persistence?.timeout))
  })

  it('keepalived.conf.virtual_server_group: ranges and fwmarks', () => {
    const s = checkersSection(host.parse(readFileSync(`${DIR}/keepalived.conf.virtual_server_group`, 'utf8')).model)
    assert.ok(s.groups.length > 0)
    const entries = s.groups.flatMap((g) => g.entries)
    assert.ok(entries.some((e) => e.kind === 'range' && e.last !== e.address))
    assert.ok(s.virtualServers.some((v) => v.kind === 'group'))
  })

  it('keepalived.conf.SMTP_CHECK: helo_name, connect_ip and bindto from host blocks', () => {
    const s = checkersSection(host.parse(readFileSync(`${DIR}/keepalived.conf.SMTP_CHECK`, 'utf8')).model)
    const smtp = s.virtualServers.flatMap((v) => v.realServers.flatMap((r) => r.checkers)).filter((c) => c.type === 'SMTP_CHECK')
    assert.ok(smtp.every((c) => (c.options as { heloName?: string }).heloName === 'foo.bar.com'))
    assert.ok(smtp.some((c) => c.common.connectIp === '192.168.155.10'))
    assert.ok(smtp.some((c) => c.common.bindTo === '172.16.1.2' && c.common.connectPort === 25))
  })

  it('keepalived.conf.status_code and misc_check', () => {
    const s = checkersSection(host.parse(readFileSync(`${DIR}/keepalived.conf.status_code`, 'utf8')).model)
    const http = s.virtualServers.flatMap((v) => v.realServers.flatMap((r) => r.checkers)).find((c) => c.type === 'SSL_GET')!
    const urls = (http.options as { urls: { statusCodes?: number[][] }[] }).urls
    assert.deepEqual(urls[0].statusCodes, [[200, 299], [400, 499], [503, 503], [505, 505]])
    assert.deepEqual(urls[1].statusCodes, [[200, 200]])
    const m = checkersSection(host.parse(readFileSync(`${DIR}/keepalived.conf.misc_check`, 'utf8')).model)
    const misc = m.virtualServers.flatMap((v) => v.realServers.flatMap((r) => r.checkers)).find((c) => c.type === 'MISC_CHECK')!
    assert.ok((misc.options as { path?: string }).path)
  })
})

describe('virtual_server validation messages (keepalived 2.2.7 wording)', () => {
  let host: TestHost
  before(async () => {
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  const msgs = (t: string) => host.parse(t).messages
  it('reports bad scheduler, method, protocol, weight, status code, real server address', () => {
    const m = msgs(`
virtual_server 10.0.0.1 80 {
  lb_algo foo
  lb_kind XYZ
  protocol ICMP
  real_server 192.168.1.300 80 {
  }
  real_server 192.168.1.3 80 {
    weight -5
    HTTP_GET {
      url {
        path /
        status_code 999
      }
    }
  }
}`)
    for (const want of [
      "Invalid lvs_scheduler 'foo' - ignoring",
      'PARSER : unknown [XYZ] routing method for virtual server.',
      'Unknown protocol ICMP - ignoring',
      'Invalid real server ip address/port 192.168.1.300/80 - skipping',
      'Real server weight -5 is outside range 0-2147483647',
      "Invalid HTTP_GET status code '999'",
      'Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP',
      "Virtual server [10.0.0.1]:udp:80: no scheduler set, setting default 'wlc'",
      'Virtual server [10.0.0.1]:udp:80: no forwarding method set, setting default NAT',
    ]) {
      assert.ok(m.includes(want), `missing: ${want}\n${m.join('\n')}`)
    }
  })
})
