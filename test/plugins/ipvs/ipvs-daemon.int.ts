/** The checker process and the kad daemon against the UML kernel's IPVS (see ipvs.int.ts). */
import { guestSuite } from './guest-suite.js'

guestSuite('ipvs in the UML kernel: checkers and the kad daemon', ['ipvs-checkers.guest.ts', 'ipvs-daemon.guest.ts'])
