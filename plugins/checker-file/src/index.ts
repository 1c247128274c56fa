import { definePlugin, HOST_API_VERSION } from '@kad/core/plugin'
import type { Checker, CheckerSpec, CheckOutcome, ConfigModel, KeywordContext } from '@kad/core'
import { checkerBlock } from '@kad/plugin-checkers/keywords'
import { initFile, readValue, setTrackFiles, watchValue, TRACK_FILE_SECTION, type TrackFileModel, type TrackFileSection } from './track-file.js'

export * from './track-file.js'
export const PLUGIN_NAME = 'checker-file'
export const TYPE = 'FILE_CHECK'
export const MAX_WEIGHT = 2147483647

export interface FileCheckOptions {
  trackFile?: string
  weight?: number
  reverse?: boolean
  dynamic?: boolean
  /** resolved from the track_file section when the checker block closes */
  path?: string
  fileWeight?: number
  fileReverse?: boolean
}

/**
 * The verdict for a value: weight 0 (none given anywhere): non-zero means down. Otherwise value×weight
 * (negated by reverse): negative or beyond the IPVS weight range is down; with `dynamic` it becomes the
 * real server's weight.
 */
export function judgeValue(value: number, o: FileCheckOptions): CheckOutcome {
  const weight = o.weight ?? o.fileWeight ?? 1
  const reverse = o.weight !== undefined ? !!o.reverse : !!o.fileReverse
  if (weight === 0) {
    const down = reverse ? value === 0 : value !== 0
    return down ? { ok: false, reason: `track file value ${value}` } : { ok: true }
  }
  const eff = value * weight * (reverse ? -1 : 1)
  if (eff < 0 || eff > MAX_WEIGHT) return { ok: false, reason: `track file value ${value} gives weight ${eff}, out of range` }
  return o.dynamic ? { ok: true, weight: eff } : { ok: true }
}

export class FileChecker implements Checker {
  readonly type = TYPE
  private value: number | undefined
  constructor(readonly spec: CheckerSpec) {}
  private get o(): FileCheckOptions {
    return this.spec.options as FileCheckOptions
  }
  async check(): Promise<CheckOutcome> {
    if (!this.o.path) return { ok: false, reason: `track_file ${this.o.trackFile ?? ''} not found` }
    this.value = readValue(this.o.path)
    return judgeValue(this.value, this.o)
  }
  subscribe(push: (o: CheckOutcome) => void): () => void {
    if (!this.o.path) return () => undefined
    return watchValue(this.o.path, (v) => {
      this.value = v
      push(judgeValue(v, this.o))
    })
  }
  compare(spec: CheckerSpec): boolean {
    return spec.type === TYPE && keyOf(spec) === this.key()
  }
  key(): string {
    return keyOf(this.spec)
  }
  dump(): Record<string, unknown> {
    return { file: this.o.trackFile, path: this.o.path, value: this.value }
  }
}

function keyOf(spec: CheckerSpec): string {
  return `${TYPE}|${JSON.stringify(spec.options)}`
}

function section(k: KeywordContext): TrackFileSection {
  return k.section<TrackFileSection>(TRACK_FILE_SECTION, () => ({ files: [] }))
}

function readWeight(k: KeywordContext, from: number): { weight: number; reverse: boolean } | undefined {
  const w = k.integer(from, { min: -254, max: 254 })
  if (w === undefined) return undefined
  const r = k.args[from + 1]
  if (r !== undefined && r !== 'reverse' && r !== 'noreverse') k.error(`unknown weight option ${r}`)
  return { weight: w, reverse: r === 'reverse' }
}

export const TRACK_FILE_SCHEMA = {
  type: 'object',
  required: ['files'],
  properties: {
    files: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'path', 'weight', 'reverse'],
        properties: {
          name: { type: 'string' },
          path: { type: 'string' },
          weight: { type: 'integer' },
          reverse: { type: 'boolean' },
          init: { type: 'object', properties: { value: { type: 'integer' }, overwrite: { type: 'boolean' } }, required: ['value', 'overwrite'], additionalProperties: false },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
}

export function trackFileSection(model: ConfigModel): TrackFileSection {
  return (model.sections[TRACK_FILE_SECTION] as TrackFileSection | undefined) ?? { files: [] }
}

export default definePlugin({
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check', 'vrrp'], dependencies: ['checkers'], description: 'FILE_CHECK and track_file' },
  async register(ctx) {
    if (ctx.role === 'check') {
      // the check framework (imported where it runs, never by a parse) takes FILE_CHECK's own default
      const { setCheckerTypeDefaults } = await import('@kad/plugin-checkers')
      setCheckerTypeDefaults(TYPE, { retry: 0 })
    }
    ctx.keywords.root.block<TrackFileModel>(
      'track_file',
      {
        open: (k) => {
          const name = k.string(0, 'track_file name') ?? ''
          const f: TrackFileModel = { name, path: '', weight: 1, reverse: false }
          const s = section(k)
          if (name && s.files.some((x) => x.name === name)) k.error(`track_file ${name} already defined - ignoring`)
          else if (name) s.files.push(f)
          return f
        },
        children: (b) =>
          b
            .keyword('file', (k, f) => {
              const v = k.string(0, 'file')
              if (v !== undefined) f.path = v
            })
            .keyword('weight', (k, f) => {
              const w = readWeight(k, 0)
              if (w) Object.assign(f, w)
            })
            .keyword('init_file', (k, f) => {
              let value = 0
              let overwrite = false
              for (let i = 0; i < k.args.length; i++) {
                if (k.args[i] === 'overwrite') overwrite = true
                else {
                  const v = k.integer(i)
                  if (v !== undefined) value = v
                }
              }
              f.init = { value, overwrite }
            }),
        close: (k, f) => {
          if (!f.path) {
            k.error(`No file set for track_file ${f.name} - removing`)
            const s = section(k)
            s.files = s.files.filter((x) => x !== f)
          }
        },
      },
      { aliases: ['vrrp_track_file'] },
    )
    ctx.keywords.schema(TRACK_FILE_SECTION, TRACK_FILE_SCHEMA)
    ctx.keywords.extend('virtual_server/real_server', (b) =>
      b.block(
        TYPE,
        checkerBlock(TYPE, {
          connection: false,
          children: (cb) =>
            cb
              .keyword('track_file', (k, c) => {
                const v = k.string(0, 'track_file')
                if (v !== undefined) (c.options as FileCheckOptions).trackFile = v
              })
              .keyword('weight', (k, c) => {
                const w = readWeight(k, 0)
                if (w) Object.assign(c.options, w)
              })
              .keyword('dynamic', (k, c) => {
                ;(c.options as FileCheckOptions).dynamic = k.bool(0) ?? true
              }),
          close: (k, c) => {
            const o = c.options as FileCheckOptions
            if (!o.trackFile) {
              k.error('FILE_CHECK has no track_file - ignoring')
              return
            }
            const f = section(k).files.find((x) => x.name === o.trackFile)
            if (!f) {
              k.error(`track file ${o.trackFile} not found`)
              return
            }
            o.path = f.path
            o.fileWeight = f.weight
            o.fileReverse = f.reverse
          },
        }),
      ),
    )
    // both roles: write init_file contents and publish the section for name lookups
    ctx.hooks.beforeStart.tapPromise(PLUGIN_NAME, async (model) => {
      const s = trackFileSection(model)
      setTrackFiles(s)
      if (ctx.role === 'check' || ctx.role === 'vrrp') for (const f of s.files) initFile(f)
    })
    ctx.hooks.reload.tapPromise(PLUGIN_NAME, async (next) => setTrackFiles(trackFileSection(next)))
    ctx.hooks.createChecker.for(TYPE).tap(PLUGIN_NAME, (spec) => new FileChecker(spec))
  },
})
