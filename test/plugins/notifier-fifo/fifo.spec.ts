import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fifoPlugin, { fifoLine } from '../../../plugins/notifier-fifo/src/index.js'
import type { Notification } from '@kad/core'
import type { FifoStats } from '../../../plugins/notifier-fifo/src/fifo-writer.js'
import { makeHost, waitFor, type TestHost } from '../../notifications/harness.js'

const inst = (to: string, priority: number, name = 'VI_1'): Notification => ({ source: 'vrrp', kind: 'vrrp-instance', name, to, priority, time: Date.now() })

function fifoStats(host: TestHost): FifoStats[] {
  let out: FifoStats[] = []
  host.hooks.dumpJson.call({ section: () => {}, json: (k, v) => void (k === 'notify_fifos' && (out = v as FifoStats[])) })
  return out
}

describe('notifier-fifo', function () {
  this.timeout(30_000)
  let dir: string
  let host: TestHost | undefined
  const children: ChildProcess[] = []

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kad-fifo-'))
  })
  afterEach(async () => {
    await host?.stop()
    host = undefined
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  it("writes keepalived's line formats", () => {
    assert.equal(fifoLine(inst('MASTER', 100)), 'INSTANCE "VI_1" MASTER 100\n')
    assert.equal(fifoLine({ source: 'vrrp', kind: 'vrrp-group', name: 'G', to: 'BACKUP', time: 0, priority: 50 }), 'GROUP "G" BACKUP 0\n')
    assert.equal(fifoLine({ source: 'check', kind: 'virtual-server', name: '[192.168.201.15]:tcp:80', to: 'UP', time: 0 }), 'VS [192.168.201.15]:tcp:80 UP\n')
    const rs: Notification = { source: 'check', kind: 'real-server', name: '[1.2.3.4]:tcp:80', to: 'DOWN', time: 0, detail: { virtualServer: '[192.168.201.15]:tcp:80' } }
    assert.equal(fifoLine(rs), 'RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN\n')
    assert.equal(fifoLine({ ...rs, detail: { ...rs.detail, rsChanged: false } }), undefined)
    assert.equal(fifoLine({ source: 'bfd', kind: 'bfd', name: 'b', to: 'UP', time: 0 }), undefined)
  })

  it('1,000 transitions in a burst reach the FIFO in order, read by the notify_fifo_script (FIFO path as last argument)', async () => {
    const fifo = join(dir, 'notify.fifo')
    const out = join(dir, 'out.txt')
    const script = join(dir, 'reader.sh')
    writeFileSync(script, `#!/bin/sh\nexec cat "$1" > ${out}\n`)
    chmodSync(script, 0o755)
    host = await makeHost([fifoPlugin], 'vrrp')
    host.load(`global_defs {\n  vrrp_notify_fifo ${fifo}\n  vrrp_notify_fifo_script ${script}\n}\n`)
    assert.deepEqual(host.diagnostics, [])
    await host.start()
    assert.ok(statSync(fifo).isFIFO())
    assert.equal(statSync(fifo).mode & 0o777, 0o644)
    for (let i = 0; i < 1000; i++) host.notifications.publish(inst(i % 2 ? 'MASTER' : 'BACKUP', i % 256))
    await host.notifications.drain()
    const want = Array.from({ length: 1000 }, (_, i) => `INSTANCE "VI_1" ${i % 2 ? 'MASTER' : 'BACKUP'} ${i % 256}`)
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 1000, 10_000, 20, '1000 lines')
    assert.deepEqual(readFileSync(out, 'utf8').trimEnd().split('\n'), want)
    const s = fifoStats(host)
    assert.equal(s[0].written, 1000)
    assert.equal(s[0].dropped, 0)
    await host.stop()
    host = undefined
    assert.equal(existsSync(fifo), false, 'kad removes the FIFO it created')
  })

  it('with no reader at all, kad never blocks: the pipe fills, then lines are dropped and counted', async () => {
    const fifo = join(dir, 'lonely.fifo')
    host = await makeHost([fifoPlugin], 'vrrp', { options: { 'notifier-fifo': { maxItems: 100 } } })
    host.load(`global_defs {\n  notify_fifo ${fifo}\n}\n`)
    await host.start()
    const t0 = performance.now()
    for (let i = 0; i < 5000; i++) host.notifications.publish(inst('MASTER', i % 256, `VI_${i % 10}`))
    await host.notifications.drain()
    assert.equal(host.notifications.stats().dropped, 0)
    const dt = performance.now() - t0
    const s = fifoStats(host)[0]
    assert.ok(s.written > 1000 && s.written < 5000, JSON.stringify(s)) // a 64 KiB pipe of ~27-byte lines
    assert.equal(s.queued, 100)
    assert.equal(s.written + s.queued + s.dropped, 5000)
    assert.ok(dt < 5000, `took ${dt} ms`)
  })

  it('a slow reader makes kad count drops, not stall; what arrives is in order', async () => {
    const fifo = join(dir, 'slow.fifo')
    host = await makeHost([fifoPlugin], 'vrrp', { options: { 'notifier-fifo': { maxItems: 200, retryMs: 5, retryMaxMs: 20 } } })
    host.load(`global_defs {\n  vrrp_notify_fifo ${fifo}\n}\n`)
    await host.start()
    // a reader at ~10 KB/s (512 bytes, then a 50 ms nap): a writer that blocked on the FIFO would be stuck for
    // tens of seconds on the 540 KB published below
    const reader = spawn('/usr/bin/python3', ['-c', `import sys,time\nf=open(sys.argv[1],'rb',buffering=0)\nwhile True:\n  b=f.read(512)\n  if not b: break\n  sys.stdout.buffer.write(b); sys.stdout.flush(); time.sleep(0.05)\n`, fifo], { stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(reader)
    let got = ''
    reader.stdout!.on('data', (d: Buffer) => (got += d.toString()))

    let worstLate = 0
    let expected = performance.now() + 10
    let timer: NodeJS.Timeout
    const tick = () => {
      const now = performance.now()
      worstLate = Math.max(worstLate, now - expected)
      expected = now + 10
      timer = setTimeout(tick, 10)
    }
    timer = setTimeout(tick, 10)

    const total = 20_000
    let published = 0
    // bursts of 2,000 every 20 ms, as a busy VRRP process might
    const t0 = performance.now()
    await new Promise<void>((resolve) => {
      const burst = () => {
        for (let i = 0; i < 2000; i++, published++) host!.notifications.publish(inst('MASTER', published))
        if (published < total) setTimeout(burst, 20)
        else resolve()
      }
      burst()
    })
    await host.notifications.drain()
    const elapsed = performance.now() - t0
    await new Promise((r) => setTimeout(r, 300))
    clearTimeout(timer!)
    const s = fifoStats(host)[0]
    assert.equal(host.notifications.stats().dropped, 0, "the drops are the slow FIFO's, not the notification queue's")
    assert.ok(s.dropped > 10_000, `expected drops: ${JSON.stringify(s)}`)
    assert.equal(s.written + s.queued + s.dropped, total)
    assert.ok(elapsed < 10_000, `publishing and delivering took ${elapsed.toFixed(0)} ms`)
    // generous for loaded CI machines; a blocking write would be late by seconds
    assert.ok(worstLate < 1000, `a 10 ms timer was ${worstLate.toFixed(1)} ms late`)
    const lines = got.slice(0, got.lastIndexOf('\n')).split('\n').filter(Boolean)
    assert.ok(lines.length > 0, 'the reader got something')
    const seq = lines.map((l) => Number(/^INSTANCE "VI_1" MASTER (\d+)$/.exec(l)![1]))
    for (let i = 1; i < seq.length; i++) assert.ok(seq[i] > seq[i - 1], `out of order at ${i}: ${seq[i - 1]} then ${seq[i]}`)
  })

  it('SIGTERMs the fifo script on stop and a changed FIFO on reload', async () => {
    const fifo = join(dir, 'a.fifo')
    const marker = join(dir, 'terms')
    const script = join(dir, 'reader.sh')
    writeFileSync(script, `#!/bin/sh\ntrap 'echo TERM >> ${marker}; exit 0' TERM\nwhile :; do sleep 0.05; done\n`)
    chmodSync(script, 0o755)
    host = await makeHost([fifoPlugin], 'check')
    const model1 = host.load(`global_defs {\n  lvs_notify_fifo ${fifo}\n  lvs_notify_fifo_script ${script}\n}\n`)
    await host.start()
    await new Promise((r) => setTimeout(r, 200))
    const model2 = host.keywords.parse(`global_defs {\n  lvs_notify_fifo ${join(dir, 'b.fifo')}\n  lvs_notify_fifo_script ${script}\n}\n`).model
    await host.hooks.reload.promise(model2, model1)
    await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8') === 'TERM\n', 5000, 20, 'first script TERMed')
    assert.equal(existsSync(fifo), false)
    assert.ok(statSync(join(dir, 'b.fifo')).isFIFO())
    await new Promise((r) => setTimeout(r, 200))
    await host.stop()
    host = undefined
    await waitFor(() => readFileSync(marker, 'utf8') === 'TERM\nTERM\n', 5000, 20, 'second script TERMed')
  })

  it('ignores a vrrp FIFO that is the global one, and refuses a path that is not a FIFO', async () => {
    const fifo = join(dir, 'same.fifo')
    const plain = join(dir, 'plain')
    writeFileSync(plain, '')
    host = await makeHost([fifoPlugin], 'vrrp')
    const model = host.load(`global_defs {\n  notify_fifo ${fifo}\n  vrrp_notify_fifo ${fifo}\n}\n`)
    const diags: string[] = []
    host.hooks.validateConfig.call(model, { report: (d) => void diags.push(d.code) })
    assert.deepEqual(diags, ['KAD_CFG_FIFO_SAME'])
    await host.start()
    assert.equal(fifoStats(host).length, 1)
    await host.stop()

    host = await makeHost([fifoPlugin], 'vrrp')
    host.load(`global_defs {\n  notify_fifo ${plain}\n}\n`)
    await host.start()
    assert.equal(fifoStats(host)[0].open, false)
    assert.ok(host.log.lines.some((l) => l.level === 'error' && /not a FIFO/.test(l.msg)))
  })
})
