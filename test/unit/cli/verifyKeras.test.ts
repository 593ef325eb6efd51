/**
 * Verification over the Keras corpus (issue 12): `diagnose --verify` on every dense model of
 * test/fixtures/keras/ (copied from the shared corpus, see its MANIFEST) that the core trains in about a second.
 * The CNNs (01, 05, 06, 10, 13) and the 1-4 M parameter MLPs (07, 08, 09, 11) take minutes on two loaded cores;
 * 04 has a custom layer. For each model the top suggestion (the most severe finding's first) either helps, by the
 * report's own before/after numbers, or the report says it does not; the expected outcome of the models with a
 * finding comes from what the literature or the data says, not from our output.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { cliJson } from './helpers';
import type { Report } from '../../../src/report/json';

const KERAS = path.join(__dirname, '../../fixtures/keras');
const STEPS = '200';

type V = NonNullable<Report['verifications']>[number];

/** The verdict recomputed from the report's numbers: val loss down by more than 2% (the near-tie margin), or the
 *  finding gone from the after-run's list without the val loss rising by more than 2%. */
function checkVerdict(v: V): void {
  const b = v.before.valLoss ?? Infinity, a = v.after.stopped === 'non-finite' ? Infinity : v.after.valLoss ?? Infinity;
  const lower = a < b && (b === Infinity || b - a > 0.02 * Math.abs(b));
  const worse = a > b && (a === Infinity || a - b > 0.02 * Math.abs(b));
  const f = v.suggestion.finding!;
  const gone = !v.after.findings.some(s => {
    const m = /^(\w+) ([\w-]+)@(-?\d+)$/.exec(s)!;
    return m[2] === f.kind && (f.layer < 0 || Number(m[3]) === f.layer) && (f.severity === 'info' || m[1] !== 'info');
  });
  assert.equal(v.valLossImproved, lower, `valLossImproved from ${b} -> ${a}`);
  assert.equal(v.findingGone, gone, `findingGone from ${JSON.stringify(v.after.findings)}`);
  assert.equal(v.improved, a !== Infinity && (lower || (gone && !worse)), v.message);
  assert.match(v.message, v.improved ? / helps: val loss / : / does not help here: /);
}

async function verifyTop(file: string): Promise<{ report: Report; top?: V }> {
  const { report } = await cliJson('diagnose', path.join(KERAS, file), ['--verify', '--steps', STEPS, '--fail-on', 'never']);
  const severe = report.findings.filter(f => f.severity !== 'info');
  const top = (severe.length ? severe : report.findings).find(f => f.suggestions.some(s => s.activation || s.init || s.lr !== undefined || s.clip !== undefined));
  if (!top) { assert.deepEqual(report.verifications, [], `${file}: nothing to verify`); return { report }; }
  const v = report.verifications![0];
  assert.deepEqual([v.suggestion.finding?.kind, v.suggestion.finding?.layer], [top.kind, top.layer], `${file}: the top finding is verified first`);
  assert.equal(v.after.steps, v.before.steps, 'the same length of run, from the same seed');
  assert.equal(v.before.valLoss, report.training!.final.valLoss === null ? null : Number(report.training!.final.valLoss.toPrecision(5)), 'before is the diagnosed run');
  for (const x of report.verifications!) checkVerdict(x);
  return { report, top: v };
}

describe('diagnose --verify on the Keras corpus', function () {
  this.timeout(300000);

  it('12 (SELU MLP): the only finding is the init; its fix keeps selu, sets lecun_normal, and helps', async () => {
    const { report, top } = await verifyTop('12-keras3-sequential-mlp-selu.json');
    assert.deepEqual(report.findings.map(f => f.kind), ['init-mismatch']);
    // SELU's self-normalisation holds for weights of variance 1/fan_in (Klambauer et al. 2017): lecun_normal.
    assert.equal(top!.suggestion.init, 'lecun_normal');
    assert.ok(top!.suggestion.activation === undefined || top!.suggestion.activation === 'selu', `keeps selu: ${JSON.stringify(top!.suggestion)}`);
    assert.equal(top!.improved, true, top!.message);
    for (const s of report.suggestions.filter(x => x.current === 'selu'))
      assert.deepEqual([s.ranked[0].activation, s.ranked[0].init], ['selu', 'lecun_normal'], `layer ${s.layer}`);
  });

  it('17 (sigmoid output on targets below 0): linear output, and it helps', async () => {
    const { top } = await verifyTop('17-tfjs-layersjs-sequential-list-mlp.json');
    // sigmoid's range is (0, 1): the negative targets are out of its reach whatever the weights.
    assert.equal(top!.suggestion.finding!.kind, 'output-mismatch');
    assert.equal(top!.suggestion.activation, 'linear');
    assert.equal(top!.improved, true, top!.message);
  });

  it('02 (relu MLP, adam 1e-3): no 10x rate cut for a healthy share of dead units; the verdict follows the numbers', async () => {
    const { report, top } = await verifyTop('02-keras2-sequential-mlp-creditcard.json');
    // Calibration: healthy relu nets at adam 1e-3 / 5e-3 keep up to 0.31 of their units dead.
    for (const f of report.findings.filter(x => x.kind === 'dead-units' && x.severity === 'info')) assert.equal(f.suggestions.find(s => s.lr !== undefined), undefined);
    if (top) assert.equal(top.suggestion.lr, undefined, top.message);
  });

  for (const file of ['03-keras2-sequential-mlp-leakyrelu.json', '14-tfjs-keras3-functional-mlp.json', '15-tfjs-keras2-sequential-mlp-tanh.json', '16-tfjs-noformat-sequential-mlp.json']) {
    it(`${file.slice(0, 2)}: the top suggestion helps, or the report says it does not`, async () => { await verifyTop(file); });
  }
});
