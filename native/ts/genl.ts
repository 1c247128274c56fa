// Genl: generic netlink family resolution (CTRL_CMD_GETFAMILY) and requests for any family (IPVS later).
import { NETLINK } from './constants.js'
import { encodeAttrs, type Attr, type NlMsg } from './codec/netlink.js'
import { CTRL_CMD, decodeFamily, encodeGetFamily, GENL_ID_CTRL, type GenlFamily } from './codec/genl.js'
import { NetlinkSocket } from './netlink-socket.js'
import { systemError } from './errors.js'

export class Genl {
  private readonly netns: string | undefined
  private sock?: NetlinkSocket
  private readonly families = new Map<string, GenlFamily>()
  private readonly names: Record<number, string> = { [GENL_ID_CTRL]: 'CTRL_CMD_GETFAMILY' }

  constructor(opts: { netns?: string } = {}) {
    this.netns = opts.netns
  }

  get socket(): NetlinkSocket {
    if (!this.sock) this.sock = new NetlinkSocket({ protocol: NETLINK.GENERIC, netns: this.netns, typeNames: this.names }).unref()
    return this.sock
  }

  /** Family id, version and multicast groups by name ('IPVS', 'nlctrl', …); cached. ENOENT when not present. */
  async resolveFamily(name: string): Promise<GenlFamily> {
    const cached = this.families.get(name)
    if (cached) return cached
    const replies = await this.socket.request(GENL_ID_CTRL, 0, encodeGetFamily(name))
    for (const m of replies) {
      const d = decodeFamily(m)
      if (d.ok && d.family.name === name) {
        this.families.set(name, d.family)
        this.names[d.family.id] = `genl ${name}`
        return d.family
      }
    }
    throw systemError(2, 'CTRL_CMD_GETFAMILY', `no reply describing family ${name}`)
  }

  /**
   * A request to a family: genlmsghdr(cmd, version) + optional family header + attributes. Resolves with the
   * replies received before the ACK.
   */
  async request(family: string, cmd: number, body: Attr[] | Buffer, opts: { version?: number; flags?: number; header?: Buffer } = {}): Promise<NlMsg[]> {
    const f = await this.resolveFamily(family)
    return this.socket.request(f.id, opts.flags ?? 0, this.payload(f, cmd, body, opts))
  }

  /** A dump to a family (NLM_F_DUMP): resolves with every reply up to NLMSG_DONE. */
  async dump(family: string, cmd: number, body: Attr[] | Buffer = [], opts: { version?: number; header?: Buffer } = {}): Promise<NlMsg[]> {
    const f = await this.resolveFamily(family)
    return this.socket.dump(f.id, this.payload(f, cmd, body, opts))
  }

  private payload(f: GenlFamily, cmd: number, body: Attr[] | Buffer, opts: { version?: number; header?: Buffer }): Buffer[] {
    const parts: Buffer[] = [Buffer.from([cmd, opts.version ?? f.version, 0, 0])]
    if (opts.header) parts.push(opts.header)
    parts.push(Buffer.isBuffer(body) ? body : encodeAttrs(body))
    return parts
  }

  close(): void {
    this.sock?.close()
    this.sock = undefined
  }
}

export { CTRL_CMD }
