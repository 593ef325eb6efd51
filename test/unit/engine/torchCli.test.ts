/**
 * `diagnose --engine torch --json` on representative bundled examples: a report of the same schema whose findings (kind,
 * severity, layer) are the core's; `--processes 2` (DistributedDataParallel) too; and the one message naming
 * every interpreter tried when none has torch. Short runs (--steps) keep the suite quick.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliJson } from '../cli/helpers';
import { findTorchPython, TorchUnavailable, requireTorchPython } from '../../../src/engine/torch/python';
import { chooseEngine, AUTO_MIN_WORK, stepWork } from '../../../src/engine/select';
import { parseConfigText } from '../../../src/config';
import type { Report } from '../../../src/report/json';
import { requireTorch } from './torchHelpers';

const EXAMPLES = path.join(__dirname, '../../../examples');
const STEPS = '40';
const key = (r: Report) => r.findings.map(f => `${f.kind}:${f.severity}:${f.layer ?? '-'}`).sort();

describe('torch engine from the CLI', function () {
  this.timeout(600_000);
  let python: string;
  before(function () {
    python = requireTorch(this).command;
    process.env.ACTIVATION_LENS_PYTHON = python;
  });

  // One example per distinct path through the runner: conv + pooling + adam, CSV data, a Keras import with its
  // weights, an ONNX import (conv net with weights), binary cross-entropy fused with a sigmoid output. The dense
  // MLPs of the other examples differ only by activation and optimizer, which torchParity.test.ts covers one by one;
  // the deep sigmoid net is the --processes 2 and --verify tests below.
  const examples = ['conv-shapes', 'csv-pump-failure', 'keras-import', 'onnx-mnist-cnn', 'tanh-glorot'].map(n => `${n}.nn.yaml`);
  it('the representative examples exist', () => { for (const f of examples) assert.ok(fs.existsSync(path.join(EXAMPLES, f)), f); });
  for (const file of examples) {
    it(`${file}: the torch engine's findings are the core's`, async () => {
      const f = path.join(EXAMPLES, file);
      const core = await cliJson('diagnose', f, ['--steps', STEPS]);
      const torch = await cliJson('diagnose', f, ['--steps', STEPS, '--engine', 'torch', '--threads', '1']);
      assert.deepEqual(key(torch.report), key(core.report));
      assert.equal(torch.code, core.code);
      assert.deepEqual(Object.keys(torch.report), Object.keys(core.report));
      assert.equal(torch.report.training?.steps, core.report.training?.steps);
      assert.equal(torch.report.training?.stopped, core.report.training?.stopped);
    });
  }

  it('--processes 2 trains with DistributedDataParallel and finds the deep sigmoid net\'s vanishing gradient', async () => {
    const f = path.join(EXAMPLES, 'deep-sigmoid-spiral.nn.yaml');
    const core = await cliJson('diagnose', f, ['--steps', '200']);
    const ddp = await cliJson('diagnose', f, ['--steps', '200', '--engine', 'torch', '--processes', '2', '--threads', '1']);
    assert.ok(key(core.report).some(k => k.startsWith('vanishing-gradient:')));
    assert.deepEqual(key(ddp.report), key(core.report));
  });

  it('Ctrl-C on `compare --engine torch` as a trial\'s runner starts leaves no job folder in the temporary folder', async function () {
    // Ctrl-C reaches the CLI and its runner (one process group); a runner still importing torch dies without
    // cleaning up, so the CLI removes the folders of the runners it started as it exits.
    if (process.platform === 'win32') this.skip();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'al-ctrl-c-'));
    try {
      const cli = spawn(process.execPath, [path.join(__dirname, '../../../dist/cli.js'), 'compare', path.join(__dirname, '../../workspace/spiral.nn.yaml'),
        '--layer', '1', '--engine', 'torch', '--steps', '20000'], { env: { ...process.env, TMPDIR: tmp }, detached: true, stdio: 'ignore' });
      let gone = false;
      const exited = new Promise(r => cli.on('exit', () => { gone = true; r(undefined); }));
      while (!gone && fs.readdirSync(tmp).length === 0) await new Promise(r => setTimeout(r, 20));
      assert.ok(!gone, 'the CLI exited before starting a trial');
      process.kill(-cli.pid!, 'SIGINT');
      await exited;
      // Every process of the group gone (the runner too), then nothing of theirs may be left.
      const alive = () => { try { process.kill(-cli.pid!, 0); return true; } catch { return false; } };
      while (alive()) await new Promise(r => setTimeout(r, 50));
      assert.deepEqual(fs.readdirSync(tmp), []);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('--verify trains each suggestion on the run\'s engine: the same verdicts as the core\'s, from torch runs', async () => {
    const f = path.join(EXAMPLES, 'deep-sigmoid-spiral.nn.yaml');
    const core = await cliJson('diagnose', f, ['--steps', '200', '--verify']);
    // The interpreter through a wrapper that logs each start: one runner for the run, one per verification.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-verify-'));
    const log = path.join(dir, 'starts'), wrapper = path.join(dir, 'python');
    fs.writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> '${log}'\nexec '${python}' "$@"\n`, { mode: 0o755 });
    process.env.ACTIVATION_LENS_PYTHON = wrapper;
    let torch;
    try {
      torch = await cliJson('diagnose', f, ['--steps', '200', '--verify', '--engine', 'torch', '--threads', '1']);
    } finally { process.env.ACTIVATION_LENS_PYTHON = python; }
    const cv = core.report.verifications!, tv = torch.report.verifications!;
    assert.ok(cv.length >= 1);
    const verdict = (v: typeof cv[number]) => `${v.suggestion.finding?.kind}:${v.suggestion.activation ?? ''}:${v.suggestion.init ?? ''}:${v.findingGone}:${v.improved}:${v.after.findings.join(',')}`;
    assert.deepEqual(tv.map(verdict), cv.map(verdict));
    for (const [i, v] of tv.entries()) {
      const [a, b] = [v.after.valLoss!, cv[i].after.valLoss!];
      assert.ok(Math.abs(a - b) <= 1e-3 * Math.abs(b), `verification ${i}: torch val loss ${a} vs core ${b}`);
    }
    const runners = fs.readFileSync(log, 'utf8').split('\n').filter(l => l.includes('activation_lens_runner.py'));
    assert.equal(runners.length, 1 + tv.length, 'one torch run, then one per verification');
  });
});

describe('torch engine selection', function () {
  this.timeout(60_000);
  it('names every interpreter tried and how to install torch when none imports it', function () {
    this.timeout(60_000);
    const tried = [{ command: '/nonexistent/python3', source: 'setting activationLens.pythonPath' }, { command: '/bin/false', source: 'PATH' }];
    assert.ok('attempts' in findTorchPython(tried));
    assert.throws(() => requireTorchPython(tried), (e: Error) => e instanceof TorchUnavailable
      && e.message.includes('/nonexistent/python3 (setting activationLens.pythonPath): not found')
      && e.message.includes('/bin/false (PATH): exit code 1')
      && /apt install python3-torch/.test(e.message) && /pip install torch/.test(e.message));
  });

  it('auto picks the core for a small step without looking for Python, and core unless asked', () => {
    const r = parseConfigText(fs.readFileSync(path.join(EXAMPLES, 'tanh-glorot.nn.yaml'), 'utf8'), 'tanh.nn.yaml');
    const cfg = r.config!;
    assert.ok(stepWork(cfg) < AUTO_MIN_WORK);
    const nowhere = [{ command: '/nonexistent/python3', source: 'test' }];
    assert.equal(chooseEngine(cfg, { flag: 'auto' }, nowhere).engine, 'core');
    assert.equal(chooseEngine(cfg, {}, nowhere).engine, 'core');
    assert.throws(() => chooseEngine(cfg, { flag: 'torch' }, nowhere), TorchUnavailable);
    // A 784-512-512-10 net at batch 256 is over the threshold: auto would take torch, and falls back to core without it.
    const big = parseConfigText('data: {source: teacher, samples: 100, shape: [784], classes: 10}\nmodel:\n  layers:\n    - {type: dense, units: 512, activation: relu}\n    - {type: dense, units: 512, activation: relu}\n    - {type: dense, units: 10, activation: softmax}\ntrain: {batch: 256, steps: 10}\n', 'big.nn.yaml').config!;
    assert.ok(stepWork(big) >= AUTO_MIN_WORK);
    const c = chooseEngine(big, { flag: 'auto' }, nowhere);
    assert.equal(c.engine, 'core');
    assert.match(c.why, /no interpreter with torch/);
  });
});
