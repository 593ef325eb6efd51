/**
 * Ctrl-C on the CLI while the core trains (node dist/cli.js; `npm run build` first). The core trains synchronously
 * on the CLI's main thread, where a JavaScript signal listener never gets to run: the CLI must leave SIGINT and
 * SIGTERM to their default action then (it listens only while a torch runner's job folder is open: torchCli.test.ts).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const EXAMPLE = path.resolve(__dirname, '../../../examples/deep-sigmoid-spiral.nn.yaml');

/** CPU seconds a process has used (Linux: /proc/<pid>/stat utime + stime, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

describe('CLI: signals', function () {
  this.timeout(60_000);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} during the core's training ends the CLI at once (a 10^6-step run)`, async function () {
      if (process.platform !== 'linux') this.skip();
      const p = spawn(process.execPath, [CLI, 'diagnose', EXAMPLE, '--steps', '1000000'], { stdio: 'ignore' });
      let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      const exited = new Promise<void>(r => p.on('exit', (code, signal) => { ended = { code, signal }; r(); }));
      // Training has started once the CLI has used more CPU than loading takes (~0.5 s here).
      while (!ended && cpuSeconds(p.pid!) < 2) await new Promise(r => setTimeout(r, 50));
      assert.ok(!ended, `the CLI ended before the signal: ${JSON.stringify(ended)}`);
      p.kill(sig);
      // A CLI that defers the signal to its event loop runs the million steps first: the test's timeout fails it.
      await exited;
      assert.deepEqual(ended, { code: null, signal: sig });
    });
  }
});
