/**
 * `diagnose --engine torch --json` on every bundled example: a report of the same schema whose findings (kind,
 * severity, layer) are the core's; `--processes 2` (DistributedDataParallel) too; and the one message naming
 * every interpreter tried when none has torch. Short runs (--steps) keep the suite quick.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
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

  const examples = fs.readdirSync(EXAMPLES).filter(f => f.endsWith('.nn.yaml')).sort();
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
