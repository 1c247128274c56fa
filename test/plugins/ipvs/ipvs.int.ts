/**
 * IPVS against a real IPVS kernel: boots the UML guest once (test/uml) and runs the guest suites inside it
 * (test/plugins/ipvs/guest/*.guest.ts). This machine's own kernel has no IPVS.
 */
import { strict as assert } from 'node:assert'
import { runMochaInUml, umlUnavailableReason } from '../../uml/index.js'

describe('ipvs in the UML kernel', function () {
  this.timeout(240_000)
  it('table, reconciliation, traffic and checker suites pass inside the guest', async function () {
    const why = umlUnavailableReason()
    if (why) {
      console.log(`      skipped: ${why}`)
      this.skip()
    }
    const r = await runMochaInUml(['test/plugins/ipvs/guest/ipvs-table.guest.ts', 'test/plugins/ipvs/guest/ipvs-traffic.guest.ts', 'test/plugins/ipvs/guest/ipvs-checkers.guest.ts'], { timeoutMs: 220_000 })
    console.log(r.output.split('\n').map((l) => '      | ' + l).join('\n'))
    assert.equal(r.status, 0, `guest suites failed (status ${r.status})`)
  })
})
