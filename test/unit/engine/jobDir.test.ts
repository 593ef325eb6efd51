/**
 * A torch run's job folder is gone after the run, however it ended (src/engine/torch/job.ts removeJobDir, called by
 * startTorchRun when its runner closes). The runner here is a stand-in (a Node script in place of python/runner) that
 * never removes its own folder, as the real one does, so only the host's removal is seen; no torch needed.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { loadRunInputs } from '../../../src/engine/inputs';
import { removeJobDir } from '../../../src/engine/torch/job';
import { startTorchRun } from '../../../src/engine/torch/run';

const YAML = 'seed: 4\ndata: {source: moons, samples: 120, noise: 0.1}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: tanh}\n    - {type: dense, units: 1, activation: sigmoid}\ntrain: {optimizer: sgd, lr: 0.1, batch: 16, steps: 30, threads: 1}\n';

/** Stand-in runners: each reads nothing of its job and leaves its folder where it is. */
const RUNNERS = {
  done: `console.log(JSON.stringify({ type: 'done', result: { steps: 30 } }));`,
  fails: `process.stderr.write('the runner broke\\n'); process.exit(3);`,
  cancel: `console.log(JSON.stringify({ type: 'started', totalSteps: 30, params: 33 }));
require('node:readline').createInterface({ input: process.stdin }).on('line', l => {
  if (l === 'cancel') { console.log(JSON.stringify({ type: 'cancelled', partial: { steps: 3 } })); process.exit(0); }
});`,
};

describe('the torch run\'s job folder is removed by the host', function () {
  this.timeout(60_000);
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'al-jobdir-test-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  async function runWith(kind: keyof typeof RUNNERS): Promise<{ ended: string; jobs: string; during: string[] }> {
    const runner = path.join(root, `${kind}-runner.js`);
    fs.writeFileSync(runner, RUNNERS[kind]);
    const jobs = path.join(root, 'jobs');
    fs.mkdirSync(jobs);
    const config = parseConfigText(YAML, path.join(root, 'run.nn.yaml')).config!;
    const { data } = loadRunInputs(config, root, {});
    let ended = '', started!: () => void;
    const wasStarted = new Promise<void>(r => { started = r; });
    const run = startTorchRun({ config, data, python: process.execPath, runner, tmpDir: jobs }, {
      started: () => started(), stats: () => undefined,
      done: () => { ended = 'done'; }, cancelled: () => { ended = 'cancelled'; }, error: m => { ended = `error: ${m}`; },
    });
    const during = fs.readdirSync(jobs);
    if (kind === 'cancel') { await wasStarted; run.cancel(); }
    await run.exit;
    await run.done;
    return { ended, jobs, during };
  }

  for (const [kind, outcome] of [['done', /^done$/], ['fails', /^error: the torch engine exited \(code 3\).*the runner broke/], ['cancel', /^cancelled$/]] as const) {
    it(`after a run that ${kind === 'done' ? 'succeeds' : kind === 'fails' ? 'fails' : 'is cancelled'}`, async () => {
      const { ended, jobs, during } = await runWith(kind);
      assert.match(ended, outcome);
      assert.equal(during.length, 1, 'the run wrote its job folder');
      assert.match(during[0], /^activation-lens-torch-/);
      assert.deepEqual(fs.readdirSync(jobs), [], `left behind in ${jobs}`);
    });
  }

  it('removeJobDir: the folder and all in it; one already gone is no error', () => {
    const dir = path.join(root, 'job');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sub', 'data.f32'), 'x');
    removeJobDir(dir);
    assert.equal(fs.existsSync(dir), false);
    assert.doesNotThrow(() => removeJobDir(dir));
  });
});
