/**
 * Rule-based suggestions (SPEC §5, first tier), rule by rule: each piece of evidence (a finding, the depth, the
 * width, the task) must show in the ranking and in the reason of the activations it concerns, and not elsewhere.
 * Output layers: the activation the loss pairs with (softmax + cross_entropy, sigmoid + binary_cross_entropy,
 * linear or softplus + mse), as the losses are defined.
 */
import assert from 'node:assert/strict';
import type { NetworkConfig } from '../../../src/model';
import { suggestActivations } from '../../../src/diagnosis/suggestions';
import type { Finding } from '../../../src/diagnosis/types';
import { makeConfig, type LayerInput } from '../core/helpers';
import { ACTIVATIONS } from '../../../src/core/activations';

const dense = (units: number, activation: string): LayerInput => ({ type: 'dense', units, activation });
const net = (hidden: LayerInput[], out: LayerInput, loss: 'mse' | 'cross_entropy' | 'binary_cross_entropy' = 'cross_entropy'): NetworkConfig =>
  makeConfig([4], [...hidden, out], { loss });
const finding = (kind: Finding['kind'], layer: number, evidence: Finding['evidence'] = {}): Finding =>
  ({ kind, severity: 'warning', layer, layerName: `l${layer}`, step: 0, message: '', evidence, suggestions: [] });
const order = (c: NetworkConfig, fs: Finding[], layer = 0) => suggestActivations(c, fs).find(s => s.layer === layer)!.ranked;
const pos = (c: NetworkConfig, fs: Finding[], a: string, layer = 0) => order(c, fs, layer).findIndex(r => r.activation === a);
const reason = (c: NetworkConfig, fs: Finding[], a: string, layer = 0) => order(c, fs, layer).find(r => r.activation === a)!.reason;

describe('rule-based suggestions for output layers', () => {
  it('cross_entropy over 3 units: softmax alone when it is the current one; the current one listed after when not', () => {
    const ok = order(net([dense(8, 'relu')], dense(3, 'softmax')), [], 1);
    assert.deepEqual(ok.map(r => [r.activation, r.init]), [['softmax', 'glorot_uniform']]);
    assert.match(ok[0].reason, /3 exclusive classes/);
    const bad = order(net([dense(8, 'relu')], dense(3, 'sigmoid')), [], 1);
    assert.deepEqual(bad.map(r => r.activation), ['softmax', 'sigmoid']);
    assert.match(bad[1].reason, /current choice, which does not match cross_entropy/);
  });
  it('one unit: sigmoid for binary_cross_entropy and for cross_entropy; never softmax over one unit', () => {
    assert.deepEqual(order(net([dense(8, 'relu')], dense(1, 'sigmoid'), 'binary_cross_entropy'), [], 1).map(r => r.activation), ['sigmoid']);
    assert.deepEqual(order(net([dense(8, 'relu')], dense(1, 'softmax'), 'cross_entropy'), [], 1).map(r => r.activation), ['sigmoid', 'softmax']);
  });
  it('mse: linear, then softplus for positive targets, then the current one', () => {
    const r = order(net([dense(8, 'relu')], dense(2, 'relu'), 'mse'), [], 1);
    assert.deepEqual(r.map(x => x.activation), ['linear', 'softplus', 'relu']);
    assert.match(r[0].reason, /regression with mse/); assert.match(r[1].reason, /positive quantity/);
    assert.deepEqual(order(net([dense(8, 'relu')], dense(2, 'linear'), 'mse'), [], 1).map(x => x.activation), ['linear', 'softplus']);
  });
});

describe('rule-based suggestions for hidden layers: each rule in the ranking and the reason', () => {
  const two = net([dense(8, 'tanh'), dense(8, 'tanh'), dense(8, 'tanh')], dense(3, 'softmax'));
  it('no finding: the current activation first, its reason says so', () => {
    assert.equal(pos(two, [], 'tanh'), 0);
    assert.match(reason(two, [], 'tanh'), /^the current choice, and no finding on this layer/);
  });
  it('saturation: saturating activations drop below non-saturating ones; reasons name the saturated share', () => {
    const fs = [finding('saturation', 0, { saturatedFraction: 0.7 })];
    assert.ok(pos(two, fs, 'relu') < pos(two, fs, 'tanh'), order(two, fs).map(r => r.activation).join());
    assert.match(reason(two, fs, 'tanh'), /saturates, and this layer is already 70% saturated/);
    assert.match(reason(two, fs, 'relu'), /does not saturate on its active side \(this layer is 70% saturated\)/);
    assert.match(reason(two, fs, 'elu'), /does not saturate on its active side/);
    assert.match(reason(two, fs, 'tanh'), /^the current choice; findings here: saturation/);
    assert.doesNotMatch(reason(two, fs, 'tanh', 1), /saturated/, 'the finding is layer 0\'s only');
    assert.doesNotMatch(reason(two, fs, 'gelu'), /saturat/, 'gelu is neither saturating nor relu-like');
  });
  it('vanishing gradient: He-paired and selu get the reason with the ratio; saturating ones are marked down', () => {
    const fs = [finding('vanishing-gradient', 0, { ratio: 0.001 })];
    assert.match(reason(two, fs, 'relu'), /with he_normal it passes the gradient on without shrinking it \(here it is 0\.001 of the output's\)/);
    assert.match(reason(two, fs, 'selu'), /with lecun_normal it passes the gradient on/);
    assert.match(reason(two, fs, 'tanh'), /derivative is below 1 almost everywhere, and the gradient here is already 0\.001 of the output's/);
    assert.match(reason(two, [finding('vanishing-gradient', 0, { ratio: 0 })], 'relu'), /here none arrives/);
    assert.ok(pos(two, fs, 'tanh') > 0, 'the current saturating choice is no longer first');
    // A finding listing affected layers reaches each of them.
    assert.match(reason(two, [finding('vanishing-gradient', 0, { ratio: 0.001, affectedLayers: [0, 2] })], 'relu', 2), /0\.001 of the output's/);
  });
  it('dead units: activations that can die drop, leaky_relu/elu rise with "can recover", others "no dead region"', () => {
    const relu = net([dense(8, 'relu'), dense(8, 'relu'), dense(8, 'relu')], dense(3, 'softmax'));
    const fs = [finding('dead-units', 1, { deadFraction: 0.6 })];
    assert.match(reason(relu, fs, 'relu', 1), /this layer has 60% dead units and relu can die too/);
    assert.match(reason(relu, fs, 'leaky_relu', 1), /the 60% dead units of this layer can recover/);
    assert.match(reason(relu, fs, 'tanh', 1), /has no dead region/);
    assert.ok(pos(relu, fs, 'relu', 1) > pos(relu, fs, 'leaky_relu', 1));
    // Through a network-wide finding's deadLayers, and through a suggestion's layers.
    assert.match(reason(relu, [finding('dead-units', 0, { deadFraction: 1, deadLayers: [0, 2] })], 'relu', 2), /100% dead units/);
    const viaSuggestion: Finding = { ...finding('dead-units', 0, { deadFraction: 0.5 }), suggestions: [{ activation: 'elu', layers: [0, 2], reason: '' }] };
    assert.match(reason(relu, [viaSuggestion], 'relu', 2), /50% dead units/);
  });
  it('sigmoid: marked down, with the reason for a deep stack (activation-choice) or the general one', () => {
    const sig = net([dense(8, 'sigmoid'), dense(8, 'sigmoid'), dense(8, 'sigmoid')], dense(3, 'softmax'));
    assert.match(reason(sig, [finding('activation-choice', 0, { layers: [0, 1, 2] })], 'sigmoid', 1), /starves lower layers of gradient \(Glorot & Bengio 2010\)/);
    assert.match(reason(sig, [], 'sigmoid'), /not zero-centered, derivative at most 0\.25/);
    assert.ok(pos(sig, [], 'sigmoid') > pos(sig, [], 'tanh'), 'even as the current choice, below tanh');
    assert.doesNotMatch(reason(sig, [], 'tanh'), /zero-centered, derivative at most/, 'only sigmoid gets the sigmoid reason');
  });
  it('init-mismatch only: the current activation stays first, "with its matching init"', () => {
    const fs = [finding('init-mismatch', 0, { layers: [0] })];
    assert.equal(pos(two, fs, 'tanh'), 0);
    assert.match(reason(two, fs, 'tanh'), /^the current choice with its matching init \(glorot_uniform\): the only finding here is init-mismatch/);
  });
  it('depth: tanh is fine in <= 2 hidden layers, compounds from 5; selu is preferred from 8 plain layers, not with batchnorm', () => {
    const stack = (n: number, extra: LayerInput[] = []) => net([...Array.from({ length: n }, () => dense(8, 'relu')), ...extra], dense(3, 'softmax'));
    assert.match(reason(stack(2), [], 'tanh'), /saturation is harmless in a 2-hidden-layer net/);
    assert.match(reason(stack(5), [], 'tanh'), /saturates, which compounds over 5 hidden layers/);
    assert.doesNotMatch(reason(stack(3), [], 'tanh'), /harmless|compounds/);
    assert.match(reason(stack(8), [], 'selu'), /self-normalizing in this 8-layer plain MLP/);
    assert.doesNotMatch(reason(stack(7), [], 'selu'), /self-normalizing in this/);
    assert.doesNotMatch(reason(stack(8, [{ type: 'batchnorm' }]), [], 'selu'), /self-normalizing in this/);
    assert.ok(pos(stack(8), [], 'selu') < pos(stack(7), [], 'selu'));
  });
  it('deep and narrow (>= 10 hidden layers, one of width <= 4): activations that can die are marked down (Lu et al. 2019)', () => {
    const deep = (w: number) => net(Array.from({ length: 10 }, (_, i) => dense(i === 5 ? w : 8, 'relu')), dense(3, 'softmax'));
    assert.match(reason(deep(4), [], 'relu'), /born dead with high probability \(Lu et al\. 2019\)/);
    assert.doesNotMatch(reason(deep(4), [], 'leaky_relu'), /Lu et al/);
    assert.doesNotMatch(reason(deep(5), [], 'relu'), /Lu et al/);
    assert.doesNotMatch(reason(net(Array.from({ length: 9 }, () => dense(4, 'relu')), dense(3, 'softmax')), [], 'relu'), /Lu et al/);
  });
  it('a linear dense followed by an activation layer: judged as one, findings on either index count', () => {
    const c = makeConfig([4], [{ type: 'dense', units: 8 }, { type: 'activation', activation: 'tanh' }, dense(3, 'softmax')], { loss: 'cross_entropy' });
    const s = suggestActivations(c, [finding('saturation', 0, { saturatedFraction: 0.8 })]);
    assert.deepEqual(s.map(x => [x.layer, x.current]), [[1, 'tanh'], [2, 'softmax']]);
    assert.match(s[0].ranked.find(r => r.activation === 'tanh')!.reason, /already 80% saturated/);
    assert.match(reason(c, [finding('saturation', 1, { saturatedFraction: 0.8 })], 'tanh', 1), /already 80% saturated/);
  });
});

// Cases the tests above left open (found by mutation testing, docs/testing.md). Expected orders come from the
// rules as docs/diagnosis.md "Suggestions (§5)" states them, reasons from the activation table's own text.
describe('rule-based suggestions: the prior, combined evidence, and the edges of each rule', () => {
  const relu3 = net([dense(8, 'relu'), dense(8, 'relu'), dense(8, 'relu')], dense(3, 'softmax'));
  const tanh3 = net([dense(8, 'tanh'), dense(8, 'tanh'), dense(8, 'tanh')], dense(3, 'softmax'));
  const useWhen = (a: keyof typeof ACTIVATIONS) => ACTIVATIONS[a].useWhen.replace(/\.$/, '');

  it('nothing known (3 hidden layers, no finding): the documented prior relu > leaky_relu > elu > gelu = swish > selu > tanh', () => {
    assert.deepEqual(order(relu3, []).map(r => r.activation), ['relu', 'leaky_relu', 'elu', 'gelu', 'swish', 'selu', 'tanh']);
  });
  it('a candidate with no evidence either way is explained by the activation table\'s "use it when", nothing else', () => {
    // The table's sentence contains inner periods ("e.g.", "et al."): only the final one is dropped.
    for (const a of ['leaky_relu', 'elu', 'gelu', 'swish', 'selu'] as const) assert.equal(reason(relu3, [], a), useWhen(a), a);
    assert.ok(ACTIVATIONS.swish.useWhen.slice(0, -1).includes('.'), 'the case needs a table sentence with an inner period');
    // Parts of a reason are separated, not run together.
    assert.match(reason(tanh3, [finding('saturation', 0, { saturatedFraction: 0.7 })], 'relu'), /\(this layer is 70% saturated\); Default for hidden layers/);
  });
  it('two findings on one layer: both show in the reasons, in the order they were reported', () => {
    const fs = [finding('saturation', 0, { saturatedFraction: 0.7 }), finding('vanishing-gradient', 0, { ratio: 0.001 })];
    assert.match(reason(tanh3, fs, 'tanh'), /findings here: saturation, vanishing-gradient/);
    assert.match(reason(tanh3, fs, 'tanh'), /already 70% saturated/);
    assert.match(reason(tanh3, fs, 'tanh'), /already 0\.001 of the output's/);
    // Through the dense (index 0) and its activation layer (index 1): the union, still in reported order.
    const c = makeConfig([4], [{ type: 'dense', units: 8 }, { type: 'activation', activation: 'tanh' }, dense(3, 'softmax')], { loss: 'cross_entropy' });
    const split = [finding('saturation', 1, { saturatedFraction: 0.7 }), finding('vanishing-gradient', 0, { ratio: 0.001 })];
    assert.match(reason(c, split, 'tanh', 1), /findings here: saturation, vanishing-gradient/);
  });
  it('dead units: elu recovers like leaky_relu; an activation without a dead region ranks above the relu that died', () => {
    const fs = [finding('dead-units', 1, { deadFraction: 0.6 })];
    assert.match(reason(relu3, fs, 'elu', 1), /the 60% dead units of this layer can recover/);
    assert.ok(pos(relu3, fs, 'tanh', 1) < pos(relu3, fs, 'relu', 1), order(relu3, fs, 1).map(r => r.activation).join());
    assert.ok(pos(relu3, fs, 'gelu', 1) < pos(relu3, fs, 'relu', 1));
  });
  it('saturation: leaky_relu is credited like relu and elu, and the three it credits rank above gelu/swish', () => {
    const fs = [finding('saturation', 0, { saturatedFraction: 0.7 })];
    assert.match(reason(tanh3, fs, 'leaky_relu'), /does not saturate on its active side/);
    for (const a of ['relu', 'leaky_relu', 'elu']) for (const b of ['gelu', 'swish']) assert.ok(pos(tanh3, fs, a) < pos(tanh3, fs, b), `${a} above ${b}`);
  });
  it('vanishing gradient in a tanh net: relu first, the current tanh last', () => {
    const fs = [finding('vanishing-gradient', 0, { ratio: 0.001 })];
    const r = order(tanh3, fs).map(x => x.activation);
    assert.equal(r[0], 'relu');
    assert.equal(r[r.length - 1], 'tanh');
  });
  it('activation-choice on a sigmoid stack: sigmoid ranks last with the deep-stack reason, instead of the general one; others are not blamed', () => {
    const sig = net([dense(8, 'sigmoid'), dense(8, 'sigmoid'), dense(8, 'sigmoid')], dense(3, 'softmax'));
    const fs = [finding('activation-choice', 0, { layers: [0, 1, 2] })];
    const r = order(sig, fs, 1);
    assert.equal(r[r.length - 1].activation, 'sigmoid');
    assert.match(reason(sig, fs, 'sigmoid', 1), /^the current choice; findings here: activation-choice; sigmoid in a deep hidden stack/);
    assert.doesNotMatch(reason(sig, fs, 'sigmoid', 1), /not zero-centered/);
    assert.doesNotMatch(reason(sig, fs, 'tanh', 1), /sigmoid in a deep hidden stack/);
    assert.doesNotMatch(reason(tanh3, [], 'tanh'), /sigmoid in a deep hidden stack/, 'without the finding, no deep-stack reason');
  });
  it('depth rules concern tanh only, and tanh ranks last from 5 hidden layers', () => {
    const stack = (n: number) => net(Array.from({ length: n }, () => dense(8, 'relu')), dense(3, 'softmax'));
    assert.doesNotMatch(reason(stack(2), [], 'relu'), /harmless/);
    const five = order(stack(5), []);
    assert.equal(five[five.length - 1].activation, 'tanh');
  });
  it('deep and narrow: relu (can die) falls below leaky_relu and elu (cannot), which it is not at width 5; also for conv filters', () => {
    const deep = (w: number) => net(Array.from({ length: 10 }, (_, i) => dense(i === 5 ? w : 8, 'tanh')), dense(3, 'softmax'));
    assert.ok(pos(deep(4), [], 'relu') > pos(deep(4), [], 'elu'), order(deep(4), []).map(r => r.activation).join());
    assert.ok(pos(deep(5), [], 'relu') < pos(deep(5), [], 'leaky_relu'));
    const convs = (f: number) => makeConfig([12, 12, 1], [...Array.from({ length: 10 }, (_, i) => ({ type: 'conv2d' as const, filters: i === 5 ? f : 8, kernel: [1, 1], padding: 'same', activation: 'relu' })), { type: 'flatten' }, dense(3, 'softmax')], { loss: 'cross_entropy' });
    assert.match(reason(convs(4), [], 'relu'), /Lu et al\. 2019/);
    assert.doesNotMatch(reason(convs(5), [], 'relu'), /Lu et al\. 2019/);
  });
  it('selu is preferred in deep plain MLPs only: not in a conv net', () => {
    const convs = makeConfig([12, 12, 1], [...Array.from({ length: 8 }, () => ({ type: 'conv2d' as const, filters: 8, kernel: [1, 1], padding: 'same', activation: 'relu' })), { type: 'flatten' }, dense(3, 'softmax')], { loss: 'cross_entropy' });
    assert.doesNotMatch(reason(convs, [], 'selu'), /self-normalizing/);
  });
  it('softmax in a hidden layer (an output-mismatch) is not offered as a hidden candidate', () => {
    const c = net([dense(8, 'softmax'), dense(8, 'relu')], dense(3, 'softmax'));
    const r = order(c, []);
    assert.ok(r.length > 0);
    assert.ok(!r.some(x => x.activation === 'softmax'), r.map(x => x.activation).join());
  });
  it('an activation outside the prior (softplus) still gets a finite rank and its reason; findings without their number say so in words', () => {
    const c = net([dense(8, 'softplus'), dense(8, 'softplus'), dense(8, 'softplus')], dense(3, 'softmax'));
    assert.match(reason(c, [], 'softplus'), /^the current choice, and no finding on this layer/);
    // The current choice with nothing wrong ranks above the prior's last candidate.
    assert.ok(pos(c, [], 'softplus') < pos(c, [], 'tanh'), order(c, []).map(r => r.activation).join());
    assert.match(reason(relu3, [finding('dead-units', 0)], 'relu'), /this layer has many dead units/);
    assert.match(reason(tanh3, [finding('saturation', 0)], 'tanh'), /already many saturated/);
    assert.match(reason(tanh3, [finding('vanishing-gradient', 0)], 'tanh'), /already a small fraction of the output's/);
    assert.doesNotMatch(order(tanh3, [finding('vanishing-gradient', 0), finding('saturation', 0)]).map(r => r.reason).join(), /NaN|undefined/);
  });
  it('output layers: multi-label (3 units, binary_cross_entropy) is sigmoid; mse over one unit is not sigmoid; softplus is a valid mse output', () => {
    const ml = order(net([dense(8, 'relu')], dense(3, 'sigmoid'), 'binary_cross_entropy'), [], 1);
    assert.deepEqual(ml.map(r => r.activation), ['sigmoid']);
    assert.match(ml[0].reason, /multi-label/);
    assert.deepEqual(order(net([dense(8, 'relu')], dense(1, 'linear'), 'mse'), [], 1).map(r => r.activation), ['linear', 'softplus']);
    const sp = order(net([dense(8, 'relu')], dense(2, 'softplus'), 'mse'), [], 1);
    assert.deepEqual(sp.map(r => r.activation), ['linear', 'softplus'], 'listed once');
    assert.doesNotMatch(sp[1].reason, /does not match/);
  });
  it('a conv2d output layer counts its filters as classes', () => {
    const c = makeConfig([6, 6, 1], [{ type: 'conv2d', filters: 4, kernel: [3, 3], activation: 'relu' }, { type: 'conv2d', filters: 3, kernel: [4, 4], activation: 'softmax' }], { loss: 'cross_entropy' });
    const r = order(c, [], 1);
    assert.equal(r[0].activation, 'softmax');
    assert.match(r[0].reason, /^3 exclusive classes/);
  });
});
