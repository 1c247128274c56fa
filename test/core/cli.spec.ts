import { strict as assert } from 'node:assert'
import { main, optionsFrom, SIGFUNCS } from '../../core/src/cli/main.js'
import { pidFilesFor } from '../../core/src/options.js'

function io() {
  const o = { out: '', err: '' }
  return { o, io: { out: (s: string) => (o.out += s), err: (s: string) => (o.err += s) } }
}

describe('core/cli', () => {
  it('pid files as keepalived names them: namespace, then instance, then use_pid_dir', () => {
    assert.deepEqual(pidFilesFor({}), {})
    assert.equal(pidFilesFor({ usePidDir: true }).vrrpPidFile, '/run/keepalived/vrrp.pid')
    assert.equal(pidFilesFor({ instance: 'a', usePidDir: true }).pidFile, '/run/keepalived/keepalived_a.pid')
    assert.equal(pidFilesFor({ namespace: 'ns', instance: 'a' }).checkersPidFile, '/run/keepalived/ns/checkers.pid')
    assert.equal(pidFilesFor({ namespace: 'ns' }).bfdPidFile, '/run/keepalived/ns/bfd.pid')
  })

  it('--signum prints keepalived numbers', async () => {
    for (const [name, n] of Object.entries(SIGFUNCS)) {
      const { o, io: i } = io()
      assert.equal(await main([`--signum=${name}`], i), 0)
      assert.equal(o.out.trim(), String(n))
    }
    const { o, io: i } = io()
    assert.equal(await main(['--signum=TDUMP'], i), 1)
    assert.match(o.err, /Unknown sigfunc/)
  })

  it('unknown flags get an error and the usage', async () => {
    const { o, io: i } = io()
    assert.equal(await main(['--no-such-flag'], i), 1)
    assert.match(o.err, /unknown option '--no-such-flag'/)
    assert.match(o.err, /Usage: kad/)
  })

  it('maps every keepalived flag to the options', () => {
    const o = optionsFrom({ useFile: '/x.conf', dontFork: true, logConsole: true, logDetail: true, logFacility: 'local3', syslog: false, vrrp: true, no_bfd: true, all: true, pid: '/p', vrrp_pid: '/r', checkers_pid: '/c', bfd_pid: '/b', dontReleaseVrrp: true, dontReleaseIpvs: true, releaseVips: true, dontRespawn: true, configId: 'lb1', allConfig: true, umask: '022', strict: true })
    assert.equal(o.configFile, '/x.conf')
    assert.equal(o.logFacility, 3)
    assert.equal(o.noSyslog, true)
    assert.deepEqual([o.pidFile, o.vrrpPidFile, o.checkersPidFile, o.bfdPidFile], ['/p', '/r', '/c', '/b'])
    assert.equal(o.umask, 0o22)
    assert.equal(o.configId, 'lb1')
    assert.ok(o.vrrpOnly && o.noBfd && o.all && o.dontReleaseVrrp && o.dontReleaseIpvs && o.releaseVips && o.dontRespawn && o.allConfig && o.strict)
  })

  it('rejects a bad log facility', async () => {
    const { o, io: i } = io()
    assert.equal(await main(['-S', 'local9', '-t'], i), 1)
    assert.match(o.err, /invalid log facility 'local9'/)
  })

  it('--version and --help', async () => {
    let r = io()
    assert.equal(await main(['-v'], r.io), 0)
    assert.match(r.o.err, /kad v\d/)
    r = io()
    assert.equal(await main(['--help'], r.io), 0)
    assert.match(r.o.out, /--config-test/)
  })
})
