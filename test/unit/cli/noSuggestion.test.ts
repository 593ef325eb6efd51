/**
 * A finding that carries no suggestion: a vanishing gradient through hidden layers that all have the init their
 * activation calls for (nothing init-wise to offer), an exploding gradient with no rate known and no finite norm to
 * clip at. The finding says what to do in its message, and the CLI text and the HTML report show the message with no
 * empty list of fixes (the quick fixes and the panel's Apply buttons are made per suggestion, so there are none).
 */
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import type { LayerStats } from '../../../src/core/types';
import { diagnosisLayers } from '../../../src/diagnosis/rules';
import { runRules } from '../../../src/diagnosis/runRules';
import { buildReport } from '../../../src/report/json';
import { renderHtmlReport } from '../../../src/report/html';
import { findingsText } from '../../../src/cli/output';

const stats = (o: Partial<LayerStats>): LayerStats => ({
  deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
  preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
});

// Every hidden layer on its activation's init, each written another way: He (Var 2/fan_in) for relu and gelu, LeCun
// (Var 1/fan_in) for selu.
const yaml = `data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }\nmodel:\n  layers:
    - { type: dense, units: 16, activation: relu, init: he_uniform }
    - { type: dense, units: 16, activation: gelu, init: kaiming_normal }
    - { type: dense, units: 16, activation: selu, init: lecun_uniform }
    - { type: dense, units: 3, activation: softmax }`;

describe('a finding with no suggestion says what to do, and every text surface shows it without an empty fix list', () => {
  const config = parseConfigText(yaml, 'deep.nn.yaml').config!;
  const layers = diagnosisLayers(config);
  const run = (hidden: Partial<LayerStats>, gradNorm: number) => runRules({ layers,
    timeline: Array.from({ length: 10 }, (_, k) => ({ step: 10 * k, trainLoss: 1 - 0.08 * k, valLoss: 1 - 0.08 * k, gradNorm,
      layers: [0, 1, 2, 3].map(i => stats(i < 3 ? hidden : {})) })) });

  it('vanishing gradient, every hidden layer on its init: no suggestion; the message says so and what to try', () => {
    const [f] = run({ gradRms: 1e-3 }, 1).filter(x => x.kind === 'vanishing-gradient');
    assert.deepEqual(f.suggestions, []);
    assert.match(f.message, /no init change is offered \(every hidden relu-like or selu layer already has the variance its activation's init calls for\): try fewer layers, a batchnorm layer after each hidden layer, or other activations \(Compare Activations\)$/);
  });

  it('vanishing gradient through linear hidden layers: no init is offered, and the message says none is relu-like or selu', () => {
    const lin = parseConfigText(yaml.replace(/activation: (relu|gelu|selu), init: \w+/g, 'activation: linear'), 'lin.nn.yaml').config!;
    const [f] = runRules({ layers: diagnosisLayers(lin),
      timeline: Array.from({ length: 10 }, (_, k) => ({ step: 10 * k, trainLoss: 1, valLoss: 1, gradNorm: 1, layers: [0, 1, 2, 3].map(i => stats(i < 3 ? { gradRms: 1e-3 } : {})) })) })
      .filter(x => x.kind === 'vanishing-gradient');
    assert.deepEqual(f.suggestions, []);
    assert.match(f.message, /no init change is offered \(none of the hidden layers is relu-like or selu\): try fewer layers/);
  });

  it('exploding gradient with no rate known and no finite norm: no suggestion; the message says to lower the rate or clip', () => {
    const [f] = run({ gradRms: 1e3 }, NaN).filter(x => x.kind === 'exploding-gradient');
    assert.deepEqual(f.suggestions, []);
    assert.match(f.message, /; lower the learning rate or clip the gradient norm \(train\.clip\)$/);
  });

  it('with a suggestion (inits unknown, a rate known), neither message adds those words', () => {
    const other = runRules({ layers: layers.map(l => ({ ...l, init: undefined })), lr: 0.1,
      timeline: Array.from({ length: 10 }, (_, k) => ({ step: 10 * k, trainLoss: 1, valLoss: 1, gradNorm: 1, layers: [0, 1, 2, 3].map(i => stats({ gradRms: i === 0 ? 1e-3 : i === 1 ? 1e3 : 1 })) })) });
    for (const f of other.filter(x => x.kind.endsWith('-gradient'))) {
      assert.ok(f.suggestions.length, f.kind);
      assert.doesNotMatch(f.message, /no init change is offered|lower the learning rate or clip/, f.kind);
    }
    assert.deepEqual(other.filter(x => x.kind.endsWith('-gradient')).map(f => f.kind).sort(), ['exploding-gradient', 'vanishing-gradient']);
  });

  it('CLI text and HTML report: the message, no "fix:" line, no empty list of fixes', () => {
    const findings = [...run({ gradRms: 1e-3 }, 1), ...run({ gradRms: 1e3 }, NaN)].filter(x => x.kind.endsWith('-gradient'));
    assert.deepEqual(findings.map(f => [f.kind, f.suggestions.length]), [['vanishing-gradient', 0], ['exploding-gradient', 0]]);
    const report = buildReport({ configPath: 'deep.nn.yaml', config, findings, suggestions: [] });
    const text = findingsText(report);
    for (const f of findings) assert.ok(text.includes(`    ${f.message}`), f.kind);
    assert.doesNotMatch(text, /fix:/);
    const html = renderHtmlReport(report, { script: null });
    assert.equal((html.match(/<li class="(error|warning|info)" data-kind="[a-z-]+-gradient">/g) ?? []).length, 2);
    assert.doesNotMatch(html, /<ul class="fixes">/);
  });
});
