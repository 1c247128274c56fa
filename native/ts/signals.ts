// Any signal, including the realtime ones Node.js cannot listen to (keepalived's JSON = SIGRTMIN+2 = 36 and
// STATS_CLEAR = SIGRTMAX-1 = 63 on x86-64 Linux), through a libuv signal handle in the addon.
import { addon } from './addon.js'

/** Call `cb` whenever `signum` arrives; returns a function that stops watching. Does not keep the process alive. */
export function watchSignal(signum: number, cb: (signum: number) => void): () => void {
  return addon().watchSignal(signum, cb)
}
