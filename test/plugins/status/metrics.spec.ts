import assert from 'node:assert/strict'
import { KeywordTree, parseConfigText, registerCoreKeywords } from '@kad/core'
import { health, renderMetrics, statusSection, withoutSecrets } from '../../../plugins/status/src/index.js'
import { registerStatusKeywords, SECTION } from '../../../plugins/status/src/config.js'

const vrrpRecord = {
  data: { iname: 'VI_1', ifp_ifname: 'eth0', vrid: 51, state: 2, base_priority: 150, effective_priority: 140, kad_adverts_received_as_master: 4, kad_trackers: [{ name: 'script:chk', fault: false, weight: -10 }] },
  stats: { advert_sent: 12, advert_rcvd: 3, become_master: 1, release_master: 0, pri_zero_sent: 0, pri_zero_rcvd: 1, packet_len_err: 0, ip_ttl_err: 2, invalid_type_rcvd: 0, advert_interval_err: 0, addr_list_err: 0, invalid_authtype: 0, authtype_mismatch: 0, auth_failure: 0 },
}

describe('status plugin: the Prometheus exposition (golden text)', () => {
  it('renders the parent, the children and what their plugins report', () => {
    const text = renderMetrics({
      version: '0.1.0',
      self: { pid: 10, startedAt: 1_000_000 },
      children: [
        { role: 'vrrp', pid: 11, up: true, restarts: 1, startedAt: 2_000_000, json: { vrrp: [vrrpRecord] }, loop: { lagP99Us: 250, lagMaxUs: 900, latenessP99Us: 40 } },
        {
          role: 'check', pid: 12, up: true, restarts: 0, startedAt: 2_000_000,
          json: { checkers: { virtualServers: [{ name: '[198.51.100.10]:tcp:80', quorumUp: true, liveWeight: 3, realServers: [{ id: '[192.0.2.5]:80', up: true, weight: 3, checkers: [{ type: 'TCP_CHECK', ok: true, attempts: 7, failures: 1 }] }] }] } },
        },
        { role: 'bfd', up: false, restarts: 4, startedAt: 0, error: 'not running' },
      ],
    })
    const expected = `# HELP kad_up kad is running (the parent answered)
# TYPE kad_up gauge
kad_up 1
# HELP kad_info kad version
# TYPE kad_info gauge
kad_info{version="0.1.0"} 1
# HELP kad_start_time_seconds start time of the parent process, seconds since the epoch
# TYPE kad_start_time_seconds gauge
kad_start_time_seconds 1000
# HELP kad_child_up the child process runs (1) or not (0)
# TYPE kad_child_up gauge
kad_child_up{role="vrrp"} 1
kad_child_up{role="check"} 1
kad_child_up{role="bfd"} 0
# HELP kad_child_responding the child answered the status query in time
# TYPE kad_child_responding gauge
kad_child_responding{role="vrrp"} 1
kad_child_responding{role="check"} 1
kad_child_responding{role="bfd"} 0
# HELP kad_child_restarts_total restarts of the child after it died
# TYPE kad_child_restarts_total counter
kad_child_restarts_total{role="vrrp"} 1
kad_child_restarts_total{role="check"} 0
kad_child_restarts_total{role="bfd"} 4
# HELP kad_child_start_time_seconds start time of the current child process, seconds since the epoch
# TYPE kad_child_start_time_seconds gauge
kad_child_start_time_seconds{role="vrrp"} 2000
kad_child_start_time_seconds{role="check"} 2000
# HELP kad_child_event_loop_lag_p99_seconds the child's event-loop lag, 99th percentile
# TYPE kad_child_event_loop_lag_p99_seconds gauge
kad_child_event_loop_lag_p99_seconds{role="vrrp"} 0.00025
# HELP kad_child_event_loop_lag_max_seconds the child's event-loop lag, maximum
# TYPE kad_child_event_loop_lag_max_seconds gauge
kad_child_event_loop_lag_max_seconds{role="vrrp"} 0.0009
# HELP kad_child_timer_lateness_p99_seconds the child's timer lateness, 99th percentile
# TYPE kad_child_timer_lateness_p99_seconds gauge
kad_child_timer_lateness_p99_seconds{role="vrrp"} 0.00004
# HELP kad_vrrp_state VRRP instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived numbering)
# TYPE kad_vrrp_state gauge
kad_vrrp_state{vrrp_instance="VI_1",interface="eth0",vrid="51"} 2
# HELP kad_vrrp_base_priority configured priority
# TYPE kad_vrrp_base_priority gauge
kad_vrrp_base_priority{vrrp_instance="VI_1",interface="eth0",vrid="51"} 150
# HELP kad_vrrp_effective_priority priority after tracking weights
# TYPE kad_vrrp_effective_priority gauge
kad_vrrp_effective_priority{vrrp_instance="VI_1",interface="eth0",vrid="51"} 140
# HELP kad_vrrp_adverts_sent_total adverts sent
# TYPE kad_vrrp_adverts_sent_total counter
kad_vrrp_adverts_sent_total{vrrp_instance="VI_1",interface="eth0",vrid="51"} 12
# HELP kad_vrrp_adverts_received_total valid adverts received
# TYPE kad_vrrp_adverts_received_total counter
kad_vrrp_adverts_received_total{vrrp_instance="VI_1",interface="eth0",vrid="51"} 3
# HELP kad_vrrp_become_master_total transitions to MASTER
# TYPE kad_vrrp_become_master_total counter
kad_vrrp_become_master_total{vrrp_instance="VI_1",interface="eth0",vrid="51"} 1
# HELP kad_vrrp_release_master_total transitions from MASTER
# TYPE kad_vrrp_release_master_total counter
kad_vrrp_release_master_total{vrrp_instance="VI_1",interface="eth0",vrid="51"} 0
# HELP kad_vrrp_priority_zero_sent_total priority-0 adverts sent
# TYPE kad_vrrp_priority_zero_sent_total counter
kad_vrrp_priority_zero_sent_total{vrrp_instance="VI_1",interface="eth0",vrid="51"} 0
# HELP kad_vrrp_priority_zero_received_total priority-0 adverts received
# TYPE kad_vrrp_priority_zero_received_total counter
kad_vrrp_priority_zero_received_total{vrrp_instance="VI_1",interface="eth0",vrid="51"} 1
# HELP kad_vrrp_adverts_received_as_master_total adverts from another router received while MASTER: two masters until the election settles (split brain if it grows)
# TYPE kad_vrrp_adverts_received_as_master_total counter
kad_vrrp_adverts_received_as_master_total{vrrp_instance="VI_1",interface="eth0",vrid="51"} 4
# HELP kad_vrrp_packet_errors_total adverts rejected, by keepalived category
# TYPE kad_vrrp_packet_errors_total counter
kad_vrrp_packet_errors_total{vrrp_instance="VI_1",interface="eth0",vrid="51",kind="length"} 0
kad_vrrp_packet_errors_total{vrrp_instance="VI_1",interface="eth0",vrid="51",kind="ttl"} 2
kad_vrrp_packet_errors_total{vrrp_instance="VI_1",interface="eth0",vrid="51",kind="invalid_type"} 0
kad_vrrp_packet_errors_total{vrrp_instance="VI_1",interface="eth0",vrid="51",kind="advert_interval"} 0
kad_vrrp_packet_errors_total{vrrp_instance="VI_1",interface="eth0",vrid="51",kind="address_list"} 0
kad_vrrp_packet_errors_total{vrrp_instance="VI_1",interface="eth0",vrid="51",kind="auth_invalid_type"} 0
kad_vrrp_packet_errors_total{vrrp_instance="VI_1",interface="eth0",vrid="51",kind="auth_type_mismatch"} 0
kad_vrrp_packet_errors_total{vrrp_instance="VI_1",interface="eth0",vrid="51",kind="auth_failure"} 0
# HELP kad_vrrp_tracker_fault the tracker puts the instance in FAULT (1) or not (0)
# TYPE kad_vrrp_tracker_fault gauge
kad_vrrp_tracker_fault{vrrp_instance="VI_1",tracker="script:chk"} 0
# HELP kad_vrrp_tracker_weight what the tracker adds to the priority
# TYPE kad_vrrp_tracker_weight gauge
kad_vrrp_tracker_weight{vrrp_instance="VI_1",tracker="script:chk"} -10
# HELP kad_lvs_virtual_server_quorum_up the virtual server has its quorum (1) or not (0)
# TYPE kad_lvs_virtual_server_quorum_up gauge
kad_lvs_virtual_server_quorum_up{virtual_server="[198.51.100.10]:tcp:80"} 1
# HELP kad_lvs_virtual_server_live_weight sum of the weights of the real servers up
# TYPE kad_lvs_virtual_server_live_weight gauge
kad_lvs_virtual_server_live_weight{virtual_server="[198.51.100.10]:tcp:80"} 3
# HELP kad_lvs_real_server_up the real server passes its checks (1) or not (0)
# TYPE kad_lvs_real_server_up gauge
kad_lvs_real_server_up{virtual_server="[198.51.100.10]:tcp:80",real_server="[192.0.2.5]:80"} 1
# HELP kad_lvs_real_server_weight the weight the real server has in the load balancer
# TYPE kad_lvs_real_server_weight gauge
kad_lvs_real_server_weight{virtual_server="[198.51.100.10]:tcp:80",real_server="[192.0.2.5]:80"} 3
# HELP kad_lvs_checker_up the checker passes (1) or not (0)
# TYPE kad_lvs_checker_up gauge
kad_lvs_checker_up{virtual_server="[198.51.100.10]:tcp:80",real_server="[192.0.2.5]:80",checker="TCP_CHECK",index="0"} 1
# HELP kad_lvs_checks_total check attempts
# TYPE kad_lvs_checks_total counter
kad_lvs_checks_total{virtual_server="[198.51.100.10]:tcp:80",real_server="[192.0.2.5]:80",checker="TCP_CHECK",index="0"} 7
# HELP kad_lvs_check_failures_total failed check attempts
# TYPE kad_lvs_check_failures_total counter
kad_lvs_check_failures_total{virtual_server="[198.51.100.10]:tcp:80",real_server="[192.0.2.5]:80",checker="TCP_CHECK",index="0"} 1
`
    assert.equal(text, expected)
  })

  it('escapes label values; a BFD session is up only in state Up', () => {
    const text = renderMetrics({
      version: '1"\\\n', self: { pid: 1, startedAt: 0 },
      children: [{ role: 'bfd', up: true, restarts: 0, startedAt: 0, json: { bfd: { sessions: [{ name: 'a', neighbor: '192.0.2.2', state: 'Up', detectionTimeMs: 60, counters: { rx: 5, tx: 6, ups: 1, downs: 0 } }, { name: 'b', neighbor: '2001:db8::2', state: 'Init' }] } } }],
    })
    assert.ok(text.includes('kad_info{version="1\\"\\\\\\n"} 1'), text)
    assert.ok(text.includes('kad_bfd_session_up{session="a",neighbor="192.0.2.2"} 1'))
    assert.ok(text.includes('kad_bfd_session_up{session="b",neighbor="2001:db8::2"} 0'))
    assert.ok(text.includes('kad_bfd_session_detection_time_seconds{session="a",neighbor="192.0.2.2"} 0.06'))
    assert.ok(text.includes('kad_bfd_session_packets_sent_total{session="a",neighbor="192.0.2.2"} 6'))
  })

  it('/status never serves secrets (VRRP keys, SMTP passwords), wherever they sit', () => {
    assert.deepEqual(withoutSecrets([{ role: 'vrrp', json: { vrrp: [{ data: { iname: 'VI_1', auth_type: 1, auth_data: 'secret12' } }], smtp: { smtp_auth_pass: 'x', server: 'a' } } }]),
      [{ role: 'vrrp', json: { vrrp: [{ data: { iname: 'VI_1', auth_type: 1 } }], smtp: { server: 'a' } } }])
  })

  it('/healthz: ok when every child runs and answered; else one line per problem', () => {
    assert.deepEqual(health([{ role: 'vrrp', up: true, restarts: 0, startedAt: 0, json: {} }]), { ok: true, problems: [] })
    assert.deepEqual(health([{ role: 'vrrp', up: true, restarts: 0, startedAt: 0, error: 'no answer within 1000 ms' }, { role: 'bfd', up: false, restarts: 0, startedAt: 0, error: 'not running' }]),
      { ok: false, problems: ['vrrp: no answer within 1000 ms', 'bfd: not running'] })
  })
})

describe('status plugin: kad_status_listen', () => {
  const parse = (text: string) => {
    const t = new KeywordTree()
    registerCoreKeywords(t)
    const r = t.forPlugin('status')
    r.extend('global_defs', registerStatusKeywords)
    return parseConfigText(text, t, { file: 'keepalived.conf' })
  }
  it('ADDRESS [PORT], default port 9650, IPv6 too', () => {
    assert.deepEqual(statusSection(parse('global_defs {\n  kad_status_listen 127.0.0.1\n}\n').model).listen, { address: '127.0.0.1', port: 9650 })
    assert.deepEqual(statusSection(parse('global_defs {\n  kad_status_listen 2001:db8::1 9100\n}\n').model).listen, { address: '2001:db8::1', port: 9100 })
    assert.equal(SECTION, 'status')
  })
  it('a bad address or port, or a second line, is an error with its line', () => {
    const r = parse('global_defs {\n  kad_status_listen localhost\n  kad_status_listen 127.0.0.1 70000\n  kad_status_listen 127.0.0.1 1\n  kad_status_listen 127.0.0.1 2\n}\n')
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.loc?.line), [2, 3, 5])
    assert.deepEqual(statusSection(r.model).listen, { address: '127.0.0.1', port: 1 })
  })
})
