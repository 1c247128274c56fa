import { NetlinkIpvs } from './kernel.js'

export { default, PLUGIN_NAME, type IpvsPluginOptions } from './plugin.js'
export { IpvsBackend, encodeOp, describeOp } from './backend.js'
export { Converger, type ConvergerOptions } from './converger.js'
export { NetlinkIpvs, readKernelTable, errnoName, type IpvsKernel, type OpResult } from './kernel.js'
export { planOf, serviceOf, destOf, netmaskOf, SCHEDULERS, SCHED_FLAG_BITS, type ServicePlan, type Plan } from './model.js'
export { reconcile, diffService, applyOp, sameDest, sameService, type KernelService, type KernelTable, type Op } from './reconcile.js'
export { ipvsSection, lbBackendOf, registerKeywords, SECTION, type IpvsSection, type LbBackendChoice, type SyncDaemonConfig } from './keywords.js'
export * as codec from './codec/ipvs.js'

/** Whether this kernel has IPVS (the generic-netlink family resolves). Never throws: false on any failure. */
export async function probeIpvs(opts: { netns?: string } = {}): Promise<boolean> {
  try {
    const k = await NetlinkIpvs.open(opts)
    k?.close()
    return k !== undefined
  } catch {
    return false
  }
}
