/**
 * `@kad/core/plugin`: the values a plugin module uses to define itself and its keywords, without the rest of
 * `@kad/core`, whose index also loads the supervisor, logging, buffers and the other run-time services. Every
 * process imports every plugin module, also `kad -t`, which only parses: the built-in plugins take these values
 * from here (and their types from `@kad/core`, which costs nothing at run time). Anything else a plugin needs where
 * it runs, it imports from `@kad/core` in the code it loads there.
 */
export { definePlugin, PROCESS_ROLES } from './contract.js'
export { HOST_API_VERSION, KAD_VERSION } from '../version.js'
export { STAGES } from '../hooks/stages.js'
export { systemClock } from '../scheduler/clock.js'
export { getCoreSection, defaultCoreSection } from '../config/core-keywords.js'
export { validateScripts } from '../script-security.js'
export { parseLoc } from '../config/loc.js'
