/**
 * The parent's `supervision` service (only the parent has it, only while the daemon runs): its children, and what
 * each one's plugins say for the JSON signal, asked over IPC without writing files. A plugin that runs in the
 * parent (`roles: ['parent']`) reads it, e.g. to serve a status page or Prometheus metrics.
 */
export type ChildRole = 'vrrp' | 'check' | 'bfd'

export interface ChildStatus {
  role: ChildRole
  /** the running process, if any */
  pid?: number
  /** the process runs and its IPC channel is open */
  up: boolean
  /** times it was restarted after dying */
  restarts: number
  /** when the current process started (ms since the epoch) */
  startedAt: number
  /** what every plugin of the child writes for the JSON signal (keys as in keepalived_<role>.json) */
  json?: Record<string, unknown>
  /** the child's event-loop lag and timer lateness, microseconds */
  loop?: { lagP99Us: number; lagMaxUs: number; latenessP99Us: number }
  /** why `json` is missing: not running, or no answer in time */
  error?: string
}

export interface Supervision {
  /** the children the configuration asks for, each asked for its JSON; one that does not answer within timeoutMs has `error` */
  query(timeoutMs?: number): Promise<ChildStatus[]>
  /** the parent's own pid and start time */
  readonly self: { pid: number; startedAt: number }
}
