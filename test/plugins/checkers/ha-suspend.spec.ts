// rtnlLocalAddresses against a stub event source: the dump and the events that raced it, resyncs, an address on
// two interfaces, IPv4's local side, a failed dump.
import { strict as assert } from 'node:assert'
import type { Address, RtnlEvent } from '@kad/native'
import { canonicalIP, rtnlLocalAddresses } from '@kad/plugin-checkers'

const addr = (ifindex: number, address: string, extra: Partial<Address> = {}): Address => ({
  family: address.includes(':') ? 6 : 4,
  ifindex,
  address,
  prefixLength: 32,
  scope: 'global',
  flags: [],
  ...extra,
})

function stub(list: () => Promise<Address[]>) {
  let handler: ((e: RtnlEvent) => void) | undefined
  let subscribed = 0
  return {
    src: {
      subscribe(h: (e: RtnlEvent) => void) {
        handler = h
        subscribed++
        return () => void subscribed--
      },
      listAddresses: list,
    },
    emit: (e: RtnlEvent) => handler?.(e),
    get subscribed() {
      return subscribed
    },
  }
}

describe('ha_suspend local addresses (rtnetlink)', () => {
  it('subscribes before the dump and replays the events that raced it, in order', async () => {
    let release!: (a: Address[]) => void
    const s = stub(() => new Promise((r) => (release = r)))
    const seen: string[][] = []
    const stop = rtnlLocalAddresses(s.src).watch((p) => seen.push([...p].sort()))
    assert.equal(s.subscribed, 1)
    // during the dump: .50 added then deleted, .51 added
    s.emit({ kind: 'address', action: 'new', address: addr(2, '192.0.2.50') })
    s.emit({ kind: 'address', action: 'del', address: addr(2, '192.0.2.50') })
    s.emit({ kind: 'address', action: 'new', address: addr(2, '192.0.2.51') })
    assert.equal(seen.length, 0)
    release([addr(1, '127.0.0.1'), addr(2, '192.0.2.50')])
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(seen, [['127.0.0.1', '192.0.2.51']])
    stop()
    assert.equal(s.subscribed, 0)
  })

  it('keeps an address on two interfaces until both lose it; IPv6 spelled canonically; IPv4 uses IFA_LOCAL', async () => {
    const s = stub(async () => [addr(2, '2001:DB8::0:1'), addr(3, '198.51.100.9', { local: '192.0.2.7' })])
    let last: ReadonlySet<string> = new Set()
    rtnlLocalAddresses(s.src).watch((p) => (last = p))
    await new Promise((r) => setImmediate(r))
    assert.ok(last.has('2001:db8::1'))
    assert.ok(last.has('192.0.2.7') && !last.has('198.51.100.9'))
    assert.equal(canonicalIP('2001:DB8:0::1'), '2001:db8::1')
    s.emit({ kind: 'address', action: 'new', address: addr(4, '2001:db8::1') })
    s.emit({ kind: 'address', action: 'del', address: addr(2, '2001:db8::1') })
    assert.ok(last.has('2001:db8::1'))
    s.emit({ kind: 'link', action: 'del', link: { ifindex: 4 } as never })
    assert.ok(!last.has('2001:db8::1'))
    // an overrun's resync replaces everything
    s.emit({ kind: 'resync', links: [], addresses: [addr(5, '203.0.113.5')] })
    assert.deepEqual([...last], ['203.0.113.5'])
  })

  it('a failed dump still reports (nothing known: suspended) and events go on', async () => {
    const s = stub(() => Promise.reject(new Error('EPERM')))
    const seen: number[] = []
    const errors: string[] = []
    rtnlLocalAddresses(s.src, { error: (m: string) => errors.push(m) } as never).watch((p) => seen.push(p.size))
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(seen, [0])
    assert.match(errors[0], /cannot list local addresses: EPERM/)
    s.emit({ kind: 'address', action: 'new', address: addr(2, '192.0.2.50') })
    assert.deepEqual(seen, [0, 1])
  })
})
