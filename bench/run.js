#!/usr/bin/env node
// npm run bench -- <name> [args]: runs bench/<name>/index.ts (through tsx). Every benchmark prints its figures
// as key=value pairs on its last line.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const [name, ...args] = process.argv.slice(2)
const names = readdirSync(here, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(here, d.name, 'index.ts'))).map((d) => d.name)
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <name> [args]\nbenchmarks: ${names.join(', ')}`)
  process.exit(2)
}
const child = spawn(process.execPath, ['--import', 'tsx', join(here, name, 'index.ts'), ...args], { stdio: 'inherit' })
child.on('exit', (code, sig) => process.exit(sig ? 1 : code ?? 1))
