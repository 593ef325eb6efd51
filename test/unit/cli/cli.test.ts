/** The CLI contract of SPEC §6: commands, options, exit codes, stderr lines, the JSON and HTML reports. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { COMMANDS } from '../../../src/cli/main';
import { cliJson, dense, runCli, writeConfig, writeText } from './helpers';

const healthy = path.join(__dirname, '../../fixtures/scenarios/healthy-relu-spiral.nn.yaml');
const small = (over: object = {}) => ({
  seed: 2, data: { source: 'moons', samples: 300 },
  model: { layers: [dense(8, 'tanh'), dense(1, 'sigmoid')] },
  train: { loss: 'binary_cross_entropy', optimizer: 'adam', lr: 0.01, batch: 32, steps: 40 }, ...over,
});

describe('CLI', function () {
  this.timeout(30000);

  it('registers diagnose, lint and compare in one table (others add theirs there)', () => {
    for (const c of ['diagnose', 'lint', 'compare']) assert.ok(COMMANDS[c]?.usage.startsWith(`activation-lens ${c} <config>`));
  });

  it('diagnose prints a per-layer table and the findings, and exits 0 on a healthy net', async () => {
    const r = await runCli(['diagnose', healthy, '--steps', '100']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /100 steps \(completed\)/);
    assert.match(r.out, /#\s+layer\s+type\s+activation\s+units\s+output\s+params\s+dead\s+saturated\s+gradRms\s+ratio/);
    assert.match(r.out, /dense_1\s+dense\s+relu\s+64\s+\[64\]\s+192/);
    assert.match(r.out, /No findings\.|Findings \(0 error, 0 warning/);
    assert.equal(r.err, '', 'no progress output when stderr is not a terminal');
  });

  it('--json is the §6.1 report: schema-valid, config path as given, seed, model, training, timeline, timing', async () => {
    const { report } = await cliJson('diagnose', healthy, ['--steps', '50', '--seed', '5']);
    assert.equal(report.schema, 'activation-lens/report@1');
    assert.equal(report.config, healthy);
    assert.equal(report.seed, 5);
    assert.equal(report.model.params, 2 * 64 + 64 + 64 * 64 + 64 + 64 * 3 + 3);
    assert.deepEqual(report.model.layers.map(l => [l.index, l.type, l.units, l.activation, l.init]),
      [[0, 'dense', 64, 'relu', 'he_normal'], [1, 'dense', 64, 'relu', 'he_normal'], [2, 'dense', 3, 'softmax', 'glorot_uniform']]);
    assert.deepEqual(report.model.layers[0].source, { line: 6, column: 7 });
    assert.equal(report.training!.steps, 50);
    assert.equal(report.timeline![0].layers.length, 3);
    assert.ok(report.timing.wallMs > 0 && report.timing.stepsPerSecond > 0);
  });

  it('the same file and seed give identical numbers; another seed gives others', async () => {
    const a = (await cliJson('diagnose', healthy, ['--steps', '30'])).report;
    const b = (await cliJson('diagnose', healthy, ['--steps', '30'])).report;
    const c = (await cliJson('diagnose', healthy, ['--steps', '30', '--seed', '99'])).report;
    assert.deepEqual(a.timeline, b.timeline);
    assert.notDeepEqual(a.timeline![3].trainLoss, c.timeline![3].trainLoss);
  });

  it('--epochs sets the steps from the training split; --steps and --epochs together are refused', async () => {
    const { report } = await cliJson('diagnose', writeConfig('epochs', small()), ['--epochs', '2']);
    // 300 samples, 20% validation: 240 training samples, batch 32 -> 8 steps per epoch.
    assert.equal(report.training!.steps, 16);
    const r = await runCli(['diagnose', healthy, '--steps', '3', '--epochs', '1']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--steps or --epochs, not both/);
  });

  it('exit codes: 1 for findings at or above --fail-on, 0 below it', async () => {
    const sig = writeConfig('sigmoid-ce', small({ data: { source: 'spiral', classes: 3, samples: 300 }, model: { layers: [dense(8, 'tanh'), dense(3, 'sigmoid')] }, train: { loss: 'cross_entropy', steps: 10 } }));
    assert.equal((await runCli(['lint', sig])).code, 1);
    assert.equal((await runCli(['lint', sig, '--fail-on', 'never'])).code, 0);
    const lin = writeConfig('linear-pair', small({ model: { layers: [dense(8, 'linear'), dense(8, 'linear'), dense(1, 'sigmoid')] } }));
    assert.equal((await runCli(['lint', lin])).code, 0, 'a warning is below the default --fail-on error');
    assert.equal((await runCli(['lint', lin, '--fail-on', 'warning'])).code, 1);
    assert.equal((await runCli(['lint', lin, '--fail-on', 'sometimes'])).code, 2);
  });

  it('exit code 2 with one `file:line:col: message` line for input that cannot be used', async () => {
    const missing = await runCli(['diagnose', '/nonexistent/x.nn.yaml']);
    assert.equal(missing.code, 2);
    assert.equal(missing.err, '/nonexistent/x.nn.yaml:1:1: no such file\n');
    const bad = writeText('bad.nn.yaml', 'data: { source: spiral }\nmodel:\n  layers:\n    - { type: dense, units: 3, activation: softmaxx }\n');
    const r = await runCli(['lint', bad]);
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+: .*softmax`));
    assert.equal(r.err.trim().split('\n').length, 1);
    const garbage = writeText('garbage.nn.json', '\u0000\u0001 not json {{{');
    assert.equal((await runCli(['diagnose', garbage])).code, 2);
    assert.equal((await runCli(['diagnose', healthy, '--bogus'])).code, 2);
    assert.equal((await runCli(['frobnicate'])).code, 2);
    assert.equal((await runCli([])).code, 2);
  });

  it('diagnostics: thresholds from the config apply; an unknown key is a warning with "did you mean"', async () => {
    const dead = small({ model: { layers: [...Array.from({ length: 20 }, () => dense(2, 'relu', 'he_normal')), dense(1, 'sigmoid')] }, train: { loss: 'binary_cross_entropy', steps: 10 } });
    const strict = await cliJson('diagnose', writeConfig('thr', { ...dead, diagnostics: { dead_warnin: 0.2 } }));
    assert.match(strict.err, /thr\.nn\.json:\d+:\d+: unknown threshold "dead_warnin", it is ignored \(did you mean "dead_warning"\?\) \(warning\)/);
    const base = strict.report.findings.filter(f => f.kind === 'dead-units').map(f => f.severity);
    const lax = await cliJson('diagnose', writeConfig('thr2', { ...dead, diagnostics: { dead_error: 1.01, dead_warning: 1.01, dead_info: 1.01 } }));
    assert.ok(base.includes('error'));
    const left = lax.report.findings.filter(f => f.kind === 'dead-units');
    assert.ok(strict.report.findings.filter(f => f.kind === 'dead-units').length > left.length);
    assert.deepEqual(left.map(f => f.severity), ['error'], 'a layer with every unit dead is an error whatever the thresholds');
    assert.match(left[0].message, /dead from layer/);
  });

  it('lint --json: the same report shape without training, timeline or trials', async () => {
    const { report, code } = await cliJson('lint', healthy);
    assert.equal(code, 0);
    assert.equal(report.training, undefined);
    assert.equal(report.timeline, undefined);
    assert.ok(report.suggestions.length === 3 && report.suggestions.every(s => s.ranked.every(r => r.trial === undefined)));
  });

  it('lint accepts a Keras model JSON given directly', async () => {
    const keras = path.join(__dirname, '../../../examples/keras-moons-model.json');
    const { report } = await cliJson('lint', keras);
    assert.ok(report.model.layers.length >= 2);
    assert.ok(report.findings.some(f => f.kind === 'activation-choice'), 'its 4 sigmoid hidden layers');
  });

  it('lint of a Keras model with an unsupported layer: lints what was understood, then exits 2 with the reason', async function () {
    const file = path.join(__dirname, '../../fixtures/keras/04-keras2-nested-sequential-custom-layer.json');
    const r = await runCli(['lint', file, '--json']);
    assert.equal(r.code, 2);
    assert.match(r.err, /:\d+:\d+: unsupported layer ClusteringLayer/);
    assert.ok(JSON.parse(r.out).model.layers.length > 0, 'the understood part is reported');
  });

  it('compare --layer <name> ranks the candidates by validation loss and keeps each loss curve', async () => {
    const file = writeConfig('cmp', small());
    const r = await runCli(['compare', file, '--layer', 'dense_1', '--candidates', 'relu,tanh', '--steps', '20']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /2 candidates for dense_1/);
    assert.match(r.out, /rank\s+activation\s+init\s+lr\s+val loss/);
    assert.match(r.out, /Ranking: ranked by validation loss .* near-tie/);
    assert.match(r.out, /Fair trials: a candidate that diverges .* is retried at lr\/3 and lr\/10/);
    const { report } = await cliJson('compare', file, ['--layer', '0', '--candidates', 'relu,tanh', '--steps', '20']);
    assert.equal(report.suggestions.length, 1);
    assert.equal(report.suggestions[0].layer, 0);
    assert.deepEqual(report.suggestions[0].ranked.map(x => x.trial!.lossCurve.length), [20, 20]);
    assert.equal((await runCli(['compare', file, '--layer', 'nope'])).code, 2);
    assert.equal((await runCli(['compare', file, '--layer', '1'])).code, 2, 'the output layer follows the loss, not a trial');
    assert.equal((await runCli(['compare', file, '--layer', '0', '--candidates', 'reluu'])).code, 2);
  });

  it('--html writes one self-contained page with the report data inlined', async () => {
    const out = writeText('report.html', '');
    const r = await runCli(['diagnose', healthy, '--steps', '20', '--html', out]);
    assert.equal(r.code, 0);
    assert.match(r.err, /wrote .*report\.html/);
    const html = fs.readFileSync(out, 'utf8');
    assert.match(html, /<script type="application\/json" id="report-data">/);
    assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i, 'nothing loaded from elsewhere');
  });
});
