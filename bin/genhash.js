#!/usr/bin/env node
// genhash: Debian's genhash, as `kad genhash`.
import { main } from '../core/dist/cli/main.js'

process.exitCode = await main(['genhash', ...process.argv.slice(2)])
