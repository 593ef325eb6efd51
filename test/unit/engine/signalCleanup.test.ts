/** The CLI's Ctrl-C while a torch runner has not cleaned up yet: the CLI removes the job folders of its open runs. */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

describe('torch runs: SIGINT to the CLI removes the job folder of a runner that never cleans up', function () {
  this.timeout(60_000);
  it('a fake interpreter answers the torch probe, then hangs as the runner: the folder is gone once the CLI exited', async function () {
    if (process.platform === 'win32') this.skip();
    // No torch needed: `-c PROBE` answers a version; the runner never starts, so only the CLI's exit hook can
    // remove its job folder (b6b02ce: the folder recorded on the open run). Only the CLI gets the signal.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-sigcleanup-'));
    const tmp = path.join(dir, 'tmp'), py = path.join(dir, 'py');
    fs.mkdirSync(tmp);
    fs.writeFileSync(py, '#!/bin/sh\ncase "$1" in -c) printf "2.1.0 0";; *) exec sleep 60;; esac\n', { mode: 0o755 });
    const cli = spawn(process.execPath, [path.join(__dirname, '../../../dist/cli.js'), 'diagnose', path.join(__dirname, '../../../examples/tanh-glorot.nn.yaml'), '--engine', 'torch'],
      { env: { ...process.env, TMPDIR: tmp, ACTIVATION_LENS_PYTHON: py }, detached: true, stdio: 'ignore' });
    try {
      let gone = false;
      const exited = new Promise<number | null>(r => cli.on('exit', code => { gone = true; r(code); }));
      while (!gone && fs.readdirSync(tmp).length === 0) await new Promise(r => setTimeout(r, 20));
      assert.ok(!gone, 'the CLI exited before making a job folder');
      cli.kill('SIGINT');
      assert.equal(await exited, 130);
      assert.deepEqual(fs.readdirSync(tmp), []);
    } finally {
      // The hanging "runner" (the CLI's process group).
      try { process.kill(-cli.pid!, 'SIGKILL'); } catch { /* gone */ }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
