/**
 * The editor's Compare through src/engine (startEngineCompare): the configured engine trains the trials. The core's
 * comparison of the same config is the oracle: both engines start from the same weights and batches, so each
 * candidate's validation loss after a short trial agrees (parity spec: 1e-4 over 20 SGD steps) and the ranking
 * is the same. Needs the bundle (npm run build): the comparison runs in dist/compareWorker.js as in the editor.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { startEngineCompare } from '../../../src/engine/compare';
import type { CompareOutcome } from '../../../src/worker/compareClient';
import { requireTorch } from './torchHelpers';

const YAML = `seed: 5
data: {source: moons, samples: 200, noise: 0.1}
model:
  layers:
    - {type: dense, units: 8, activation: tanh}
    - {type: dense, units: 1, activation: sigmoid}
train: {optimizer: sgd, lr: 0.1, batch: 16, steps: 20, threads: 1}
`;

function start(engine: 'core' | 'torch', candidates: { command: string; source: string }[], yaml = YAML) {
  const config = parseConfigText(yaml, 'cmp.nn.yaml').config!;
  let why = '', used = '';
  const job = startEngineCompare({
    // Three candidates keep it short (each torch trial starts Python); the editor tries all of them the same way.
    config, baseDir: __dirname, layer: 0, memoryLimitMB: 1024, engine, candidates: ['relu', 'sigmoid', 'tanh'],
    workerPath: path.join(__dirname, '../../../dist/compareWorker.js'),
    pythonCandidates: async () => candidates, onEngine: (w, e) => { why = w; used = e; },
  });
  return { cancel: job.cancel, outcome: job.outcome.then((o: CompareOutcome) => ({ ...o, why, used })) };
}

const compare = (engine: 'core' | 'torch', candidates: { command: string; source: string }[]) => start(engine, candidates).outcome;

/** Resolves when probe() holds, re-checked every 50 ms; the bound only stops a hang. */
async function until(what: string, probe: () => boolean, timeoutMs = 240_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

describe('startEngineCompare (the editor\'s Compare)', function () {
  this.timeout(600_000);

  it('engine torch without an interpreter: an error naming what was tried, no trial run', async () => {
    const r = await compare('torch', [{ command: '/nonexistent/python3', source: 'setting activationLens.pythonPath' }]);
    assert.equal(r.status, 'error');
    assert.equal(r.results.length, 0);
    assert.match(r.message ?? '', /\/nonexistent\/python3 \(setting activationLens\.pythonPath\): not found.*pip install torch/);
  });

  it('engine torch: the trials train on PyTorch and rank as the core\'s do, with the same validation losses', async function () {
    const python = requireTorch(this);
    const [core, torch] = [await compare('core', []), await compare('torch', [{ command: python.command, source: 'test' }])];
    assert.equal(core.used, 'core');
    assert.equal(torch.used, 'torch');
    assert.match(torch.why, /engine torch/);
    assert.equal(torch.status, 'done', torch.message);
    assert.equal(core.status, 'done', core.message);
    assert.equal(core.results.length, 3);
    assert.deepEqual(torch.results.map(r => r.activation), core.results.map(r => r.activation));
    for (const c of core.results) {
      const t = torch.results.find(r => r.activation === c.activation)!;
      assert.equal(t.trial?.lr, c.trial?.lr, c.activation);
      assert.equal(t.trial?.lossCurve.length, c.trial?.lossCurve.length, c.activation);
      const a = t.trial!.valLoss, b = c.trial!.valLoss;
      assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(b), `${c.activation}: torch val loss ${a} vs core ${b}`);
    }
    // Another implementation sums in another order: bit-identical losses everywhere would mean the core trained them.
    assert.ok(core.results.some(c => torch.results.find(r => r.activation === c.activation)!.trial!.valLoss !== c.trial!.valLoss), 'torch trials equal the core\'s to the bit');
  });

  it('a torch Compare whose temporary folder cannot be made ends in an error saying so (no exception, no worker left running)', async function () {
    const python = requireTorch(this);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = path.join(os.tmpdir(), 'al-no-such-folder', 'tmp');
    try {
      const o = await start('torch', [{ command: python.command, source: 'test' }]).outcome;
      assert.equal(o.status, 'error');
      assert.equal(o.results.length, 0);
      assert.match(o.message ?? '', /could not start.*al-no-such-folder/);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = saved;
    }
  });

  it('a torch Compare cancelled as a trial starts leaves no temporary folder behind (its worker is stopped at once)', async function () {
    const python = requireTorch(this);
    // The worker thread's os.tmpdir() reads TMPDIR as it was when the worker started.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'al-compare-cancel-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const job = start('torch', [{ command: python.command, source: 'test' }], YAML.replace('steps: 20', 'steps: 20000'));
      const comparison = () => fs.readdirSync(tmp);
      const jobFolders = () => comparison().flatMap(c => fs.readdirSync(path.join(tmp, c)));
      // The cancel comes as the first trial's job folder appears: while it is written, or as its runner starts.
      await until('a trial\'s job folder', () => jobFolders().length > 0);
      job.cancel();
      const o = await job.outcome;
      assert.equal(o.status, 'cancelled');
      await until(`${comparison().join(', ')} to be removed`, () => comparison().length === 0);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = saved;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
