/** The run-cost estimate behind runOnSave "auto": FLOPs from the config, hand-computed. */
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import { ASSUMED_FLOPS_PER_SECOND, estimateRunFlops, estimateRunSeconds, forwardMacs } from '../../../src/config/cost';

const config = (layers: string, train = 'batch: 8, steps: 10', probe = '{ every: 5, samples: 16 }') => parseConfigText(`data: { source: spiral, classes: 3 }
model:
  layers:
${layers}
train: { loss: cross_entropy, ${train} }
probe: ${probe}
`, 'c.nn.yaml').config!;

describe('run cost estimate', () => {
  it('dense: 6 FLOPs per multiply-add over batch x steps plus the probes', () => {
    // spiral has 2 features: dense 2->4 (8 weights + 4 biases) and 4->3 (12 + 3) = 27 multiply-adds per sample.
    const c = config('    - { type: dense, units: 4, activation: relu }\n    - { type: dense, units: 3, activation: softmax }');
    assert.equal(forwardMacs(c), 27);
    // 10 steps of 8 samples, probes at steps 0, 5, 10 of 16 samples each: 6 x 27 x (80 + 48).
    assert.equal(estimateRunFlops(c), 6 * 27 * (80 + 48));
    assert.equal(estimateRunSeconds(c), (6 * 27 * 128) / ASSUMED_FLOPS_PER_SECOND);
  });

  it('scales with steps and counts convolutions 3x', () => {
    const small = config('    - { type: dense, units: 4, activation: relu }\n    - { type: dense, units: 3, activation: softmax }', 'batch: 8, steps: 1000');
    const large = config('    - { type: dense, units: 4, activation: relu }\n    - { type: dense, units: 3, activation: softmax }', 'batch: 8, steps: 2000');
    assert.ok(estimateRunFlops(large) > 1.9 * estimateRunFlops(small));
    const conv = parseConfigText(`data: { source: shapes, samples: 100, size: 8 }
model:
  layers:
    - { type: conv2d, filters: 2, kernel: 3, padding: same, activation: relu }
    - { type: flatten }
    - { type: dense, units: 3, activation: softmax }
train: { loss: cross_entropy, batch: 1, steps: 1 }
probe: { every: 1, samples: 1 }
`, 'k.nn.yaml').config!;
    // conv: (3*3*1*2 + 2) params x 64 positions = 1280 MACs, counted 3x; dense: 128*3+3 = 387. One step and two probes of 1 sample.
    assert.equal(estimateRunFlops(conv), 6 * (3 * 1280 + 387) * (1 + 2));
  });
});
