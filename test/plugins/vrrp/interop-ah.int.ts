import { Lab } from './helpers/lab.js'
import { interopScenario } from './helpers/interop.js'

describe('vrrp interop with keepalived 2.2.7: VRRPv2 IPSEC-AH', function () {
  this.timeout(60000)
  let lab: Lab | undefined
  afterEach(async () => {
    await lab?.destroy()
    lab = undefined
  })
  it('v2 IPv4 with auth_type AH (HMAC-MD5-96 ICV, sequence numbers)', async () => {
    lab = new Lab('kad-vrrp-ia')
    await interopScenario(lab, { version: 2, family: 4, advert: 1, auth: 'secret12', authType: 'AH' })
  })
})
