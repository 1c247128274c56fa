#!/usr/bin/env node
// kad: a drop-in replacement for keepalived. Same flags; see `kad --help`.
import { main } from '../core/dist/cli/main.js'

const code = await main(process.argv.slice(2))
process.exitCode = code
