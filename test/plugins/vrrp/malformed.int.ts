import assert from 'node:assert/strict'
import { openSocket } from '@kad/native'
import { encodeIpv4Packet, type Advert } from '../../../plugins/vrrp/src/codec/index.js'
import { Lab, instance, sleep, waitFor } from './helpers/lab.js'

const VIP = '192.0.2.100'

describe('vrrp: malformed adverts from another namespace are dropped and counted', function () {
  this.timeout(60000)
  let lab: Lab
  after(async () => {
    await lab?.destroy()
  })

  it('every wrong field, truncated, oversized, wrong TTL, unknown VRID: counted, no state change', async () => {
    lab = new Lab('kad-vrrp-m')
    const a = lab.host('a', 1)
    const c = lab.host('c', 3)
    const d = lab.kad(a, 'm-a', instance({ priority: 200, advert: 0.1, version: 3, vips: [`${VIP}/24`, '192.0.2.101/24'] }))
    await waitFor('a MASTER', () => lab.hasAddr(a, VIP))

    // raw IPv4 socket (IPPROTO_RAW: we write the IP header) opened inside the attacker's namespace
    const s = openSocket({ domain: 'inet', type: 'raw', protocol: 255, netns: `/run/netns/${c}` })
    s.bindToDevice('eth0')
    const good: Advert = { version: 3, type: 1, vrid: 51, priority: 255, advertInt: 10, addresses: [VIP, '192.0.2.101'] }
    const pkt = (adv: Partial<Advert> = {}, o: { ttl?: number } = {}) => encodeIpv4Packet({ ...good, ...adv }, { src: '192.0.2.3', dst: '224.0.0.18', ttl: o.ttl ?? 255 })
    const send = (b: Buffer) => s.send(b, { address: '224.0.0.18' })
    const cases: Array<[string, Buffer]> = [
      ['BAD_TTL', pkt({}, { ttl: 64 })],
      ['BAD_VERSION', (() => { const b = pkt(); b[20] = 0x41; return b })()],
      ['BAD_TYPE', (() => { const b = pkt(); b[20] = 0x32; return b })()],
      ['BAD_CHECKSUM', (() => { const b = pkt(); b[26] ^= 0xff; return b })()],
      ['BAD_ADDR_COUNT', pkt({ addresses: [VIP] })],
      ['BAD_ADDR_LIST', pkt({ addresses: [VIP, '192.0.2.99'] })],
      ['TRUNCATED', (() => { const b = pkt(); b[23] = 5; return b })()],
      ['BAD_LENGTH', Buffer.concat([pkt(), Buffer.alloc(8)])],
    ]
    for (let round = 0; round < 3; round++) for (const [, b] of cases) send(b)
    send(pkt({ vrid: 77 }))
    try { send(Buffer.from([0x45, 0, 0, 20])) } catch { /* the kernel may refuse it */ }
    await sleep(500)
    assert.ok(lab.hasAddr(a, VIP), 'still MASTER')
    assert.ok(!d.has(/Entering BACKUP STATE(?! \(init\))/), 'no state change')
    const stats = await lab.kadStats(d)
    for (const [reason] of cases) assert.match(stats, new RegExp(`${reason}: 3\\b`), `${reason} counted\n${stats}`)
    assert.match(stats, /UNKNOWN_VRID=1/)

    // the same path accepts a valid higher-priority advert: proof the packets above did reach the instance
    for (let i = 0; i < 3; i++) {
      send(pkt())
      await sleep(30)
    }
    await waitFor('a BACKUP after a valid priority-255 advert', () => d.has(/Entering BACKUP STATE(?! \(init\))/) && !lab.hasAddr(a, VIP), 5000)
    s.close()
    await d.term()
  })
})
