/**
 * @kad/plugin-vrrp: keepalived's VRRP stack (RFC 3768 v2, RFC 5798 v3, IPv4 and IPv6). Registers the VRRP
 * keywords in every process; runs the instances in the `vrrp` process. See README.md.
 */
export { default, PLUGIN_NAME } from './plugin.js'
export { planReload, sameConfig, VrrpRuntime, type ReloadPlan } from './runtime.js'
export { vrrpSection } from './model.js'
export type * from './model.js'
export { VrrpInstance, trackEffect } from './instance.js'
