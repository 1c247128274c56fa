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
  /** (id, kind, value) triples of the current report; shared with the addon */
  readonly events: Int32Array
  readonly active: number
  open(id: number, domain: number, sockaddr: Buffer, bind: Buffer | null, ifname: Buffer | null, mark: number, flags: number, netns?: string): number
  send(fd: number, data: Buffer): number
  read(fd: number): number
  /** returns the connection's id (0: it was not open) */
  close(fd: number, reset: boolean): number
  getOption(fd: number, level: number, name: number): Buffer | undefined
}

export interface Addon {
  Socket: new (domain: number, type: number, protocol: number, netns?: string | null) => RawSocket
  Streams: new (cb: (count: number, buffers: Buffer[] | undefined) => void) => RawStreams
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
