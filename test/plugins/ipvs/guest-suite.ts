/** One host-side mocha suite that boots the UML guest once and runs guest suites (*.guest.ts) inside it. */
import { strict as assert } from 'node:assert'
import { runMochaInUml, umlUnavailableReason } from '../../uml/index.js'

export function guestSuite(title: string, files: string[]): void {
  describe(title, function () {
    this.timeout(420_000)
    it('the guest suites pass inside the UML kernel', async function () {
      const why = umlUnavailableReason()
      if (why) {
        console.log(`      skipped: ${why}`)
        this.skip()
      }
      const r = await runMochaInUml(files.map((f) => `test/plugins/ipvs/guest/${f}`), { timeoutMs: 400_000 })
      console.log(r.output.split('\n').map((l) => '      | ' + l).join('\n'))
      assert.equal(r.status, 0, `guest suites failed (status ${r.status})`)
    })
  })
}

