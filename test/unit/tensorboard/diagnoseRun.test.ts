/** The diagnose-run command: exit codes, JSON report shape, one-line errors, findings naming run/tag/step. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import { diagnoseRun } from '../../../src/cli/diagnoseRun';
import { LAYERS_TAG } from '../../../src/tensorboard/run';
import { EventFileWriter } from '../../../src/tensorboard/writer';

const FIXTURES = path.join(__dirname, '../../fixtures/tfevents');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await diagnoseRun(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** A run whose relu layer is almost entirely dead from step 0 (z ~ -3 +- 0.5): a dead-units error. */
function deadRun(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-dr-'));
  const w = new EventFileWriter(path.join(dir, 'exp1'));
  w.text(LAYERS_TAG, JSON.stringify([{ name: 'fc1', activation: 'relu' }, { name: 'fc2', activation: 'relu' }, { name: 'out', activation: 'linear' }]), 0);
  for (let step = 0; step <= 100; step += 10) {
    const z = new Float64Array(400).map((_, i) => (i / 400 - 0.5) * 2);
    for (const [layer, shift] of [['fc1', -3], ['fc2', 0.3], ['out', 0]] as const) {
      const zz = z.map(x => x + shift);
      w.histogram(`${layer}/preact`, zz, step);
      w.histogram(`${layer}/activation`, layer === 'out' ? zz : zz.map(x => (x > 0 ? x : 0)), step);
      w.histogram(`${layer}/grad_preact`, zz.map(x => 0.01 * Math.cos(x)), step);
    }
    w.scalar('loss', 2 - step / 100, step);
  }
  w.close();
  return dir;
}

describe('diagnose-run', () => {
  it('a dead relu layer: exit 1 with --fail-on error, a finding naming run, tag and step', async () => {
    const dir = deadRun();
    const r = await run([dir]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /TensorBoard run "exp1"/);
    assert.match(r.out, /error\s+dead-units\s+fc1 \(step \d+, tag fc1\/preact\)/);
    assert.equal((await run([dir, '--fail-on', 'never'])).code, 0);
  });

  it('--json: the §6.1 report shape with the run as source', async () => {
    const r = await run([deadRun(), '--json']);
    const rep = JSON.parse(r.out);
    assert.equal(rep.schema, 'activation-lens/report@1');
    assert.equal(rep.source.kind, 'tensorboard');
    assert.equal(rep.source.run, 'exp1');
    assert.deepEqual(rep.model.layers.map((l: { name: string; activation: string }) => `${l.name}:${l.activation}`), ['fc1:relu', 'fc2:relu', 'out:linear']);
    assert.equal(rep.timeline.length, 11);
    assert.equal(rep.timeline[0].layers.length, 3);
    const dead = rep.findings.find((f: { kind: string }) => f.kind === 'dead-units');
    assert.equal(dead.severity, 'error');
    assert.equal(dead.layerName, 'fc1');
    assert.equal(dead.evidence.run, 'exp1');
    assert.equal(dead.evidence.tag, 'fc1/preact');
    assert.ok(dead.evidence.deadFraction >= 0.99);
    assert.equal(rep.training.steps, 100);
  });

  it('exit 2 with one file:line:col line for a missing directory, a scalars-only log, bad options', async () => {
    const missing = await run(['/no/such/logdir']);
    assert.equal(missing.code, 2);
    assert.equal(missing.err, '/no/such/logdir:1:1: log directory not found: /no/such/logdir\n');
    const scalars = await run([path.join(FIXTURES, '08-keras-tf1-creditcard-scalars-only.tfevents')]);
    assert.equal(scalars.code, 2);
    assert.match(scalars.err, /no layers: the log holds no histograms \(tags: loss, acc\)/);
    assert.equal((await run(['x', '--fail-on', 'sometimes'])).code, 2);
    assert.equal((await run(['x', '--tag', 'nonsense'])).code, 2);
    const badTag = await run([FIXTURES, '--tag', 'speed=x/{layer}']);
    assert.equal(badTag.code, 2);
    assert.match(badTag.err, /unknown tag quantity "speed"/);
  });

  it('a truncated file is read up to its last record and reported as a warning', async () => {
    const r = await run([path.join(FIXTURES, '10-tf1-truncated-graph-only.tfevents')]);
    assert.equal(r.code, 2, 'no histograms at all');
    assert.match(r.err, /warning: truncated record at byte 49174/);
  });

  it('TF1 relu outputs with --activation: the dead fraction of the 04 corpus file', async () => {
    const r = await run([path.join(FIXTURES, '04-tf1-morvan-layers-outputs.tfevents'), '--activation', 'layer1=relu', '--json']);
    const rep = JSON.parse(r.out);
    assert.equal(rep.timeline[0].layers[0].deadFraction, 1149 / 3000);
    assert.equal(rep.model.layers[0].tags.activation, 'layer1/layer1/outputs');
  });
});

describe('diagnose-run through the CLI command table', () => {
  it('is registered in src/cli/main.ts and passes comma-separated activations on', async () => {
    let out = '', err = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } };
    const code = await main(['diagnose-run', path.join(FIXTURES, '04-tf1-morvan-layers-outputs.tfevents'), '--activation', 'layer1=relu,layer2=linear', '--json'], io);
    assert.equal(code, 0, err);
    const rep = JSON.parse(out);
    assert.deepEqual(rep.model.layers.map((l: { activation: string }) => l.activation), ['relu', 'linear']);
  });
});

describe('diagnose-run with a config (data.source: tensorboard)', () => {
  it('reads logdir and tags from the config and the activations from its layers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-drc-'));
    const w = new EventFileWriter(path.join(dir, 'logs'));
    for (let step = 0; step <= 50; step += 10) {
      for (const [layer, shift] of [['fc1', -3], ['out', 0]] as const) {
        const z = new Float64Array(200).map((_, i) => (i / 200 - 0.5) * 2 + shift);
        w.histogram(`net/${layer}/z_values`, z, step);
        w.histogram(`${layer}/grad_preact`, z.map(x => 0.01 * Math.cos(x)), step);
      }
    }
    w.close();
    fs.writeFileSync(path.join(dir, 'run.nn.yaml'), [
      'data:', '  source: tensorboard', '  logdir: logs', '  tags:', '    preact: "net/{layer}/z_values"',
      'model:', '  input: 4', '  layers:',
      '    - {type: dense, name: fc1, units: 8, activation: relu}',
      '    - {type: dense, name: out, units: 2, activation: linear}', '',
    ].join('\n'));
    const r = await run([path.join(dir, 'run.nn.yaml'), '--json']);
    assert.equal(r.code, 1, r.err);
    const rep = JSON.parse(r.out);
    assert.deepEqual(rep.model.layers.map((l: { name: string; activation: string }) => `${l.name}:${l.activation}`), ['fc1:relu', 'out:linear']);
    const dead = rep.findings.find((f: { kind: string }) => f.kind === 'dead-units');
    assert.equal(dead.evidence.tag, 'net/fc1/z_values');
    assert.equal(rep.timeline[0].layers[0].deadFraction, 1);
  });

  it('a config that trains on synthetic data is refused with exit 2', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-drc-'));
    fs.writeFileSync(path.join(dir, 'x.nn.yaml'), 'data: {source: xor}\nmodel:\n  layers:\n    - {type: dense, units: 1, activation: sigmoid}\n');
    const r = await run([path.join(dir, 'x.nn.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /x\.nn\.yaml:1:1: diagnose-run needs a log directory or a config with data.source: tensorboard/);
  });
});

describe('diagnose-run: a diverged run', () => {
  it('a NaN loss is a non-finite error at its step, naming the loss tag', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-nan-'));
    const w = new EventFileWriter(dir);
    for (let step = 0; step <= 50; step += 10) {
      const z = new Float64Array(100).map((_, i) => i / 50 - 1);
      w.histogram('fc1/preact', z, step);
      w.histogram('fc1/grad_preact', z.map(x => x * 1e-2), step);
      w.histogram('out/grad_preact', z.map(x => x * 1e-2), step);
      w.scalar('train/loss', step >= 30 ? NaN : 1, step);
    }
    w.close();
    const r = await run([dir, '--json']);
    assert.equal(r.code, 1);
    const f = JSON.parse(r.out).findings.find((x: { kind: string }) => x.kind === 'non-finite');
    assert.equal(f.severity, 'error');
    assert.equal(f.step, 30);
    assert.equal(f.evidence.where, 'loss');
    assert.equal(f.evidence.tag, 'train/loss');
  });
});
