// Host-side behaviour of the VRRP plugin: garp_extra_if / garp_group (captured with tshark), linkbeat polling,
// track_group on static entries, use_ipvlan. Namespaces kad-vrrp2-*.
import assert from 'node:assert/strict'
import { captureGarps, instance, sh, sleep, twoHostSuite, veth, waitFor } from './helpers/lab.js'

const VIP = '192.0.2.100'

describe('vrrp: garp_extra_if and garp_group', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-g')
  const ext = (ns: string) => veth(ns, 'x0')

  it('garp_extra_if all 1: a MASTER repeats GARPs every second for its VIPs on other interfaces', async () => {
    const lab = suite.lab()
    const a = suite.a()
    ext(a)
    lab.kad(a, 'ge-a', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'garp_master_delay 0\n  garp_master_repeat 1\n  garp_extra_if all 1\n  virtual_ipaddress_excluded {\n    198.51.100.1/24 dev x0\n  }' }))
    await waitFor('MASTER', () => lab.hasAddr(a, '198.51.100.1', 'x0'))
    const seen = (await (await captureGarps(a, 'x0p', 3)).done).filter(([, ip]) => ip === '198.51.100.1')
    assert.ok(seen.length >= 2 && seen.length <= 4, `${seen.length} GARPs in 3 s`)
  })

  it('garp_group: garp_interval 0.3 over its interfaces spaces every GARP of a burst', async () => {
    const lab = suite.lab()
    const a = suite.a()
    ext(a)
    const cap = await captureGarps(a, 'x0p', 4)
    lab.kad(a, 'gg-a', 'garp_group {\n  garp_interval 0.3\n  interfaces {\n    x0\n  }\n}\n' + instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'garp_master_delay 0\n  garp_master_repeat 2\n  virtual_ipaddress_excluded {\n    198.51.100.1/24 dev x0\n    198.51.100.2/24 dev x0\n  }' }))
    const seen = (await cap.done).filter(([, ip]) => ip?.startsWith('198.51.100.'))
    assert.equal(seen.length, 4, JSON.stringify(seen))
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] - seen[i - 1][0] >= 280, `gap ${seen[i][0] - seen[i - 1][0]} ms`)
  })
})

describe('vrrp: linkbeat_interfaces / linkbeat_use_polling', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-l')
  for (const how of ['linkbeat_interfaces {\n  trk0\n}\n', 'linkbeat_use_polling\n']) {
    it(`${how.split(/\s/)[0]}: the carrier of a tracked interface is polled (peer down = FAULT), not taken from netlink`, async () => {
      const lab = suite.lab()
      const a = suite.a()
      veth(a, 'trk0')
      const d = lab.kad(a, `lb-${how.length}`, how + instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'track_interface {\n    trk0\n  }' }))
      await waitFor('MASTER', () => lab.hasAddr(a, VIP))
      sh('ip', ['-n', a, 'link', 'set', 'trk0p', 'down']) // trk0 loses its carrier
      await waitFor('FAULT', () => !lab.hasAddr(a, VIP) && d.has(/Entering FAULT STATE/), 5000)
      assert.ok(d.has(/Linkbeat reports trk0 down/), d.log)
      assert.ok(!d.has(/Netlink reports trk0/), d.log)
      sh('ip', ['-n', a, 'link', 'set', 'trk0p', 'up'])
      await waitFor('MASTER again', () => lab.hasAddr(a, VIP), 5000)
      assert.ok(d.has(/Linkbeat reports trk0 up/))
    })
  }

  it('the deprecated instance-level linkbeat_use_polling polls the instance\'s own interface', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const d = lab.kad(a, 'lb-inst', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'linkbeat_use_polling' }))
    await waitFor('MASTER', () => lab.hasAddr(a, VIP))
    sh('ip', ['-n', 'kad-vrrp2-l-sw', 'link', 'set', 'p0', 'down']) // a's eth0 loses its carrier
    try {
      await waitFor('FAULT', () => d.has(/Linkbeat reports eth0 down/) && d.has(/Entering FAULT STATE/), 5000)
    } finally {
      sh('ip', ['-n', 'kad-vrrp2-l-sw', 'link', 'set', 'p0', 'up'])
    }
    await waitFor('MASTER again', () => lab.hasAddr(a, VIP) && d.has(/Linkbeat reports eth0 up/), 5000)
    assert.ok(!d.has(/Netlink reports eth0/), d.log)
  })
})

describe('vrrp: track_group on static addresses', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-t')
  it('a deleted static address is restored; one that cannot be restored puts the track_group\'s instances in FAULT', async () => {
    const lab = suite.lab()
    const a = suite.a()
    const mk = () => veth(a, 'x0')
    mk()
    const d = lab.kad(a, 'tg-a', 'static_ipaddress {\n  203.0.113.1/24 dev x0 track_group G1\n}\ntrack_group G1 {\n  group {\n    VI_1\n  }\n}\n' +
      instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`] }))
    await waitFor('MASTER and the static address', () => lab.hasAddr(a, VIP) && lab.hasAddr(a, '203.0.113.1', 'x0'))
    sh('ip', ['-n', a, 'addr', 'del', '203.0.113.1/24', 'dev', 'x0'])
    await sleep(300)
    assert.ok(lab.hasAddr(a, '203.0.113.1', 'x0'), 'restored')
    assert.ok(lab.hasAddr(a, VIP) && !d.has(/Entering FAULT STATE/))
    sh('ip', ['-n', a, 'link', 'del', 'x0'])
    await waitFor('FAULT while it cannot be restored', () => !lab.hasAddr(a, VIP) && d.has(/Entering FAULT STATE/), 5000)
    mk()
    await waitFor('restored on the new link, MASTER again', () => lab.hasAddr(a, '203.0.113.1', 'x0') && lab.hasAddr(a, VIP), 5000)
    await d.term()
    assert.ok(!lab.hasAddr(a, '203.0.113.1', 'x0'), 'removed on stop')
  })
  it('a static route with a track_group is re-added when deleted; while it cannot be, the instances are in FAULT', async () => {
    const lab = suite.lab()
    const a = suite.a()
    veth(a, 'y0')
    const hasRoute = () => sh('ip', ['-n', a, 'route', 'show', '198.51.100.0/24']).includes('dev y0')
    const d = lab.kad(a, 'tr-a', 'static_routes {\n  198.51.100.0/24 dev y0 track_group G1\n}\ntrack_group G1 {\n  group {\n    VI_1\n  }\n}\n' +
      instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`] }))
    await waitFor('MASTER and the route', () => lab.hasAddr(a, VIP) && hasRoute())
    sh('ip', ['-n', a, 'route', 'del', '198.51.100.0/24', 'dev', 'y0'])
    await waitFor('route restored', hasRoute, 3000)
    assert.ok(!d.has(/Entering FAULT STATE/))
    sh('ip', ['-n', a, 'link', 'del', 'y0'])
    await waitFor('FAULT', () => !lab.hasAddr(a, VIP) && d.has(/Entering FAULT STATE/), 5000)
    veth(a, 'y0')
    await waitFor('route back, MASTER again', () => hasRoute() && lab.hasAddr(a, VIP), 5000)
    await d.term()
    assert.ok(!hasRoute(), 'removed on stop')
  })
})

describe('vrrp: use_ipvlan', function () {
  this.timeout(60000)
  const suite = twoHostSuite('kad-vrrp2-i')
  it('an ipvlan interface vrrp.51 carries the VIP, or (kernel without ipvlan) the instance stays in FAULT with a clear error', async () => {
    const lab = suite.lab()
    const a = suite.a()
    sh('ip', ['-n', a, 'link', 'add', 'ivtest', 'link', 'eth0', 'type', 'ipvlan', 'mode', 'l2'], { ignore: true })
    const supported = sh('ip', ['-n', a, 'link', 'show', 'ivtest'], { ignore: true }) !== ''
    sh('ip', ['-n', a, 'link', 'del', 'ivtest'], { ignore: true })
    const d = lab.kad(a, 'iv-a', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`], extra: 'use_ipvlan 192.0.2.61/24 bridge' }))
    if (supported) {
      await waitFor('VIP on the ipvlan', () => lab.hasAddr(a, VIP, 'vrrp.51'))
      const link = JSON.parse(sh('ip', ['-j', '-d', '-n', a, 'link', 'show', 'vrrp.51']))[0]
      assert.equal(link.linkinfo?.info_kind, 'ipvlan')
      await d.term()
      assert.equal(sh('ip', ['-n', a, 'link', 'show', 'vrrp.51'], { ignore: true }), '', 'removed on stop')
    } else {
      await waitFor('FAULT with the reason', () => d.has(/use_ipvlan: cannot create ipvlan interface vrrp\.51 on eth0: this kernel has no ipvlan support/) && d.has(/Entering FAULT STATE/))
      assert.ok(!lab.hasAddr(a, VIP))
    }
  })
})
