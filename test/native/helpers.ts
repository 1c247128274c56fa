// Namespace helpers for the native integration tests (root only).
import { execFileSync } from 'node:child_process'

export function sh(cmd: string): string {
  return execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

export function ipj<T = any>(ns: string, args: string): T {
  return JSON.parse(sh(`ip -j -n ${ns} ${args}`) || '[]') as T
}

export function addNs(name: string): string {
  sh(`ip netns del ${name} 2>/dev/null || true; ip netns add ${name}; ip -n ${name} link set lo up`)
  return `/run/netns/${name}`
}

export function delNs(...names: string[]): void {
  for (const n of names) sh(`ip netns del ${n} 2>/dev/null || true`)
}

export async function waitFor<T>(fn: () => T | undefined, ms = 2000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

export function fdCount(): number {
  return Number(sh(`ls /proc/${process.pid}/fd | wc -l`).trim())
}
