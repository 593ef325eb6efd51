import * as assert from 'node:assert/strict';
import path from 'node:path';
import { assertValidReport, runCli } from './helpers';

describe('diagnose-run --json follows the published report schema', () => {
  it('a report from real TensorBoard logs validates, with what logs cannot know as null', async () => {
    const r = await runCli(['diagnose-run', path.join(__dirname, '../../fixtures/tfevents'), '--json', '--fail-on', 'never']);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as { seed: unknown; source: { kind: string }; training: { final: { valAccuracy?: number } } };
    assertValidReport(report);
    assert.equal(report.source.kind, 'tensorboard');
    assert.equal(report.seed, null);
    // One corpus file logs accuracy in percent (98.11): the report holds the fraction.
    const acc = report.training.final.valAccuracy;
    assert.ok(acc === undefined || (acc >= 0 && acc <= 1), `valAccuracy ${acc}`);
  });
});
