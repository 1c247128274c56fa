/** Generated keepalived.conf files for the config-load bench: `rs` real servers, `perVs` per virtual_server. */
export function generateConfig(rs: number, perVs: number): string {
  const out: string[] = ['global_defs {', '  router_id bench', '}']
  let j = 0
  const nvs = Math.ceil(rs / perVs)
  for (let i = 0; i < nvs; i++) {
    out.push(`virtual_server 203.0.113.${(i % 250) + 1} ${1000 + Math.floor(i / 250)} {`, '  delay_loop 6', '  lb_algo rr', '  lb_kind NAT', '  protocol TCP')
    const here = Math.min(perVs, rs - j)
    for (let k = 0; k < here; k++) {
      j++
      // 198.18.0.0/15 (RFC 2544 benchmarking space): 131072 distinct addresses
      out.push(
        `  real_server 198.${18 + (j >> 16)}.${(j >> 8) & 255}.${j & 255} 80 {`,
        '    weight 1',
        '    TCP_CHECK {',
        '      connect_timeout 3',
        '      connect_port 80',
        '    }',
        '  }',
      )
    }
    out.push('}')
  }
  out.push('')
  return out.join('\n')
}
