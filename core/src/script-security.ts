import type { ConfigModel, DiagnosticSink, SourceLoc } from './config/types.js'
import { getCoreSection } from './config/index.js'
import { checkScriptSecurity, lookupUser, splitCommand } from './script-runner.js'

/** A script a configuration asks kad to run (notify_*, vrrp_script, MISC_CHECK, quorum_up, FIFO scripts, …). */
export interface ConfiguredScript {
  readonly command: string
  readonly user?: string
  readonly loc?: SourceLoc
  /** 'vrrp_script chk_nginx', 'notify_master of VI_1', … for the message */
  readonly what?: string
}

/**
 * keepalived's script checks at configuration time, for plugins to call from a `validateConfig` tap:
 * without `enable_script_security` any script is a SECURITY VIOLATION (`-t` exit class 6, as keepalived);
 * with it, each script that root would run from a path others can modify is reported (it will be refused at run
 * time) naming the unsafe path component. Identical diagnostics from several plugins are reported once.
 */
export function validateScripts(model: ConfigModel, sink: DiagnosticSink, scripts: readonly ConfiguredScript[]): void {
  if (scripts.length === 0) return
  const core = getCoreSection(model)
  if (!core.enableScriptSecurity) {
    sink.report({
      code: 'KAD_CFG_SCRIPT_SECURITY',
      severity: 'warning',
      message: 'SECURITY VIOLATION - scripts are being executed but script_security not enabled.',
      exitClass: 6,
    })
    return
  }
  // another machine's configuration (kad config cluster): its scripts and users are not on this one
  if (model.forThisHost === false) return
  for (const s of scripts) {
    const argv = splitCommand(s.command)
    if (argv.length === 0) continue
    const user = s.user ?? core.scriptUser?.user
    const id = user === undefined ? lookupUser('keepalived_script') ?? { uid: 0 } : lookupUser(user, undefined)
    if (!id) {
      sink.report({ code: 'KAD_CFG_SCRIPT_USER', severity: 'error', message: `Unable to set user ${user} for script ${argv[0]}`, loc: s.loc })
      continue
    }
    const v = checkScriptSecurity(argv[0], id.uid)
    if (!v.ok) {
      sink.report({
        code: 'KAD_CFG_SCRIPT_INSECURE',
        severity: 'error',
        message: `${s.what ? s.what + ': ' : ''}script ${argv[0]} is not safe to run (${v.path}: ${v.reason}); it will be disabled`,
        loc: s.loc,
      })
    }
  }
}
