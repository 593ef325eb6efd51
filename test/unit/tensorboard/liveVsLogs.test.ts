/**
 * The same vanishing-gradient net diagnosed twice: live in the core, and from event logs of that run written
 * by the project's writer (tags of the PyTorch helper). Same findings on the same layers.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveInit } from '../../../src/core/initializers';
import { Trainer } from '../../../src/core/train';
import { diagnosisLayers, runFindings } from '../../../src/diagnosis/rules';
import { diagnoseTbRun } from '../../../src/tensorboard/diagnose';
import { logProbe } from '../../../src/tensorboard/fromCore';
import { readLogdir } from '../../../src/tensorboard/logdir';
import { EventFileWriter } from '../../../src/tensorboard/writer';
import { makeConfig, randomData } from '../core/helpers';

describe('tensorboard: live vs from logs', function () {
  this.timeout(20000);

  it('a deep sigmoid net with U[-1/sqrt(n), 1/sqrt(n)] init: the same vanishing-gradient findings on the same layers', () => {
    // Glorot & Bengio's setting, scaled down: 5 sigmoid layers, uniform +-1/sqrt(fan_in), plain SGD.
    const init = resolveInit('variance_scaling', { scale: 1 / 3, mode: 'fan_in', distribution: 'uniform' })!;
    const hidden = [0, 1, 2, 3, 4].map(i => ({ type: 'dense' as const, name: `h${i}`, units: 32, activation: 'sigmoid', init }));
    const config = makeConfig([8], [...hidden, { type: 'dense', name: 'out', units: 3, activation: 'softmax' }],
      { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.1, batch: 10, steps: 60 });
    const data = randomData([8], 3, 256, 11, 3);
    config.probe = { every: 10, samples: data.val.n };

    const logdir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-live-vs-logs-'));
    const writer = new EventFileWriter(path.join(logdir, 'run1'));
    let trainer: Trainer | null = null;
    trainer = new Trainer(config, data, { onProbe: p => logProbe(writer, trainer!, p), kernels: 'js' });
    const result = trainer.run();
    writer.close();

    const live = runFindings({ layers: diagnosisLayers(config), timeline: result.timeline, loss: 'cross_entropy' });
    const [run] = readLogdir(logdir);
    const logged = diagnoseTbRun(run);
    const key = (f: { kind: string; severity: string; layerName: string }) => `${f.kind}/${f.severity}/${f.layerName}`;
    assert.ok(live.some(f => f.kind === 'vanishing-gradient'), 'the live run shows the vanishing gradient');
    assert.deepEqual(logged.map(key), live.map(key));
    const lv = live.find(f => f.kind === 'vanishing-gradient')!, lg = logged.find(f => f.kind === 'vanishing-gradient')!;
    assert.equal(lg.step, lv.step);
    assert.ok(Math.abs((lg.evidence.ratio as number) / (lv.evidence.ratio as number) - 1) < 1e-3, `ratio ${lg.evidence.ratio} vs ${lv.evidence.ratio}`);
    assert.equal(lg.evidence.run, 'run1');
    assert.equal(lg.evidence.tag, `${lg.layerName}/grad_preact`);
  });
});
