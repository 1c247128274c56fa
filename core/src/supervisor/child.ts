/**
 * Entry point of a child process (vrrp, check, bfd). The parent forks it with the role as argv[2] and talks over
 * Node's IPC channel: it sends the validated model to start, reloads, dump requests, events from other children,
 * and stop. The child loads only what its role needs to run (every plugin's keywords are known, only its role's
 * plugins are active).
 */
import { Host } from '../host.js'
import { createLogger } from '../logger.js'
import { isParentToChild, type ChildToParent } from '../ipc.js'
import type { ProcessRole } from '../plugin/contract.js'
import { dumpFileOf, writeDumpFile } from './roles.js'
import { syslogSender } from './syslog.js'

const role = process.argv[2] as ProcessRole
let host: Host | undefined
/** a full GC right after start-up and reloads, where the parent exposes it (the VRRP child: childExecArgv) */
const collectGarbage = (globalThis as { gc?: () => void }).gc
let stopping = false

function send(m: ChildToParent): void {
  if (process.connected) process.send?.(m)
}

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    try {
      await host?.stop('signal')
    } catch (e) {
      host?.log.error(`stop failed: ${(e as Error).message}`)
    }
    send({ t: 'stopped' })
  }
  process.exit(code)
}

// the parent handles these; a Ctrl-C to the process group must not kill children before the parent says so
process.on('SIGINT', () => undefined)
process.on('SIGHUP', () => undefined)
process.on('SIGUSR1', () => undefined)
process.on('SIGUSR2', () => undefined)
process.on('SIGTERM', () => void stop(0))
// RLIMIT_RTTIME's soft limit under <role>_rt_priority: the default action would dump core; log it instead
let xcpuLogged = 0
process.on('SIGXCPU', () => {
  const now = Date.now()
  if (now - xcpuLogged < 60_000) return
  xcpuLogged = now
  host?.log.warn(`${role} child: realtime CPU limit (rlimit_rttime) exceeded without a blocking call`)
})
process.on('disconnect', () => void stop(0)) // parent died

process.on('message', (m: unknown) => {
  if (!isParentToChild(m)) return
  void (async () => {
    try {
      switch (m.t) {
        case 'start': {
          const o = m.options
          const log = createLogger({ role, console: o.logConsole, detail: o.logDetail, facility: o.logFacility, noSyslog: o.noSyslog, file: o.logFile, syslogSend: await syslogSender() })
          process.title = `kad_${role}`
          host = await Host.create({ role, options: o, log, ipc: { publish: (channel, payload, to) => send({ t: 'event', channel, payload, to }) } })
          await host.start(m.model)
          collectGarbage?.()
          log.info(`started ${role} child`)
          send({ t: 'started' })
          break
        }
        case 'reload':
          try {
            await host?.reload(m.model)
            collectGarbage?.()
            send({ t: 'reloaded', ok: true })
          } catch (e) {
            host?.log.error(`reload failed: ${(e as Error).message}`)
            send({ t: 'reloaded', ok: false, error: (e as Error).message })
          }
          break
        case 'stop':
          await stop(0)
          break
        case 'dump': {
          if (!host) break
          const kind = m.kind === 'stats-clear' ? 'stats' : m.kind
          const out = host.dump(m.kind)
          if (kind !== 'json') writeDumpFile(dumpFileOf(role, kind), out.text + '\n')
          else {
            // keepalived.json is keepalived's: the VRRP instances, an array (what the vrrp plugin writes under 'vrrp')
            if (role === 'vrrp') writeDumpFile(dumpFileOf(role, 'json'), JSON.stringify(out.json.vrrp ?? []) + '\n')
            writeDumpFile(dumpFileOf(role, 'kad-json'), JSON.stringify(out.json, null, 2) + '\n')
          }
          break
        }
        case 'event':
          host?.hooks.remoteEvent.get(m.channel)?.call(m.payload, m.from)
          break
        case 'query': {
          if (!host) break
          const s = host.container.cradle.scheduler
          const lag = s.loopLag.summary()
          send({ t: 'answer', id: m.id, json: host.dump('json').json, loop: { lagP99Us: lag.p99, lagMaxUs: lag.max, latenessP99Us: s.lateness.summary().p99 } })
          break
        }
      }
    } catch (e) {
      const msg = (e as Error).stack ?? String(e)
      host?.log.error(`child ${role}: ${msg}`)
      send({ t: 'fatal', error: msg })
      if (m.t === 'start') process.exit(1)
    }
  })()
})

send({ t: 'ready' })
