/** The editor's Run path (startEngineRun): the configured engine trains and reports through the worker's callbacks. */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { startEngineRun } from '../../../src/engine/start';
import type { RunResult } from '../../../src/core/types';
import { requireTorch } from './torchHelpers';

const YAML = `seed: 4
data: {source: moons, samples: 120, noise: 0.1}
model:
  layers:
    - {type: dense, units: 8, activation: tanh}
    - {type: dense, units: 1, activation: sigmoid}
train: {optimizer: sgd, lr: 0.1, batch: 16, steps: 30, threads: 1}
`;

function run(engine: 'core' | 'torch', candidates: { command: string; source: string }[]) {
  const config = parseConfigText(YAML, 'run.nn.yaml').config!;
  return new Promise<{ result?: RunResult; error?: string; why?: string; stats: number }>(resolve => {
    let why: string | undefined, stats = 0;
    startEngineRun({
      config, baseDir: __dirname, maxSteps: 20000, memoryLimitMB: 1024, engine,
      workerPath: path.join(__dirname, '../../../dist/worker.js'),
      pythonCandidates: async () => candidates, onEngine: w => { why = w; },
    }, {
      stats: () => { stats++; },
      done: result => resolve({ result, why, stats }),
      cancelled: result => resolve({ result, why, stats }),
      error: error => resolve({ error, why, stats }),
    });
  });
}

describe('startEngineRun (the editor\'s Run)', function () {
  this.timeout(120_000);

  it('engine torch without an interpreter: one error naming what was tried', async () => {
    const r = await run('torch', [{ command: '/nonexistent/python3', source: 'setting activationLens.pythonPath' }]);
    assert.match(r.error ?? '', /\/nonexistent\/python3 \(setting activationLens\.pythonPath\): not found.*pip install torch/);
  });

  it('engine torch: the run streams stats and completes with the full timeline', async function () {
    const python = requireTorch(this);
    const r = await run('torch', [{ command: python.command, source: 'test' }]);
    assert.equal(r.error, undefined);
    assert.match(r.why ?? '', /engine torch/);
    assert.equal(r.result?.stopped, 'completed');
    assert.equal(r.result?.steps, 30);
    assert.equal(r.result?.lossCurve.length, 30);
    assert.ok(r.stats >= 1);
  });
});
