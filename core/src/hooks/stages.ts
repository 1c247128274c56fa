/**
 * Named stages for taps whose order matters. Lower runs first. Never rely on registration order.
 */
export const STAGES = Object.freeze({
  /** core services (netlink, notifications) before plugins */
  CORE: -100,
  /** load-balancer backends, BFD: things others depend on */
  PROVIDER: -10,
  DEFAULT: 0,
  /** consumers of providers (VRRP trackers of BFD, checker framework) */
  CONSUMER: 10,
  /** observers, notifiers */
  OBSERVER: 100,
})
