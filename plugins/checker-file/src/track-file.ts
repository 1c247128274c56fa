/**
 * track_file: a number in a file, watched with inotify (fs.watch on the file's directory so replacing the file
 * by rename is seen too). One watcher per directory, shared by every reader in the process.
 */
import { watch, readFileSync, writeFileSync, existsSync, type FSWatcher } from 'node:fs'
import { dirname, basename } from 'node:path'

export interface TrackFileModel {
  name: string
  path: string
  /** default 1 */
  weight: number
  reverse: boolean
  init?: { value: number; overwrite: boolean }
}

export interface TrackFileSection {
  files: TrackFileModel[]
}

export const TRACK_FILE_SECTION = 'track_file'

/** keepalived reads the file as a signed integer (strtol); anything else reads as 0 */
export function parseValue(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text)
  if (!m) return 0
  const v = Number(m[1])
  return Number.isSafeInteger(v) ? v : v > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER
}

export function readValue(path: string): number {
  try {
    return parseValue(readFileSync(path, 'utf8').slice(0, 64))
  } catch {
    return 0
  }
}

/** init_file: create the file with VAL (default 0), or overwrite it */
export function initFile(f: TrackFileModel): void {
  if (!f.init) return
  if (!f.init.overwrite && existsSync(f.path)) return
  try {
    writeFileSync(f.path, `${f.init.value}\n`)
  } catch {
    /* reported by the reader as 0 */
  }
}

type Listener = (value: number) => void

interface DirWatch {
  watcher: FSWatcher
  files: Map<string, Set<Listener>>
}

const dirs = new Map<string, DirWatch>()
const pending = new Map<string, NodeJS.Immediate>()

/** watch `path`; `fn` gets the new value on every change (coalesced per event-loop turn). Returns an unsubscribe. */
export function watchValue(path: string, fn: Listener): () => void {
  const dir = dirname(path)
  const base = basename(path)
  let d = dirs.get(dir)
  if (!d) {
    const files = new Map<string, Set<Listener>>()
    const watcher = watch(dir, { persistent: false }, (_ev, name) => {
      const n = name?.toString()
      const targets = n ? [n] : [...files.keys()]
      for (const t of targets) {
        const ls = files.get(t)
        if (!ls) continue
        const full = `${dir}/${t}`
        if (pending.has(full)) continue
        pending.set(
          full,
          setImmediate(() => {
            pending.delete(full)
            const v = readValue(full)
            for (const l of [...(files.get(t) ?? [])]) l(v)
          }),
        )
      }
    })
    watcher.on('error', () => undefined)
    d = { watcher, files }
    dirs.set(dir, d)
  }
  let set = d.files.get(base)
  if (!set) d.files.set(base, (set = new Set()))
  set.add(fn)
  return () => {
    const dd = dirs.get(dir)
    const s = dd?.files.get(base)
    s?.delete(fn)
    if (s && s.size === 0) dd!.files.delete(base)
    if (dd && dd.files.size === 0) {
      dd.watcher.close()
      dirs.delete(dir)
    }
  }
}

/** the section as parsed; the VRRP plugin and FILE_CHECK find a track_file by name here */
let current: TrackFileSection = { files: [] }

export function setTrackFiles(s: TrackFileSection): void {
  current = s
}

export function getTrackFile(name: string, section: TrackFileSection = current): TrackFileModel | undefined {
  return section.files.find((f) => f.name === name)
}

/** current value of a named track_file (undefined when no such track_file) */
export function readTrackFile(name: string, section: TrackFileSection = current): number | undefined {
  const f = getTrackFile(name, section)
  return f ? readValue(f.path) : undefined
}

/** watch a named track_file: `fn` now (initial value) and on every change */
export function watchTrackFile(name: string, fn: Listener, section: TrackFileSection = current): () => void {
  const f = getTrackFile(name, section)
  if (!f) throw new Error(`track_file ${name} not found`)
  fn(readValue(f.path))
  return watchValue(f.path, fn)
}
