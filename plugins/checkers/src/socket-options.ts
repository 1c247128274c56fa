/**
 * Where a checker plugin opens its sockets, and the plugin option that sets it. Nothing here loads @kad/native:
 * plugins use it in register() (parseOptions), which every process runs, also those that only parse.
 */

/** where and how a checker's sockets are opened: the process's network namespace (net_namespace, or a test's) */
export interface SocketPlace {
  /** /run/netns/NAME */
  netns?: string
}

/**
 * The namespace a checker plugin opens its sockets in: its `netns` option (tests), else the networking service's
 * (`net_namespace`), else the process's own.
 */
export function socketPlace(netnsOption: string | undefined, container: { hasRegistration?(name: string): boolean; cradle: unknown }): SocketPlace {
  if (netnsOption) return { netns: netnsOption }
  if (typeof container.hasRegistration === 'function' && container.hasRegistration('net')) {
    const netns = (container.cradle as { net?: { netns?: string } }).net?.netns
    if (netns) return { netns }
  }
  return {}
}

/** the plugin options of the checkers that open their own sockets (DNS, UDP, PING): `netns` for tests */
export interface SocketPluginOptions {
  /** open the sockets in this network namespace (path like /run/netns/NAME) */
  netns?: string
}

export function parseSocketPluginOptions(raw: unknown): SocketPluginOptions {
  const r = (raw ?? {}) as SocketPluginOptions
  return typeof r.netns === 'string' ? { netns: r.netns } : {}
}
