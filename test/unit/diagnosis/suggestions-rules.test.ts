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
