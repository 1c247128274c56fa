// sysctl reads and writes through /proc/sys. In another network namespace the file is opened after setns into
// it (the addon's openInNetns), because /proc/sys/net shows the namespace of the task that opens it.
import { closeSync, constants, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs'
import { addon } from './addon.js'

/** 'net.ipv4.conf.eth0/100.arp_ignore' style keys (dots separate, '/' stands for a dot in a name) or paths. */
export function sysctlPath(key: string): string {
  if (key.startsWith('/proc/sys/')) return key
  if (key.includes('/') && !key.includes('.')) return `/proc/sys/${key}`
  return '/proc/sys/' + key.split('.').map((p) => p.replace(/\//g, '.')).join('/')
}

export class Sysctl {
  constructor(private readonly netns?: string) {}

  read(key: string): string {
    const path = sysctlPath(key)
    if (!this.netns) return readFileSync(path, 'utf8').trim()
    const fd = addon().openInNetns(path, constants.O_RDONLY, this.netns)
    try {
      const buf = Buffer.alloc(4096)
      const n = readSync(fd, buf, 0, buf.length, 0)
      return buf.subarray(0, n).toString('utf8').trim()
    } finally {
      closeSync(fd)
    }
  }

  write(key: string, value: string | number): void {
    const path = sysctlPath(key)
    const text = `${value}\n`
    if (!this.netns) return writeFileSync(path, text)
    const fd = addon().openInNetns(path, constants.O_WRONLY, this.netns)
    try {
      writeSync(fd, text)
    } finally {
      closeSync(fd)
    }
  }
}
