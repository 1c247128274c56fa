/**
 * IPVS against a real IPVS kernel: boots the UML guest (test/uml) and runs guest suites inside it
 * (test/plugins/ipvs/guest/*.guest.ts). This machine's own kernel has no IPVS. Two guest boots, one per file, to
 * keep each file near a minute.
 */
import { guestSuite } from './guest-suite.js'

guestSuite('ipvs in the UML kernel: table and traffic', ['ipvs-table.guest.ts', 'ipvs-traffic.guest.ts'])
