import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { KeywordTree, parseConfigText, registerCoreKeywords } from '@kad/core'
import { installKeywords, interfaceCheck, validateVrrp } from '../../../plugins/vrrp/src/keywords.js'
import { netlinkBuffers, vrrpSection } from '../../../plugins/vrrp/src/model.js'

const SAMPLES = '/usr/share/doc/keepalived/samples'

function tree(): KeywordTree {
  const t = new KeywordTree()
  registerCoreKeywords(t)
  installKeywords(t.forPlugin('vrrp'))
  return t
}
/** parse and run the cross checks; messages of every diagnostic */
let shared: KeywordTree | undefined
function parse(text: string, file = 'keepalived.conf') {
  shared ??= tree()
  const r = parseConfigText(text, shared, { file })
  const extra: string[] = []
  validateVrrp(r.model, { report: (d) => extra.push(d.message) })
  const messages = [...r.diagnostics.map((d) => d.message), ...extra]
  return { ...r, section: vrrpSection(r.model), messages }
}

describe('vrrp keywords', () => {
  const saved = interfaceCheck.exists
  before(() => {
    interfaceCheck.exists = (n) => ['eth0', 'eth1', 'eth2'].includes(n)
  })
  after(() => {
    interfaceCheck.exists = saved
  })

  it('parses a full instance into the vrrp section', () => {
    const r = parse(`
global_defs {
  vrrp_version 3
  vrrp_garp_master_delay 2
  vrrp_mcast_group4 224.0.0.19
  vrrp_down_timer_adverts 4
  vrrp_lower_prio_no_advert
}
vrrp_script chk {
  script "/bin/true arg"
  interval 2
  timeout 1
  weight -20
  rise 2
  fall 3
  user nobody
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 0.5
  preempt_delay 10
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2 min_ttl 250 max_ttl 255
    192.0.2.3
  }
  virtual_ipaddress {
    192.0.2.100/24 dev eth1 label eth1:vip scope global brd +
    192.0.2.101
  }
  virtual_ipaddress_excluded {
    2001:db8::100/64
  }
  virtual_routes {
    198.51.100.0/24 via 192.0.2.254 dev eth0 table 100 metric 5
    src 192.0.2.100 to 203.0.113.0/24 dev eth0
    blackhole 203.0.113.128/25
  }
  virtual_rules {
    from 192.0.2.100 table 100 preference 100
  }
  track_script {
    chk weight 10
  }
  track_interface {
    eth1 weight -30
    eth2
  }
  notify_master "/usr/local/bin/m.sh up" root
  notify "/usr/local/bin/n.sh"
  smtp_alert
  use_vmac vrrp51
  vmac_xmit_base
  garp_master_refresh 60
}
vrrp_sync_group G1 {
  group {
    VI_1
  }
  notify_backup /bin/b.sh
}`)
    assert.deepEqual(r.messages.filter((m) => !m.includes('only 1 virtual router')), [])
    const s = r.section
    assert.equal(s.globals.version, 3)
    assert.equal(s.globals.garpMasterDelay, 2)
    assert.equal(s.globals.mcastGroup4, '224.0.0.19')
    assert.equal(s.globals.downTimerAdverts, 4)
    assert.equal(s.globals.lowerPrioNoAdvert, true)
    const i = s.instances[0]
    assert.equal(i.name, 'VI_1')
    assert.equal(i.vrid, 51)
    assert.equal(i.priority, 150)
    assert.equal(i.advertInt, 0.5)
    assert.equal(i.preemptDelay, 10)
    assert.equal(i.family, 4)
    assert.deepEqual(i.unicastPeers, [{ address: '192.0.2.2', minTtl: 250, maxTtl: 255 }, { address: '192.0.2.3' }])
    assert.deepEqual(i.vips.map((v) => [v.address, v.prefixLength, v.dev, v.label, v.scope, v.brd]), [
      ['192.0.2.100', 24, 'eth1', 'eth1:vip', 'global', '+'],
      ['192.0.2.101', 32, undefined, undefined, undefined, undefined],
    ])
    assert.equal(i.evips[0].family, 6)
    assert.equal(i.routes.length, 3)
    assert.deepEqual([i.routes[0].to, i.routes[0].via, i.routes[0].table, i.routes[0].metric], ['198.51.100.0/24', '192.0.2.254', 100, 5])
    assert.equal(i.routes[1].src, '192.0.2.100')
    assert.equal(i.routes[2].type, 'blackhole')
    assert.deepEqual([i.rules[0].from, i.rules[0].table, i.rules[0].priority], ['192.0.2.100/32', 100, 100])
    assert.deepEqual(i.trackScripts.map((t) => [t.name, t.weight]), [['chk', 10]])
    assert.deepEqual(i.trackInterfaces, [{ name: 'eth1', weight: -30, reverse: false }, { name: 'eth2', weight: 0, reverse: false }])
    assert.deepEqual(i.notify.master, { command: '/usr/local/bin/m.sh up', user: 'root' })
    assert.equal(i.smtpAlert, true)
    assert.deepEqual(i.useVmac, { name: 'vrrp51', netlinkNotify: false })
    assert.equal(i.vmacXmitBase, true)
    assert.equal(i.garpMasterRefresh, 60)
    assert.deepEqual(s.scripts[0], { name: 'chk', loc: s.scripts[0].loc, interval: 2, timeout: 1, weight: -20, reverse: false, rise: 2, fall: 3, initFail: false, script: { command: '/bin/true arg', user: 'nobody' } })
    assert.deepEqual(s.syncGroups[0].group, ['VI_1'])
    assert.equal(s.syncGroups[0].notify.backup?.command, '/bin/b.sh')
  })

  it('reports keepalived messages for bad values', () => {
    const r = parse(`
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 300
  priority abc
  advert_int -1
  virtual_ipaddress {
    192.168.300.16/24
    10.0.0.1/40
  }
  unicast_peer {
    1.2.3
  }
  authentication {
    auth_type PASS
    auth_pass 12345678910
  }
}
vrrp_instance VI_9 {
  interface nosuchif0
  virtual_router_id 9
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 192.0.2.1 }
  track_script { missing }
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 192.0.2.2 }
}
`)
    const want = [
      "(VI_1): VRID '300' not valid - must be between 1 & 255",
      '(VI_1) Priority not valid! must be between 1 & 255. Using default 100',
      '(VI_1) Advert interval (-1) not valid! Must be > 0 - ignoring',
      'VRRP parsed invalid IP 192.168.300.16/24. skipping IP...',
      'Invalid address prefix len 40 for address 10.0.0.1/40 - using 32',
      'Configuration error: VRRP instance[VI_1] malformed unicast peer address[1.2.3]. Skipping...',
      'Truncating auth_pass to 8 characters',
      '(VI_1) the virtual router id must be set',
      "WARNING - interface nosuchif0 for vrrp_instance VI_9 doesn't exist",
      '(VI_9) No VIP specified; at least one is sensible',
      '(VI_2) track script missing not found, ignoring...',
      'VI_2 and VI_3 both use VRID 51 with IPv4 on interface eth0',
    ]
    for (const w of want) assert.ok(r.messages.some((m) => m.includes(w)), `missing: ${w}\n got: ${r.messages.join('\n')}`)
    assert.equal(r.section.instances[0].auth?.pass, '12345678')
    assert.equal(r.section.instances[0].priority, 100)
    assert.notEqual(r.exitCode, 0)
  })

  it('strict mode, v2 rounding, IPv6 family and version', () => {
    const r = parse(`
global_defs { vrrp_strict }
vrrp_instance A {
  state MASTER
  interface eth0
  virtual_router_id 1
  advert_int 1
  authentication { auth_type PASS
    auth_pass x }
  virtual_ipaddress { 192.0.2.1 }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 2
  advert_int 0.3
  virtual_ipaddress { 2001:db8::1 }
}`)
    assert.ok(r.messages.includes('(A) Strict mode does not support authentication. Ignoring.'))
    assert.ok(r.messages.includes('(A) State MASTER must match being address owner'))
    const b = r.section.instances[1]
    assert.equal(b.family, 6)
    assert.equal(b.advertInt, 0.3)
    const v2 = parse('vrrp_instance C {\n interface eth0\n virtual_router_id 3\n advert_int 1.6\n virtual_ipaddress { 192.0.2.1 }\n}')
    assert.equal(v2.section.instances[0].advertInt, 2)
  })

  it('deprecated route forms and rules without preference', () => {
    const r = parse(`
static_routes {
  192.0.2.0/24 gw 198.51.100.1 or 198.51.100.2
}
static_rules {
  from 192.0.2.0/24 table 10
}
static_ipaddress {
  203.0.113.1/24 dev eth0
}`)
    assert.ok(r.messages.some((m) => m.includes('"gw" for routes is deprecated. Please use "via"')))
    assert.ok(r.messages.some((m) => m.includes('"or" for routes is deprecated. Please use "nexthop"')))
    assert.ok(r.messages.some((m) => m.includes('Rule has no preference specified - setting to 16384')))
    assert.equal(r.section.staticRoutes[0].via, '198.51.100.1')
    assert.equal(r.section.staticRules[0].priority, 16384)
    assert.equal(r.section.staticAddresses[0].dev, 'eth0')
  })

  it('fatal for unknown linkbeat / up-down delay interfaces', () => {
    const r = parse('linkbeat_interfaces {\n nosuchif9\n}\ninterface_up_down_delays {\n nosuchif9 5\n eth0 1 2\n}')
    assert.ok(r.messages.includes('unknown interface nosuchif9 specified for linkbeat interface'))
    assert.ok(r.messages.includes('unknown interface nosuchif9 specified for up/down delay'))
    assert.equal(r.exitCode, 4)
    assert.deepEqual(r.section.interfaceUpDownDelays, [{ name: 'eth0', down: 1, up: 2 }])
  })

  it('parses every Debian sample with no unknown VRRP keyword', function () {
    this.timeout(30000)
    for (const f of readdirSync(SAMPLES).filter((n) => n.startsWith('keepalived.conf'))) {
      const r = parse(readFileSync(`${SAMPLES}/${f}`, 'utf8'), `${SAMPLES}/${f}`)
      const unknown = r.diagnostics.filter((d) => /Unknown keyword/i.test(d.message) && /vrrp|static|track|notify|garp|virtual_ip|virtual_r/.test(d.keywordPath ?? d.message))
      // vrrp.lvs_syncd has a vrrp_sync_group without `group {}`: keepalived rejects its members as well
      const expected = f === 'keepalived.conf.vrrp.lvs_syncd' ? 2 : 0
      assert.equal(unknown.length, expected, unknown.map((d) => `${f}: ${d.message} ${d.keywordPath ?? ''}`).join('\n'))
    }
    const s = parse(readFileSync(`${SAMPLES}/keepalived.conf.vrrp.scripts`, 'utf8')).section
    assert.ok(s.syncGroups.length > 0 && s.instances.length > 0)
  })
})

describe('vrrp keywords that keepalived 2.2.7 does not have', () => {
  it('timer_expired_backup and thread_timer_expired are unknown keywords, as keepalived -t reports them', () => {
    const t = new KeywordTree()
    registerCoreKeywords(t)
    installKeywords(t.forPlugin('vrrp'))
    const r = parseConfigText('vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  timer_expired_backup\n  thread_timer_expired\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n', t, { file: 'k.conf' })
    const msgs = r.diagnostics.map((d) => d.message)
    assert.ok(msgs.some((m) => m.startsWith("Unknown keyword 'timer_expired_backup'")), msgs.join('\n'))
    assert.ok(msgs.some((m) => m.startsWith("Unknown keyword 'thread_timer_expired'")), msgs.join('\n'))
  })
})

describe('vrrp keywords: linkbeat_use_polling', () => {
  it('is a top-level keyword (every tracked interface) and, deprecated, an instance keyword (its own interface)', () => {
    const t = new KeywordTree()
    registerCoreKeywords(t)
    installKeywords(t.forPlugin('vrrp'))
    const r = parseConfigText('linkbeat_use_polling\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  linkbeat_use_polling\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n', t, { file: 'k.conf' })
    const msgs = r.diagnostics.map((d) => d.message)
    assert.ok(!msgs.some((m) => m.startsWith('Unknown keyword')), msgs.join('\n'))
    assert.ok(msgs.some((m) => /linkbeat_use_polling in vrrp_instance is deprecated/.test(m)), msgs.join('\n'))
    const s = vrrpSection(r.model)
    assert.equal(s.linkbeatUsePolling, true)
    assert.equal(s.instances[0].linkbeatUsePolling, true)
  })
})

describe('vrrp keywords: vrrp_netlink_{cmd,monitor}_rcv_bufs[_force]', () => {
  it('sizes and force flags reach netlinkBuffers(); a side not configured stays out', () => {
    const r = parse('global_defs {\n  vrrp_netlink_cmd_rcv_bufs 300000\n  vrrp_netlink_cmd_rcv_bufs_force\n  vrrp_netlink_monitor_rcv_bufs 100000\n  vrrp_netlink_monitor_rcv_bufs_force false\n}\n')
    assert.deepEqual(r.messages, [])
    assert.deepEqual(netlinkBuffers(r.section.globals.tuning), { cmd: { bytes: 300000, force: true }, events: { bytes: 100000, force: false } })
    assert.deepEqual(netlinkBuffers(parse('global_defs {\n  vrrp_netlink_monitor_rcv_bufs 5000\n}\n').section.globals.tuning), { events: { bytes: 5000, force: false } })
    assert.deepEqual(netlinkBuffers(parse('global_defs {\n  router_id x\n}\n').section.globals.tuning), {})
  })
  it('a size that is not a positive number is an error with its line', () => {
    const r = parse('global_defs {\n  vrrp_netlink_cmd_rcv_bufs lots\n  vrrp_netlink_monitor_rcv_bufs 0\n}\n')
    assert.equal(r.diagnostics.filter((d) => d.severity === 'error').length, 2, r.messages.join('\n'))
    assert.deepEqual(r.diagnostics.map((d) => d.loc?.line), [2, 3])
    assert.deepEqual(netlinkBuffers(r.section.globals.tuning), {})
  })
})
