/**
 * compare's rules without training: the ranking (validation loss, near-ties decided by the stated health formula),
 * the verdict, the fair-trial retries (which rate is kept, what the reason says) and the candidate list. The trials
 * run through `CompareOptions.train`, the hook another engine (torch) uses: here an engine that returns given
 * curves and health, so every expected value follows from RANKING_RULE and RETRY_RULE by hand.
 * (Written against the survivors of `npm run mutation -- trials`, docs/testing.md.)
 */
import assert from 'node:assert/strict';
import type { LayerStats, RunResult } from '../../../src/core/types';
import type { ActivationName } from '../../../src/model';
import { compareActivations, compareVerdict, freshLayers, rankTrials, targetLayers, trialWeights, RANKING_RULE, RETRY_RULE } from '../../../src/diagnosis/trials';
import type { TrialRequest } from '../../../src/diagnosis/trial';
import type { RankedActivation } from '../../../src/diagnosis/types';
import { makeConfig, randomData } from '../core/helpers';

const stats = (o: Partial<LayerStats>): LayerStats => ({
  deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
  preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
});

/** What the fake engine returns for one (activation, lr): the final val loss, or 'nan' for a non-finite stop. */
interface Outcome { val: number | 'nan'; dead?: number; sat?: number; grad?: number; acc?: number }
type Table = Partial<Record<ActivationName, Record<number, Outcome> | Outcome>>;

/** A 4 -> 8 -> 1 net (binary cross-entropy) whose trials come from `table`; records every (activation, lr) trained. */
function setup(table: Table, current: ActivationName = 'relu', lr = 0.03) {
  const config = makeConfig([4], [{ type: 'dense', units: 8, activation: current }, { type: 'dense', units: 1, activation: 'sigmoid' }],
    { loss: 'binary_cross_entropy', lr, steps: 40 });
  const data = randomData([4], 1, 16, 1, 1);
  const trained: string[] = [];
  const train = async (req: TrialRequest): Promise<RunResult> => {
    const l0 = req.config.model.layers[0];
    const act = (l0.type === 'dense' ? l0.activation.name : 'linear') as ActivationName;
    const rate = req.config.train.lr;
    trained.push(`${act}@${rate}`);
    const entry = table[act]!;
    const o: Outcome = 'val' in entry ? entry as Outcome : (entry as Record<number, Outcome>)[rate];
    assert.ok(o, `no outcome for ${act} at ${rate}`);
    const val = o.val === 'nan' ? NaN : o.val;
    const probe = (step: number) => ({
      step, trainLoss: 0.7, valLoss: 0.7, gradNorm: 1,
      layers: [stats({ deadFraction: o.dead ?? 0, saturatedFraction: o.sat ?? 0, gradRms: o.grad ?? 1 }), stats({ gradRms: 1 })],
    });
    return {
      steps: req.steps, stopped: o.val === 'nan' ? 'non-finite' : 'done', timeline: [probe(0), probe(10), probe(20), probe(30)],
      // A falling curve: 0.7 -> 0.5, never 3x its start.
      lossCurve: Array.from({ length: req.steps }, (_, i) => 0.7 - 0.2 * i / req.steps),
      final: { trainLoss: 0.5, valLoss: val, ...(o.acc !== undefined ? { valAccuracy: o.acc } : {}) },
      params: 0, nonTrainableParams: 0, wallMs: 0,
    } as RunResult;
  };
  const run = (candidates: string[], onTrial?: (r: RankedActivation) => void) =>
    compareActivations(config, data, { layer: 0, candidates, steps: 40, train, onTrial });
  return { config, run, trained };
}
const by = (r: RankedActivation[], a: string) => r.find(x => x.activation === a)!;

describe('fair trials: which candidates are retried, which rate is kept (RETRY_RULE)', () => {
  it('far behind (val loss above 1.5x the best): retried at lr/3 and lr/10; the best rate kept and named', async () => {
    // relu 0.5 everywhere; tanh 1.0 at 0.03 (2x the best), 0.6 at 0.01, 0.7 at 0.003.
    const { run, trained } = setup({ relu: { val: 0.5 }, tanh: { 0.03: { val: 1.0 }, 0.01: { val: 0.6 }, 0.003: { val: 0.7 } } });
    const seen: string[] = [];
    const r = await run(['relu', 'tanh'], t => seen.push(`${t.activation}:${t.lr ?? '-'}`));
    assert.deepEqual(trained, ['relu@0.03', 'tanh@0.03', 'tanh@0.01', 'tanh@0.003']);
    assert.deepEqual(r.map(x => [x.activation, x.lr, x.trial!.valLoss]), [['relu', undefined, 0.5], ['tanh', 0.01, 0.6]]);
    assert.deepEqual(by(r, 'tanh').trial!.attempts, [{ lr: 0.03, valLoss: 1, diverged: false }, { lr: 0.01, valLoss: 0.6, diverged: false }, { lr: 0.003, valLoss: 0.7, diverged: false }]);
    assert.equal(by(r, 'relu').trial!.attempts, undefined, 'the best is not retried');
    assert.match(by(r, 'tanh').reason, /at lr 0\.01: the config's lr 0\.03 ended far behind/);
    assert.deepEqual(seen, ['relu:-', 'tanh:-', 'tanh:0.01'], 'first round, then the changed pick');
  });
  it('exactly 1.5x the best is not far behind: no retry', async () => {
    const { run, trained } = setup({ relu: { val: 0.5 }, tanh: { val: 0.75 } });
    await run(['relu', 'tanh']);
    assert.deepEqual(trained, ['relu@0.03', 'tanh@0.03']);
  });
  it('a lower rate within 2% of the config\'s keeps the config\'s rate, and the reason says it stayed best', async () => {
    const { run } = setup({ relu: { val: 0.5 }, tanh: { 0.03: { val: 1.0 }, 0.01: { val: 0.99 }, 0.003: { val: 1.2 } } });
    const seen: string[] = [];
    const t = by(await run(['relu', 'tanh'], x => seen.push(x.activation)), 'tanh');
    assert.deepEqual([t.lr, t.trial!.lr, t.trial!.valLoss], [undefined, 0.03, 1]);
    assert.match(t.reason, /retried at lower rates after it ended far behind; the config's lr 0\.03 stayed best/);
    assert.deepEqual(seen, ['relu', 'tanh'], 'no second report: the pick did not change');
  });
  it('diverged at the config rate, fine lower: the lowest val loss among the rates that did not diverge', async () => {
    const { run } = setup({ relu: { val: 0.5 }, elu: { 0.03: { val: 'nan' }, 0.01: { val: 0.45 }, 0.003: { val: 0.4 } } });
    const r = await run(['relu', 'elu']);
    assert.deepEqual(r.map(x => [x.activation, x.lr]), [['elu', 0.003], ['relu', undefined]]);
    assert.match(by(r, 'elu').reason, /at lr 0\.003: the config's lr 0\.03 diverged/);
    assert.equal(by(r, 'elu').trial!.diverged, false);
  });
  it('diverged at every rate: kept as diverged, its rates listed, ranked last; no rate to apply', async () => {
    const { run } = setup({ relu: { val: 0.5 }, selu: { val: 'nan' } });
    const r = await run(['selu', 'relu']);
    assert.deepEqual(r.map(x => x.activation), ['relu', 'selu']);
    const s = by(r, 'selu');
    assert.deepEqual([s.lr, s.trial!.diverged, s.trial!.attempts!.map(a => a.lr)], [undefined, true, [0.03, 0.01, 0.003]]);
    assert.match(s.reason, /diverged at every rate tried \(0\.03, 0\.01, 0\.003\)/);
  });
  it('the best that far-behind is measured against ignores diverged candidates', async () => {
    // gelu diverges (its val loss is NaN): the best is relu's 0.5, so tanh at 0.6 is not far behind.
    const { run, trained } = setup({ relu: { val: 0.5 }, tanh: { val: 0.6 }, gelu: { 0.03: { val: 'nan' }, 0.01: { val: 'nan' }, 0.003: { val: 'nan' } } });
    await run(['relu', 'tanh', 'gelu']);
    assert.deepEqual(trained.filter(t => t.startsWith('tanh')), ['tanh@0.03']);
  });
  it('the retry rates are lr/3 and lr/10 rounded to 3 significant digits', async () => {
    const { run, trained } = setup({ relu: { val: 0.5 }, tanh: { val: 1.0 } }, 'relu', 0.01);
    await run(['relu', 'tanh']);
    assert.deepEqual(trained, ['relu@0.01', 'tanh@0.01', 'tanh@0.00333', 'tanh@0.001']);
  });
  it('the stated rules name the numbers they use', () => {
    assert.match(RETRY_RULE, /3x its start/); assert.match(RETRY_RULE, /1\.5x the best/); assert.match(RETRY_RULE, /lr\/3 and lr\/10/);
    assert.match(RANKING_RULE, /within 2% of the best/); assert.match(RANKING_RULE, /0\.25 x \|log10 gradient ratio\|/);
  });
});

describe('a trial\'s reason: what it measured, for the activation that can show it', () => {
  it('accuracy, dead share for an activation that can die, saturated share for one that saturates, the gradient ratio', async () => {
    const { run } = setup({ relu: { val: 0.5, dead: 0.25, sat: 0.1, grad: 0.5, acc: 0.875 }, tanh: { val: 0.55, dead: 0.3, sat: 0.4, grad: 0.02 } });
    const r = await run(['relu', 'tanh']);
    const relu = by(r, 'relu').reason, tanh = by(r, 'tanh').reason;
    assert.match(relu, /^trial: val loss 0\.5 after 40 steps, accuracy 88%, 25% dead, lowest gradient ratio 0\.5$/);
    assert.match(tanh, /^trial: val loss 0\.55 after 40 steps, 40% saturated, lowest gradient ratio 0\.02$/);
    assert.deepEqual([by(r, 'tanh').trial!.deadFraction, by(r, 'tanh').trial!.saturatedFraction, by(r, 'tanh').trial!.gradRatio], [0.3, 0.4, 0.02]);
  });
});

describe('ranking: validation loss, near-ties by health (RANKING_RULE)', () => {
  const t = (activation: string, valLoss: number, h: { dead?: number; sat?: number; grad?: number } = {}): RankedActivation =>
    ({ activation, init: 'he_normal', reason: 'trial', trial: { valLoss, trainLoss: valLoss, lossCurve: [], deadFraction: h.dead, saturatedFraction: h.sat, gradRatio: h.grad } });
  it('health = dead + saturated + 0.25 x |log10 gradient ratio|, lower first', () => {
    // a: 0.1 + 0 + 0.25 x 2 = 0.6; b: 0.4 + 0 + 0 = 0.4; c: 0 + 0.3 + 0.25 x 1 = 0.55 (a gradient 10x the output's).
    const r = rankTrials([t('a', 1.0, { dead: 0.1, grad: 0.01 }), t('b', 1.01, { dead: 0.4, grad: 1 }), t('c', 1.005, { sat: 0.3, grad: 10 })]);
    assert.deepEqual(r.map(x => x.activation), ['b', 'c', 'a']);
    assert.match(r[0].reason, /^trial; near-tie with c, a \(val losses within 2%\): ranked by health$/);
    // The weight of the gradient term: |log10 0.01| = 2 counts 0.5, below 0.7 dead.
    assert.deepEqual(rankTrials([t('dead', 1.0, { dead: 0.7, grad: 1 }), t('small-gradient', 1.01, { grad: 0.01 })]).map(x => x.activation), ['small-gradient', 'dead']);
  });
  it('no gradient ratio, or one <= 0, adds nothing; missing fractions count 0', () => {
    // d: no ratio -> 0.2; e: ratio 0 -> 0.1 + 0; f: nothing -> 0.
    const r = rankTrials([t('d', 1.0, { dead: 0.2 }), t('e', 1.0, { dead: 0.1, grad: 0 }), t('f', 1.01)]);
    assert.deepEqual(r.map(x => x.activation), ['f', 'e', 'd']);
  });
  it('equal health: the lower val loss, then the candidate order', () => {
    assert.deepEqual(rankTrials([t('g', 1.01), t('h', 1.0), t('i', 1.0)]).map(x => x.activation), ['h', 'i', 'g']);
  });
  it('outside 2% of the group\'s best: the next group, however healthy', () => {
    const r = rankTrials([t('j', 1.0, { dead: 0.9 }), t('k', 1.03)]);
    assert.deepEqual(r.map(x => x.activation), ['j', 'k']);
    assert.equal(r[1].reason, 'trial', 'alone in its group: no near-tie note');
  });
});

describe('verdict', () => {
  const t = (activation: string, valLoss: number, extra: Partial<RankedActivation> = {}): RankedActivation =>
    ({ activation, init: activation === 'tanh' ? 'glorot_uniform' : 'he_normal', reason: '', trial: { valLoss, trainLoss: valLoss, lossCurve: [] }, ...extra });
  it('every candidate diverged: no winner, lower the learning rate', () => {
    const v = compareVerdict([{ ...t('relu', NaN) }], 'relu', 'dense_1');
    assert.equal(v.winner, undefined);
    assert.match(v.message, /every candidate diverged for dense_1, even at lr\/10/);
    assert.equal(compareVerdict([], 'relu', 'dense_1').winner, undefined);
  });
  it('the current one first: keep it, with its val loss', () => {
    const v = compareVerdict([t('relu', 0.5), t('tanh', 0.7)], 'relu', 'dense_1');
    assert.equal(v.winner?.activation, 'relu');
    assert.equal(v.message, 'the current relu ranks first for dense_1 (val loss 0.5): keep it');
  });
  it('no current (or it diverged): the best, with its init and val loss', () => {
    const v = compareVerdict([t('tanh', 0.4), t('relu', 0.5)], undefined, 'all hidden layers');
    assert.equal(v.message, 'best for all hidden layers: tanh + glorot_uniform (val loss 0.4)');
    const w = compareVerdict([t('tanh', 0.4), t('relu', NaN, { trial: { valLoss: NaN, trainLoss: NaN, lossCurve: [], diverged: true } })], 'relu', 'dense_1');
    assert.equal(w.winner?.activation, 'tanh');
  });
  it('beats the current by more than 2%: the winner, against the current\'s val loss', () => {
    const v = compareVerdict([t('tanh', 0.4), t('relu', 0.5)], 'relu', 'dense_1');
    assert.equal(v.winner?.activation, 'tanh');
    assert.equal(v.message, 'best for dense_1: tanh + glorot_uniform (val loss 0.4 vs 0.5 for the current relu)');
  });
});

describe('candidates and target layers', () => {
  it('the given candidates, aliases resolved and repeated once; the current one not added to a given list', async () => {
    const { run, trained } = setup({ relu: { val: 0.5 }, swish: { val: 0.5 } }, 'tanh');
    await run(['relu', 'ReLU', 'swish']);
    assert.deepEqual(trained, ['relu@0.03', 'swish@0.03']);
    await assert.rejects(run(['relu', 'sigmoidal']), /unknown activation "sigmoidal"/);
  });
  it('the output layer and a net without hidden layers are refused with a message', async () => {
    const { config } = setup({});
    const data = randomData([4], 1, 16, 1, 1);
    await assert.rejects(compareActivations(config, data, { layer: 1, candidates: ['relu'] }), /layer 1 is the output layer/);
    const flat = makeConfig([4], [{ type: 'dense', units: 1, activation: 'sigmoid' }], { loss: 'binary_cross_entropy' });
    await assert.rejects(compareActivations(flat, data, { layer: 'all', candidates: ['relu'] }), /no hidden layer with an activation/);
    assert.throws(() => targetLayers(config, 7), /layer 7 has no activation/);
  });
  it('from a model\'s weights: the compared layer and the weighted layer feeding it start fresh, the others keep theirs', () => {
    const c = makeConfig([4], [{ type: 'dense', units: 8 }, { type: 'activation', activation: 'relu' }, { type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 1, activation: 'sigmoid' }], { loss: 'binary_cross_entropy' });
    assert.deepEqual([...freshLayers(c, [1])].sort(), [0, 1]);
    const w = [0, 1, 2, 3].map(i => ({ kernel: new Float32Array([i]) }));
    assert.deepEqual(trialWeights(c, [1], w)!.map(x => x?.kernel[0]), [undefined, undefined, 2, 3]);
    assert.equal(trialWeights(c, [1], undefined), undefined);
  });
});
