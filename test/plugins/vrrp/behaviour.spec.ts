import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Trackers } from '../../../plugins/vrrp/src/tracking.js'
import { AcceptFirewall, nftOptions, nftScript, vmacFilterScript, VmacMulticastFilter } from '../../../plugins/vrrp/src/firewall.js'
import { extraGarpVips, GarpPacer } from '../../../plugins/vrrp/src/garp.js'
import { carryPairs, instanceIdentity, planReload } from '../../../plugins/vrrp/src/runtime.js'
import { runNotifyScripts, VrrpInstance } from '../../../plugins/vrrp/src/instance.js'
import { initialState, step, type FsmConfig } from '../../../plugins/vrrp/src/fsm.js'
import { defaultGlobals, emptySection, type VipModel, type VrrpInstanceModel, type VrrpSection } from '../../../plugins/vrrp/src/model.js'

const log = { limited: () => undefined } as never

describe('vrrp: IGMP/MLD filter on VMACs (nftables tables kad_vmac, as keepalived 2.2.7)', () => {
  it('IPv4 VMACs: IGMP re-sent from the parent and dropped; IPv6: MLDv2 the same, router solicitations dropped', () => {
    assert.equal(vmacFilterScript([{ name: 'vrrp.9', parent: 'eth0', family: 4 }, { name: 'vrrp.10', parent: 'eth1', family: 6 }, { name: 'vrrp.9', parent: 'eth0', family: 4 }]), [
      'table ip kad_vmac', 'delete table ip kad_vmac', 'table ip6 kad_vmac', 'delete table ip6 kad_vmac',
      'table ip kad_vmac {', '  map vmac_map {', '    type iface_index : iface_index', '    elements = { "vrrp.9" : "eth0" }', '  }',
      '  chain out {', '    type filter hook output priority -1; policy accept;',
      '    ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map @vmac_map drop', '  }', '}',
      'table ip6 kad_vmac {', '  map vmac_map {', '    type iface_index : iface_index', '    elements = { "vrrp.10" : "eth1" }', '  }',
      '  set vmac_set {', '    type iface_index', '    elements = { "vrrp.10" }', '  }',
      '  chain out {', '    type filter hook output priority -1; policy accept;',
      '    icmpv6 type mld2-listener-report meta oifkind "macvlan" dup to ip6 daddr device oif map @vmac_map drop',
      '    icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop', '  }', '}', '',
    ].join('\n'))
    assert.equal(vmacFilterScript([]), 'table ip kad_vmac\ndelete table ip kad_vmac\ntable ip6 kad_vmac\ndelete table ip6 kad_vmac\n')
  })
  it('VmacMulticastFilter: one transaction per change, the tables deleted when the last VMAC goes', async () => {
    const scripts: string[] = []
    const log = { limited: () => undefined } as unknown as ConstructorParameters<typeof VmacMulticastFilter>[0]
    const f = new VmacMulticastFilter(log, async (s) => void scripts.push(s))
    await f.set('A', [{ name: 'vrrp.1', parent: 'eth0', family: 4 }])
    await f.set('B', [{ name: 'vrrp.2', parent: 'eth0', family: 4 }])
    assert.match(scripts[1], /"vrrp\.1" : "eth0", "vrrp\.2" : "eth0"/)
    await f.clear('A')
    await f.clear('B')
    assert.equal(scripts.length, 4)
    assert.doesNotMatch(scripts[3], /chain/)
    await f.close()
    assert.equal(scripts.length, 4, 'nothing applied: nothing to delete')
  })
})

describe('vrrp: no_accept firewall (nftables table kad_vrrp)', () => {
  it('the script drops traffic to and from the VIPs, neighbour discovery excepted, in one transaction', () => {
    const s = nftScript([{ family: 4, address: '192.0.2.100' }, { family: 6, address: '2001:db8::100' }, { family: 4, address: '192.0.2.100' }])
    assert.match(s, /^table inet kad_vrrp\ndelete table inet kad_vrrp\ntable inet kad_vrrp \{/)
    assert.match(s, /type ipv4_addr\n {4}elements = \{ 192\.0\.2\.100 \}/)
    assert.match(s, /type ipv6_addr\n {4}elements = \{ 2001:db8::100 \}/)
    assert.match(s, /hook input priority -1; policy accept;\n {4}ip6 daddr @vips6 icmpv6 type \{ nd-neighbor-solicit, nd-neighbor-advert \} accept\n {4}ip daddr @vips4 drop\n {4}ip6 daddr @vips6 drop/)
    assert.match(s, /hook output priority -1;[^}]*\}[^}]*ip saddr @vips4 drop\n {4}ip6 saddr @vips6 drop/)
  })
  it('keepalived\'s nftables TABLE, nftables_priority and nftables_counters are honoured', () => {
    const o = nftOptions({ nftables: ['ka_test'], nftables_priority: ['-5'], nftables_counters: [] })
    assert.deepEqual(o, { table: 'ka_test', priority: -5, counters: true })
    const s = nftScript([{ family: 4, address: '192.0.2.1' }], o)
    assert.match(s, /^table inet ka_test\ndelete table inet ka_test\ntable inet ka_test \{/)
    assert.match(s, /hook input priority -5;[\s\S]*ip daddr @vips4 counter drop/)
    assert.deepEqual(nftOptions({ nftables: [] }), { table: undefined, priority: undefined, counters: false })
  })
  it('an empty set has no elements line; no address at all deletes the table', () => {
    assert.doesNotMatch(nftScript([{ family: 4, address: '192.0.2.1' }]), /elements = \{ \}/)
    assert.equal(nftScript([]), 'table inet kad_vrrp\ndelete table inet kad_vrrp\n')
  })
  it('AcceptFirewall keeps each instance\'s VIPs, rewrites on change, deletes the table when the last goes', async () => {
    const scripts: string[] = []
    const fw = new AcceptFirewall(log, async (s) => void scripts.push(s))
    await fw.clear('VI_0') // nothing was applied: no nft run
    assert.equal(scripts.length, 0)
    await fw.set('VI_1', [{ family: 4, address: '192.0.2.100' }])
    await fw.set('VI_2', [{ family: 4, address: '192.0.2.101' }])
    assert.match(scripts[1], /elements = \{ 192\.0\.2\.100, 192\.0\.2\.101 \}/)
    await fw.clear('VI_1')
    assert.match(scripts[2], /elements = \{ 192\.0\.2\.101 \}/)
    await fw.close()
    assert.equal(scripts[3], nftScript([]))
    await fw.close()
    assert.equal(scripts.length, 4, 'nothing left to delete')
  })
  it('accept mode as keepalived: on by default, off with no_accept or strict mode; the address owner always accepts', () => {
    const noAccept = (o: Partial<VrrpInstanceModel>, strict = false) =>
      new VrrpInstance({ name: 'VI_1', vrid: 1, priority: 100, family: 4, advertInt: 1, state: 'BACKUP', ...o } as VrrpInstanceModel, { globals: { ...defaultGlobals(), strict }, log: { child: () => log } } as never).noAccept
    assert.equal(noAccept({}), false)
    assert.equal(noAccept({ accept: false }), true)
    assert.equal(noAccept({}, true), true)
    assert.equal(noAccept({ strict: true }), true)
    assert.equal(noAccept({ accept: true }, true), false)
    assert.equal(noAccept({ accept: false, priority: 255 }), false)
  })
  it('advert packets are built once per priority and destination: the next send only bumps the IPv4 id; a reload rebuilds', () => {
    const vip = { address: '192.0.2.100', family: 4, prefixLength: 24, flags: [], noTrack: false, useVmac: false } as unknown as VipModel
    const model = { name: 'VI_1', vrid: 51, priority: 200, family: 4, advertInt: 0.01, version: 3, state: 'BACKUP', vips: [vip], evips: [], routes: [], rules: [], unicastPeers: [] } as unknown as VrrpInstanceModel
    const inst = new VrrpInstance(model, { globals: defaultGlobals(), log: { child: () => log } } as never)
    ;(inst as unknown as { src: string }).src = '192.0.2.1'
    const packet = (prio: number) => (inst as unknown as { advertPacket(p: number, dst: string): Buffer }).advertPacket(prio, '224.0.0.18')
    const first = packet(200)
    const bytes = Buffer.from(first)
    const again = packet(200)
    assert.equal(again, first, 'the same buffer is sent again')
    assert.equal(again.readUInt16BE(4), bytes.readUInt16BE(4) + 1, 'with the next IP id')
    assert.deepEqual(Buffer.concat([again.subarray(0, 4), again.subarray(6)]), Buffer.concat([bytes.subarray(0, 4), bytes.subarray(6)]))
    // exactly what a fresh encoding with that id gives
    const fresh = inst.buildAdvert(200, '224.0.0.18')
    fresh.writeUInt16BE(again.readUInt16BE(4), 4)
    assert.deepEqual(again, fresh)
    const lower = packet(150)
    assert.notEqual(lower, first)
    assert.equal(lower[20 + 2], 150, 'a new priority builds a new packet')
    inst.updateInPlace({ ...model, vips: [{ ...vip, address: '192.0.2.101' }] })
    assert.equal(packet(150).subarray(28, 32).join('.'), '192.0.2.101', 'a reload that changes the instance rebuilds it')
  })
  it('an nft failure is logged, not thrown', async () => {
    const seen: string[] = []
    const fw = new AcceptFirewall({ limited: (_k: string, _l: string, m: string) => seen.push(m) } as never, async () => { throw new Error('no nft') })
    await fw.set('VI_1', [{ family: 4, address: '192.0.2.100' }])
    assert.match(seen[0], /cannot update nftables table kad_vrrp: no nft/)
  })
})

describe('vrrp: notify_deleted and removal at reload', () => {
  const cfg: FsmConfig = {
    version: 3, priority: 100, advertIntCs: 100, initialState: 'BACKUP', preempt: true, preemptDelayMs: 0, downTimerAdverts: 3,
    lowerPrioNoAdvert: false, higherPrioSendAdvert: false, ownerIgnoreAdverts: false, primaryIp: '192.0.2.1',
  }
  it('a removed MASTER sends priority 0, releases its VIPs and notifies DELETED (or FAULT) instead of STOP', () => {
    let s = step(cfg, initialState(cfg), { type: 'startup', now: 0 }).state
    s = step(cfg, s, { type: 'masterDown', now: 4000 }).state
    const r = step(cfg, s, { type: 'shutdown', now: 5000, notifyAs: 'DELETED' })
    assert.deepEqual(r.actions.filter((a) => a.type !== 'cancelAdvertTimer'), [
      { type: 'sendAdvert', priority: 0 }, { type: 'removeVips' }, { type: 'notify', from: 'MASTER', to: 'DELETED', reason: 'deleted' },
    ])
    assert.deepEqual(step(cfg, s, { type: 'shutdown', now: 5000 }).actions.at(-1), { type: 'notify', from: 'MASTER', to: 'STOP', reason: 'shutdown' })
  })
  it('DELETED runs the notify_deleted script (if any) then notify with INSTANCE name DELETED prio', () => {
    const calls: string[] = []
    const run = (s: { command: string }, extra?: string[]) => calls.push([s.command, ...(extra ?? [])].join(' '))
    runNotifyScripts({ deleted: { command: '/d' }, notify: { command: '/n' } }, 'DELETED', ['INSTANCE', 'VI_1', 'DELETED', '100'], run)
    runNotifyScripts({ deleted: { command: '' }, notify: { command: '/n' } }, 'DELETED', ['INSTANCE', 'VI_2', 'DELETED', '90'], run)
    assert.deepEqual(calls, ['/d', '/n INSTANCE VI_1 DELETED 100', '/n INSTANCE VI_2 DELETED 90'])
  })
})

describe('vrrp: reload plan (keepalived clear_diff_vrrp)', () => {
  const inst = (name: string, vrid: number, priority = 100): VrrpInstanceModel => ({
    name, vrid, priority, loc: `f:${vrid}`, state: 'BACKUP', interface: 'eth0', advertInt: 1, family: 4, vips: [], evips: [], routes: [], rules: [],
    preempt: true, preemptDelay: 0, unicastPeers: [], unicastFaultNoPeer: false, trackSrcIp: false, dontTrackPrimary: false, vmacXmitBase: true,
    useVmacAddr: false, noVirtualIpaddress: false, promoteSecondaries: false, trackScripts: [], trackInterfaces: [], trackFiles: [], trackProcesses: [], notify: {},
  })
  const sec = (...instances: VrrpInstanceModel[]): VrrpSection => ({ ...emptySection(), instances })
  it('keeps unchanged instances (source locations ignored), removes and adds the others', () => {
    const p = planReload(sec(inst('A', 1), inst('B', 2), inst('C', 3)), sec({ ...inst('A', 1), loc: 'g:9' }, { ...inst('C', 3), advertInt: 2 }, inst('D', 4)))
    assert.deepEqual(p, { full: false, keep: ['A'], update: [], remove: ['B', 'C'], add: ['C', 'D'] })
  })
  it('an instance whose addresses or non-owner priority alone changed is kept and updated in place', () => {
    const vip = { address: '192.0.2.100', family: 4 as const, prefixLength: 24, flags: [], noTrack: false, useVmac: false, loc: '' }
    const p = planReload(sec(inst('A', 1), inst('B', 2), inst('C', 3)), sec({ ...inst('A', 1), vips: [vip] }, { ...inst('B', 2), vips: [vip], advertInt: 2 }, inst('C', 3, 90)))
    assert.deepEqual(p, { full: false, keep: ['A', 'C'], update: ['A', 'C'], remove: ['B'], add: ['B'] })
    const owner = planReload(sec(inst('A', 1, 100)), sec(inst('A', 1, 255)))
    assert.deepEqual(owner, { full: false, keep: [], update: [], remove: ['A'], add: ['A'] }, 'becoming the owner restarts')
  })
  it('a change outside the instance list, or to a sync-group member, builds a new stack (full)', () => {
    const changedGlobals = sec(inst('A', 1))
    changedGlobals.globals = { ...changedGlobals.globals, garpMasterDelay: 1 }
    assert.equal(planReload(sec(inst('A', 1)), changedGlobals).full, true)
    assert.equal(planReload(sec(inst('A', 1)), sec(inst('A', 1)), { x: 1 }, { x: 2 }).full, true)
    const g = (s: VrrpSection) => ({ ...s, syncGroups: [{ name: 'G', loc: '', group: ['A', 'B'], syncGroupTrackingWeight: false, trackScripts: [], trackInterfaces: [], trackFiles: [], trackProcesses: [], notify: {} }] })
    assert.equal(planReload(g(sec(inst('A', 1), inst('B', 2))), g(sec(inst('A', 1), inst('B', 2, 90)))).full, true)
    assert.equal(planReload(g(sec(inst('A', 1), inst('B', 2), inst('C', 3))), g(sec(inst('A', 1), inst('B', 2)))).full, false)
  })
})

describe('vrrp: which new instance carries an old one on at a reload (keepalived vrrp_exist)', () => {
  const inst = (name: string, vrid: number, o: Partial<VrrpInstanceModel> = {}): VrrpInstanceModel => ({
    name, vrid, priority: 100, loc: '', state: 'BACKUP', interface: 'eth0', advertInt: 1, family: 4, vips: [], evips: [], routes: [], rules: [],
    preempt: true, preemptDelay: 0, unicastPeers: [], unicastFaultNoPeer: false, trackSrcIp: false, dontTrackPrimary: false, vmacXmitBase: true,
    useVmacAddr: false, noVirtualIpaddress: false, promoteSecondaries: false, trackScripts: [], trackInterfaces: [], trackFiles: [], trackProcesses: [], notify: {}, ...o,
  })
  it('same VRID, family and interface, whatever the name and the rest', () => {
    const pairs = carryPairs([inst('A', 1), inst('B', 2), inst('C', 3)], [inst('A2', 1, { advertInt: 3, priority: 50 }), inst('B', 2, { interface: 'eth1' }), inst('C', 3, { family: 6 })])
    assert.deepEqual([...pairs], [['A', 'A2']])
  })
  it('unicast and multicast do not match; unicast needs the same source; use_vmac and use_vmac_addr must agree', () => {
    const peer = { address: '192.0.2.2' }
    const uni = (src?: string) => inst('U', 1, { unicastPeers: [peer] as VrrpInstanceModel['unicastPeers'], unicastSrcIp: src })
    assert.equal(carryPairs([inst('U', 1)], [uni()]).size, 0)
    assert.equal(carryPairs([uni('192.0.2.1')], [uni('192.0.2.1')]).size, 1)
    assert.equal(carryPairs([uni('192.0.2.1')], [uni('192.0.2.9')]).size, 0)
    assert.equal(carryPairs([inst('V', 1)], [inst('V', 1, { useVmac: { netlinkNotify: false } })]).size, 0)
    assert.equal(carryPairs([inst('V', 1, { useVmac: { netlinkNotify: false } })], [inst('V', 1, { useVmac: { name: 'vx', netlinkNotify: false } })]).size, 1)
    assert.equal(carryPairs([inst('V', 1)], [inst('V', 1, { useVmacAddr: true })]).size, 0)
  })
  it('each new instance carries at most one old one', () => {
    const pairs = carryPairs([inst('A', 1), inst('B', 1)], [inst('N', 1)])
    assert.deepEqual([...pairs], [['A', 'N']])
    assert.equal(instanceIdentity(inst('A', 1)), instanceIdentity(inst('Z', 1, { priority: 7 })))
  })
})

describe('vrrp: GARP pacing (garp_interval, gna_interval, garp_group) and garp_extra_if', () => {
  it('the global intervals space messages per interface and family, across callers', () => {
    const p = new GarpPacer({ garpInterval: 0.5, gnaInterval: 0.2 })
    assert.equal(p.reserve('eth0', 4, 1000), 0)
    assert.equal(p.reserve('eth0', 4, 1000), 500)
    assert.equal(p.reserve('eth0', 4, 1100), 900)
    assert.equal(p.reserve('eth1', 4, 1100), 0, 'another interface has its own budget')
    assert.equal(p.reserve('eth0', 6, 1100), 0)
    assert.equal(p.reserve('eth0', 6, 1100), 200)
    assert.equal(p.reserve('eth0', 4, 5000), 0, 'no backlog once the gap has passed')
    p.reserve('eth1', 4, 6000)
    p.sent('eth1', 4, 6040) // the send itself took 40 ms
    assert.equal(p.reserve('eth1', 4, 6040), 500, 'the gap counts from the actual send')
  })
  it('a garp_group aggregates its interfaces with its own intervals; others keep the globals; no interval = no wait', () => {
    const p = new GarpPacer({ garpInterval: 0.1 }, [{ garpInterval: 1, interfaces: ['eth1', 'eth2'] }])
    assert.equal(p.reserve('eth1', 4, 0), 0)
    assert.equal(p.reserve('eth2', 4, 0), 1000, 'same switch group')
    assert.equal(p.reserve('eth0', 4, 0), 0)
    assert.equal(p.reserve('eth0', 4, 0), 100)
    assert.equal(p.reserve('eth1', 6, 0), 0)
    assert.equal(p.reserve('eth1', 6, 0), 0, 'the group sets no gna_interval')
    assert.deepEqual(p.intervalFor('eth2', 4), { key: 'group:0/4', ms: 1000 })
  })
  it('garp_extra_if picks VIPs on other interfaces: use_vmac ones by default, all of them with "all"', () => {
    const vips = [{ dev: 'eth0', useVmac: false }, { dev: 'eth1', useVmac: false }, { dev: 'eth2', useVmac: true }]
    assert.deepEqual(extraGarpVips(vips, 'eth0', false), [vips[2]])
    assert.deepEqual(extraGarpVips(vips, 'eth0', true), [vips[1], vips[2]])
  })
})

describe('vrrp: linkbeat carrier read', () => {
  it('up = IFF_UP in flags and carrier 1; an unreadable carrier or a missing interface is down', () => {
    const root = mkdtempSync(join(tmpdir(), 'kad-vrrp2-sysfs-'))
    const dev = (name: string, flags: string, carrier?: string) => {
      mkdirSync(join(root, name))
      writeFileSync(join(root, name, 'flags'), flags + '\n')
      if (carrier !== undefined) writeFileSync(join(root, name, 'carrier'), carrier + '\n')
    }
    dev('up0', '0x1003', '1')
    dev('nocarrier0', '0x1003', '0')
    dev('admindown0', '0x1002', '1')
    dev('down0', '0x1002')
    assert.equal(Trackers.readCarrier('up0', root), true)
    assert.equal(Trackers.readCarrier('nocarrier0', root), false)
    assert.equal(Trackers.readCarrier('admindown0', root), false)
    assert.equal(Trackers.readCarrier('down0', root), false)
    assert.equal(Trackers.readCarrier('missing0', root), false)
    rmSync(root, { recursive: true, force: true })
  })
})
