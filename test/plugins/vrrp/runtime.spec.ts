import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addressVmacs, trackEffect, runNotifyScripts, vmacMac, vmacName } from '../../../plugins/vrrp/src/instance.js'
import { Trackers } from '../../../plugins/vrrp/src/tracking.js'
import { broadcastOf } from '../../../plugins/vrrp/src/addresses.js'
import type { VipModel, VrrpInstanceModel, TrackProcessModel } from '../../../plugins/vrrp/src/model.js'

describe('vrrp runtime helpers', () => {
  it('tracker arithmetic as keepalived: weight 0 faults, >0 adds when up, <0 subtracts when down, reverse swaps', () => {
    assert.deepEqual(trackEffect(false, 0, false), { fault: true, delta: 0 })
    assert.deepEqual(trackEffect(true, 0, false), { fault: false, delta: 0 })
    assert.deepEqual(trackEffect(true, 0, true), { fault: true, delta: 0 })
    assert.deepEqual(trackEffect(true, 10, false), { fault: false, delta: 10 })
    assert.deepEqual(trackEffect(false, 10, false), { fault: false, delta: 0 })
    assert.deepEqual(trackEffect(false, -20, false), { fault: false, delta: -20 })
    assert.deepEqual(trackEffect(true, -20, false), { fault: false, delta: 0 })
    assert.deepEqual(trackEffect(true, 10, true), { fault: false, delta: -10 })
  })
  it('track_file values: weight 0 faults on non-zero, weight scales, below -253 is FAULT', () => {
    assert.deepEqual(Trackers.fileEffect(0, 0, false), { fault: false, delta: 0 })
    assert.deepEqual(Trackers.fileEffect(3, 0, false), { fault: true, delta: 0 })
    assert.deepEqual(Trackers.fileEffect(5, -2, false), { fault: false, delta: -10 })
    assert.deepEqual(Trackers.fileEffect(5, 2, true), { fault: false, delta: -10 })
    assert.deepEqual(Trackers.fileEffect(300, -1, false), { fault: true, delta: 0 })
  })
  it('track_process counts /proc entries by comm or by command line', () => {
    const root = mkdtempSync(join(tmpdir(), 'kad-vrrp-proc-'))
    const proc = (pid: number, comm: string, argv: string[]) => {
      mkdirSync(join(root, String(pid)))
      writeFileSync(join(root, String(pid), 'comm'), comm + '\n')
      writeFileSync(join(root, String(pid), 'cmdline'), argv.join('\0') + '\0')
    }
    proc(10, 'haproxy', ['/usr/sbin/haproxy', '-f', '/etc/h.cfg'])
    proc(11, 'haproxy', ['/usr/sbin/haproxy', '-f', '/etc/other.cfg'])
    proc(12, 'nginx', ['nginx', '-g', 'daemon off;'])
    const def = (o: Partial<TrackProcessModel>): TrackProcessModel => ({ name: 'p', loc: '', paramMatch: 'exact', fullCommand: false, quorum: 1, weight: 0, reverse: false, delay: 0, ...o })
    assert.equal(Trackers.countProcesses(def({ process: 'haproxy' }), root), 2)
    assert.equal(Trackers.countProcesses(def({ process: '/usr/sbin/haproxy', args: ['-f', '/etc/h.cfg'] }), root), 1)
    assert.equal(Trackers.countProcesses(def({ process: '/usr/sbin/haproxy', args: ['-f'], paramMatch: 'initial' }), root), 2)
    assert.equal(Trackers.countProcesses(def({ process: '/usr/sbin/haproxy', args: ['-f', '/etc/o'], paramMatch: 'partial' }), root), 1)
    assert.equal(Trackers.countProcesses(def({ process: 'sshd' }), root), 0)
  })
  it('brd + computes the broadcast address; - and IPv6 give none', () => {
    const v = (address: string, prefixLength: number, brd?: string): VipModel => ({ address, family: address.includes(':') ? 6 : 4, prefixLength, brd, flags: [], noTrack: false, useVmac: false, loc: '' })
    assert.equal(broadcastOf(v('192.0.2.100', 24, '+')), '192.0.2.255')
    assert.equal(broadcastOf(v('198.51.100.5', 25, '+')), '198.51.100.127')
    assert.equal(broadcastOf(v('192.0.2.100', 24, '-')), undefined)
    assert.equal(broadcastOf(v('192.0.2.100', 24, '192.0.2.254')), '192.0.2.254')
    assert.equal(broadcastOf(v('2001:db8::1', 64, '+')), undefined)
  })
  it('VMAC name and MAC as keepalived (IPv6 uses 00:00:5e:00:02:VRID)', () => {
    const m = { vrid: 51, family: 4, useVmac: { netlinkNotify: false } } as unknown as VrrpInstanceModel
    assert.equal(vmacName(m), 'vrrp.51')
    assert.equal(vmacMac(m), '00:00:5e:00:01:33')
    assert.equal(vmacMac({ ...m, family: 6 }), '00:00:5e:00:02:33')
    assert.equal(vmacName({ ...m, useVmac: { name: 'vm1', netlinkNotify: false } }), 'vm1')
  })
  it('per-address VMACs: one per other interface and family (vrrp.VRID / vrrp6.VRID), only for use_vmac addresses or use_vmac_addr', () => {
    const v = (address: string, dev?: string, useVmac = true): VipModel => ({ address, family: address.includes(':') ? 6 : 4, prefixLength: 32, dev, flags: [], noTrack: false, useVmac, loc: '' })
    const m = { vrid: 9, family: 4, useVmacAddr: false, vips: [v('192.0.2.1', undefined, false), v('198.51.100.5', 'ke0'), v('198.51.100.6', 'ke0'), v('203.0.113.5', 'kf0', false)], evips: [v('2001:db8::5', 'ke0')] } as unknown as VrrpInstanceModel
    assert.deepEqual([...addressVmacs(m, 'kd0').entries()], [
      ['4/ke0', { name: 'vrrp.9', link: 'ke0', family: 4, mac: '00:00:5e:00:01:09' }],
      ['6/ke0', { name: 'vrrp6.9', link: 'ke0', family: 6, mac: '00:00:5e:00:02:09' }],
    ])
    assert.deepEqual([...addressVmacs({ ...m, useVmacAddr: true }, 'kd0').keys()], ['4/ke0', '4/kf0', '6/ke0'])
  })
  it('notify scripts: the state script first, then notify with INSTANCE name STATE prio', () => {
    const calls: string[] = []
    runNotifyScripts({ master: { command: '/m' }, notify: { command: '/n' } }, 'MASTER', ['INSTANCE', 'VI_1', 'MASTER', '100'], (s, extra) => calls.push([s.command, ...(extra ?? [])].join(' ')))
    runNotifyScripts({ master: { command: '/m' }, stop: { command: '/s' } }, 'STOP', ['INSTANCE', 'VI_1', 'STOP', '100'], (s, extra) => calls.push([s.command, ...(extra ?? [])].join(' ')))
    assert.deepEqual(calls, ['/m', '/n INSTANCE VI_1 MASTER 100', '/s'])
  })
  it('track_bfd follows bfd.session remote events { name, up }', () => {
    const t = new Trackers({ net: {} as never, scheduler: {} as never, log: {} as never, model: { sections: {}, files: [], configId: '' } }, [], [])
    const got: Array<[string, { fault: boolean; delta: number }]> = []
    const target = { setTracker: (k: string, e: { fault: boolean; delta: number }) => got.push([k, e]) }
    t.trackBfd('b1', target, 'bfd:b1', 0, false)
    t.trackBfd('b2', target, 'bfd:b2', -50, false)
    assert.deepEqual(got.splice(0), [['bfd:b1', { fault: true, delta: 0 }], ['bfd:b2', { fault: false, delta: -50 }]])
    t.onBfd({ name: 'b1', up: true })
    t.onBfd({ name: 'b2', up: true })
    t.onBfd({ name: 'nope', up: true })
    t.onBfd('garbage')
    t.onBfd({ name: 'b1', up: 'yes' })
    assert.deepEqual(got, [['bfd:b1', { fault: false, delta: 0 }], ['bfd:b2', { fault: false, delta: 0 }]])
  })
})
