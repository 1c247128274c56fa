// Loads the compiled addon (native/build/Release/kad_native.node); the path is the same from ts/ and dist/.
import { createRequire } from 'node:module'
import type { PreciseTimer } from './timer.js'

export interface RawMessage {
  data: Buffer
  name: Buffer
  truncated?: boolean
  ttl?: number
  hopLimit?: number
  ifindex?: number
  dst?: Buffer
}

export interface RawSocket {
  readonly fd: number
  bind(sockaddr: Buffer): void
  connect(sockaddr: Buffer): void
  setOption(level: number, name: number, value: number | Buffer): void
  getOption(level: number, name: number, maxLength: number): Buffer
  send(data: Buffer | Buffer[], dest: Buffer | null, ttl: number, hopLimit: number, ifindex: number, src: Buffer | null): number
  start(cb: (err: Error | null, messages: RawMessage[]) => void, bufferSize: number, batch: number): void
  stop(): void
  ref(): void
  unref(): void
  close(): void
}

/** The stream engine's raw interface (see streams.ts). Failures are negative numbers: -(errno | stage << 16). */
export interface RawStreams {
  /** [slot, id, kind, value] events of the current report; shared with the addon */
  readonly events: Int32Array
  /** [op, slot, id, arg] commands for `flush`; shared with the addon */
  readonly commands: Int32Array
  /** [slot, id, code] opens that failed at once, written by `flush` */
  readonly failures: Int32Array
  /** received bytes of the current report, one DATA event's after the other */
  readonly arena: Uint8Array
  addTarget(domain: number, sockaddr: Buffer, bind: Buffer | null, ifname: Buffer | null, mark: number, flags: number, netns: string | undefined, request: Buffer | null): number
  dropTarget(target: number): void
  /** runs `count` queued commands; returns how many opens failed at once */
  flush(count: number): number
  send(slot: number, data: Buffer): number
  read(slot: number): number
  getOption(slot: number, level: number, name: number): Buffer | undefined
}

export interface Addon {
  Socket: new (domain: number, type: number, protocol: number, netns?: string | null) => RawSocket
  Streams: new (cb: (count: number) => void) => RawStreams
  ifNameToIndex(name: string, netns?: string | null): number
  ifIndexToName(index: number, netns?: string | null): string | null
  openInNetns(path: string, flags: number, netns?: string | null): number
  watchSignal(signum: number, cb: (signum: number) => void): () => void
  Timer: new (onExpire: (wokeLateUs: number) => void) => PreciseTimer
}

let cached: Addon | undefined

export function addon(): Addon {
  if (!cached) {
    const require = createRequire(import.meta.url)
    try {
      cached = require('../build/Release/kad_native.node') as Addon
    } catch (e) {
      const err = new Error(
        `kad's native addon is not built (native/build/Release/kad_native.node): run "npm install" at the repository root ` +
          `or "npm run install -w native" (${(e as Error).message})`,
      )
      ;(err as Error & { code: string }).code = 'KAD_ERR_NATIVE_MISSING'
      throw err
    }
  }
  return cached
}
