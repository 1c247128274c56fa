import { strict as assert } from 'node:assert'
import { mkdtempSync, writeFileSync, rmSync, readFileSync, renameSync } from 'node:fs'
import { createHost, scenario, upList, type TestHost } from '../checkers/helpers/host.js'
import { ALL_CHECKER_PLUGINS } from '../checkers/helpers/all-plugins.js'
import { readTrackFile, watchTrackFile } from '@kad/plugin-checker-file'

describe('FILE_CHECK and track_file (inotify)', function () {
  this.timeout(20000)
  let dir: string
  let host: TestHost
  before(async () => {
    dir = mkdtempSync('/tmp/kad-file-')
    host = await createHost(ALL_CHECKER_PLUGINS)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('follows the file: weight from the value, down when out of range or non-zero with weight 0', async () => {
    writeFileSync(`${dir}/plain`, '0\n')
    const conf = `
track_file dyn {
  file ${dir}/dyn
  weight 3
  init_file 2
}
vrrp_track_file plain {
  file ${dir}/plain
  weight 0
}
${scenario(1, '127.0.0.1', 80, 'FILE_CHECK {\n track_file dyn\n dynamic\n }')}
${scenario(2, '127.0.0.1', 81, 'FILE_CHECK {\n track_file plain\n }')}
`
    const run = await host.run(conf)
    try {
      assert.equal(readFileSync(`${dir}/dyn`, 'utf8').trim(), '2')
      await run.until(() => JSON.stringify(upList(run)) === '[6,1]', 3000)
      writeFileSync(`${dir}/dyn`, '10\n')
      await run.until(() => JSON.stringify(upList(run)) === '[30,1]', 2000)
      writeFileSync(`${dir}/dyn`, '-1\n')
      await run.until(() => JSON.stringify(upList(run)) === '[false,1]', 2000)
      // replaced by rename, as editors and config tools do
      writeFileSync(`${dir}/plain.tmp`, '1\n')
      renameSync(`${dir}/plain.tmp`, `${dir}/plain`)
      await run.until(() => JSON.stringify(upList(run)) === '[false,false]', 2000)
      assert.equal(readTrackFile('plain'), 1)
      const seen: number[] = []
      const off = watchTrackFile('dyn', (v) => seen.push(v))
      writeFileSync(`${dir}/dyn`, '4\n')
      await run.until(() => JSON.stringify(upList(run)) === '[12,false]', 2000)
      off()
      assert.deepEqual(seen, [-1, 4])
    } finally {
      await run.stop()
    }
  })
})
