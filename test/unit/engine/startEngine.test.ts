/** The editor's Run path (startEngineRun): the configured engine trains and reports through the worker's callbacks. */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { startEngineRun } from '../../../src/engine/start';
import { loadRunInputs } from '../../../src/engine/inputs';
import { writeTorchJob } from '../../../src/engine/torch/job';
import { runnerPath } from '../../../src/engine/torch/run';
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

const GEN = path.join(__dirname, '../../fixtures/onnx/generated');
/** A PyTorch MLP (ONNX) starting from its own weights: both engines must start from the same numbers. */
const FROM_MODEL = 'seed: 4\nmodel:\n  onnx: mlp-gemm.onnx\n  init: from-model\ndata: {source: teacher, samples: 64, classes: 4}\ntrain: {optimizer: sgd, lr: 0.01, batch: 8, steps: 3, threads: 1}\n';

function run(engine: 'core' | 'torch', candidates: { command: string; source: string }[], yaml = YAML, baseDir = __dirname) {
  const config = parseConfigText(yaml, path.join(baseDir, 'run.nn.yaml')).config!;
  return new Promise<{ result?: RunResult; error?: string; why?: string; stats: number }>(resolve => {
    let why: string | undefined, stats = 0;
    startEngineRun({
      config, baseDir, maxSteps: 20000, memoryLimitMB: 1024, engine,
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

  it('engine torch: a config over the memory limit is refused before its data is loaded or its weights drawn in the editor\'s thread', async function () {
    const python = requireTorch(this);
    // 4096 x 4096 weights are 64 MB a copy; the limit is 1024 MB, and two such layers at batch 16 with Adam are over it.
    const huge = YAML.replace('units: 8, activation: tanh}', 'units: 16384, activation: tanh}\n    - {type: dense, units: 16384, activation: tanh}');
    const r = await run('torch', [{ command: python.command, source: 'test' }], huge);
    assert.match(r.error ?? '', /estimated memory \d+ MB exceeds the limit of 1024 MB/);
    assert.equal(r.result, undefined);
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

  it('engine torch with init: from-model starts from the model\'s weights, as the core does', async function () {
    const python = requireTorch(this);
    const core = await run('core', [], FROM_MODEL, GEN);
    const torch = await run('torch', [{ command: python.command, source: 'test' }], FROM_MODEL, GEN);
    assert.equal(core.error, undefined); assert.equal(torch.error, undefined);
    // Same weights, data and batch order: the first step's loss agrees (the parity bound); a fresh draw would not.
    const [a, b] = [core.result!.lossCurve[0], torch.result!.lossCurve[0]];
    assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(a), `first loss: core ${a}, torch ${b}`);
  });
});

describe('the torch runner\'s job folder', function () {
  this.timeout(240_000);

  it('is removed by the runner itself when its host goes away (stdin closed before the run ends)', async function () {
    const python = requireTorch(this);
    const config = parseConfigText(YAML.replace('steps: 30', 'steps: 200000'), 'run.nn.yaml').config!;
    const { data } = loadRunInputs(config, __dirname, {});
    const job = writeTorchJob(config, data, {});
    try {
      const child = spawn(python.command, [runnerPath(), job.jobFile], { stdio: ['pipe', 'ignore', 'ignore'] });
      const exited = new Promise<number | null>(r => child.on('exit', code => r(code)));
      // Nobody reads its output or will remove the folder: as after the host's thread was terminated.
      child.stdin.end();
      await exited;
      assert.equal(fs.existsSync(job.dir), false, `${job.dir} is left behind`);
    } finally {
      fs.rmSync(job.dir, { recursive: true, force: true });
    }
  });

  it('refuses more DistributedDataParallel processes than cores on the CPU before it writes anything (each is a Python process with its own torch)', () => {
    const config = parseConfigText(YAML.replace('batch: 16', 'batch: 1024').replace('samples: 120', 'samples: 1500'), 'run.nn.yaml').config!;
    const { data } = loadRunInputs(config, __dirname, {});
    const cores = os.availableParallelism(), tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-procs-'));
    try {
      assert.throws(() => writeTorchJob(config, data, { processes: cores + 1, tmpDir }), new RegExp(`train.processes ${cores + 1} is more than this machine's ${cores} cores`));
      // device auto is the runner's pick_device: CUDA when torch sees it (the Python probe's `cuda`), else the CPU.
      for (const cuda of [undefined, false]) {
        assert.throws(() => writeTorchJob(config, data, { processes: 1024, device: 'auto', cuda, tmpDir }),
          new RegExp(`^Error: train.processes 1024 is more than this machine's ${cores} cores: device auto runs on the CPU here \\(torch sees no CUDA\\), and DistributedDataParallel on the CPU runs one process per core at most \\(set processes: ${cores} or fewer\\)$`));
      }
      assert.deepEqual(fs.readdirSync(tmpDir), [], 'no job folder left');
      // One per core is a job; so is any count on CUDA (one per GPU, which the runner checks), auto where torch sees CUDA included.
      for (const opts of [{ processes: cores }, { processes: cores + 1, device: 'cuda' as const }, { processes: cores + 1, device: 'auto' as const, cuda: true }]) {
        const job = writeTorchJob(config, data, { ...opts, tmpDir });
        assert.equal(JSON.parse(fs.readFileSync(job.jobFile, 'utf8')).processes, opts.processes);
        fs.rmSync(job.dir, { recursive: true, force: true });
      }
    } finally {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    }
  });

  it('is the only folder it removes: a job copied into a folder of the user\'s (to rerun it by hand) leaves that folder alone', async function () {
    const python = requireTorch(this);
    const config = parseConfigText(YAML, 'run.nn.yaml').config!;
    const { data } = loadRunInputs(config, __dirname, {});
    const job = writeTorchJob(config, data, {});
    const mine = fs.mkdtempSync(path.join(os.tmpdir(), 'al-my-project-'));
    try {
      const spec = JSON.parse(fs.readFileSync(job.jobFile, 'utf8'));
      fs.copyFileSync(job.dataFile, path.join(mine, 'data.f32'));
      fs.writeFileSync(path.join(mine, 'notes.txt'), 'the user\'s own file');
      fs.writeFileSync(path.join(mine, 'job.json'), JSON.stringify({ ...spec, dataFile: path.join(mine, 'data.f32') }));
      // stdin stays open: the run goes to its end (a closed stdin would cancel it).
      const child = spawn(python.command, [runnerPath(), path.join(mine, 'job.json')], { stdio: ['pipe', 'ignore', 'ignore'] });
      assert.equal(await new Promise(r => child.on('exit', code => r(code))), 0, 'the copied job ran');
      child.stdin!.destroy();
      assert.deepEqual(fs.readdirSync(mine).sort(), ['data.f32', 'job.json', 'notes.txt']);
    } finally {
      fs.rmSync(job.dir, { recursive: true, force: true });
      fs.rmSync(mine, { recursive: true, force: true });
    }
  });
});
