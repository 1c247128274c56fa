import { Lab } from './helpers/lab.js'
import { interopScenario } from './helpers/interop.js'

describe('vrrp interop with keepalived 2.2.7: VRRPv3', function () {
  this.timeout(60000)
  let lab: Lab | undefined
  afterEach(async () => {
    await lab?.destroy()
    lab = undefined
  })
  it('v3 IPv4 multicast: election and failover both ways on SIGKILL and SIGTERM', async () => {
    lab = new Lab('kad-vrrp-i4')
    await interopScenario(lab, { version: 3, family: 4, advert: 0.3 })
  })
  it('v3 IPv6 multicast', async () => {
    lab = new Lab('kad-vrrp-i6')
    await interopScenario(lab, { version: 3, family: 6, advert: 0.3 })
  })
  it('v3 IPv4 unicast peers', async () => {
    lab = new Lab('kad-vrrp-iu')
    await interopScenario(lab, { version: 3, family: 4, advert: 0.3, unicast: true })
  })
})
