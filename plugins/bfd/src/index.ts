/**
 * BFD (RFC 5880 / 5881 / 5883). In the bfd child the plugin runs the sessions and publishes `bfd.session` events;
 * in the vrrp and check children it keeps the `bfdStatus` board (fed by `hooks.remoteEvent.for('bfd.session')`)
 * and provides the `BFD_CHECK` checker; in every process it declares the keywords.
 */
export { default, PLUGIN_NAME, CHANNEL, RESYNC_CHANNEL } from './plugin.js'
export * from './codec/packet.js'
export * from './model.js'
export { BfdSession, jitteredInterval, type SessionConfig, type SessionEnv, type StateChange } from './session.js'
export { BfdEngine, type BfdSessionEvent, type EngineDeps, type EngineCounters } from './io.js'
export { BfdStatusBoard, BfdChecker, isSessionEvent, type BfdStatus } from './consumer.js'
export { installKeywords, validateReferences } from './keywords.js'
export { BFD_SCHEMA } from './schema.js'
