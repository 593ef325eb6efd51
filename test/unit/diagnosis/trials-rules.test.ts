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
import { compareActivations, compareVerdict, freshLayers, rankTrials, targetLayers, trialWeights, withActivation, RANKING_RULE, RETRY_RULE } from '../../../src/diagnosis/trials';
import type { TrialRequest } from '../../../src/diagnosis/trial';
import type { RankedActivation } from '../../../src/diagnosis/types';
import { makeConfig, randomData } from '../core/helpers';

const stats = (o: Partial<LayerStats>): LayerStats => ({
  deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
  preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
});

/** What the fake engine returns for one (activation, lr): the final val loss, or 'nan' for a non-finite stop. */
interface Outcome {
  val: number | 'nan'; dead?: number; sat?: number; grad?: number; acc?: number;
  /** The training loss rises to 4x its start (diverged, though the val loss is finite). */
  rise?: boolean;
  /** The engine reports the trial cancelled. */
  cancel?: boolean;
}
type Table = Partial<Record<ActivationName, Record<number, Outcome> | Outcome>>;

/** A 4 -> 8 -> 1 net (binary cross-entropy) whose trials come from `table`; records every (activation, lr) trained. */
function setup(table: Table, current: ActivationName = 'relu', lr = 0.03, onTrain?: () => void, steps = 40) {
  const config = makeConfig([4], [{ type: 'dense', units: 8, activation: current }, { type: 'dense', units: 1, activation: 'sigmoid' }],
    { loss: 'binary_cross_entropy', lr, steps });
  const data = randomData([4], 1, 16, 1, 1);
  const trained: string[] = [];
  const requests: { steps: number; probeEvery: number }[] = [];
  const train = async (req: TrialRequest): Promise<RunResult> => {
    const l0 = req.config.model.layers[0];
    const act = (l0.type === 'dense' ? l0.activation.name : 'linear') as ActivationName;
    const rate = req.config.train.lr;
    trained.push(`${act}@${rate}`);
    requests.push({ steps: req.steps, probeEvery: req.probeEvery });
    onTrain?.();
    const entry = table[act]!;
    const o: Outcome = 'val' in entry ? entry as Outcome : (entry as Record<number, Outcome>)[rate];
    assert.ok(o, `no outcome for ${act} at ${rate}`);
    const val = o.val === 'nan' ? NaN : o.val;
    const probe = (step: number) => ({
      step, trainLoss: 0.7, valLoss: 0.7, gradNorm: 1,
      layers: [stats({ deadFraction: o.dead ?? 0, saturatedFraction: o.sat ?? 0, gradRms: o.grad ?? 1 }), stats({ gradRms: 1 })],
    });
    return {
      steps: req.steps, stopped: o.val === 'nan' ? 'non-finite' : o.cancel ? 'cancelled' : 'done', timeline: [probe(0), probe(10), probe(20), probe(30)],
      // A falling curve: 0.7 -> 0.5, never 3x its start.
      // (rise: 0.7 -> 2.8, above 3x its start at the end.)
      lossCurve: Array.from({ length: req.steps }, (_, i) => (o.rise ? 0.7 + 3 * 0.7 * i / req.steps : 0.7 - 0.2 * i / req.steps)),
      final: { trainLoss: 0.5, valLoss: val, ...(o.acc !== undefined ? { valAccuracy: o.acc } : {}) },
      params: 0, nonTrainableParams: 0, wallMs: 0,
    } as RunResult;
  };
  const run = (candidates: string[], onTrial?: (r: RankedActivation) => void, extra: { steps?: number; signal?: AbortSignal } = { steps: 40 }) =>
    compareActivations(config, data, { layer: 0, candidates, train, onTrial, ...extra });
  return { config, run, trained, requests };
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
  it('a rate whose training loss rose 3x (diverged, finite val loss) is never kept, nor counted as the best', async () => {
    // tanh at 0.03 far behind (1.0 vs 0.5); at 0.01 its loss rose (val 0.3, diverged); at 0.003 0.6: 0.003 is kept.
    const { run } = setup({ relu: { val: 0.5 }, tanh: { 0.03: { val: 1.0 }, 0.01: { val: 0.3, rise: true }, 0.003: { val: 0.6 } } });
    const t = by(await run(['relu', 'tanh']), 'tanh');
    assert.deepEqual([t.lr, t.trial!.valLoss, t.trial!.attempts!.map(a => a.diverged)], [0.003, 0.6, [false, true, false]]);
    // The config rate itself rose (val 0.3): retried, and not kept though its val loss is the lowest.
    const own = by(await setup({ relu: { val: 0.5 }, elu: { 0.03: { val: 0.3, rise: true }, 0.01: { val: 0.6 }, 0.003: { val: 0.7 } } }).run(['relu', 'elu']), 'elu');
    assert.deepEqual([own.lr, own.trial!.diverged], [0.01, false]);
    // A diverged candidate's low val loss is not "the best" others are far behind: tanh at 0.6 is within 1.5x of 0.5.
    const { run: run2, trained } = setup({ relu: { val: 0.5 }, tanh: { val: 0.6 }, gelu: { val: 0.1, rise: true } });
    await run2(['relu', 'tanh', 'gelu']);
    assert.deepEqual(trained.filter(x => x.startsWith('tanh')), ['tanh@0.03']);
  });
  it('two rates with the same val loss: the higher one is kept; a lower rate must beat the config\'s by more than 2% of it', async () => {
    const same = by(await setup({ relu: { val: 0.3 }, elu: { 0.03: { val: 'nan' }, 0.01: { val: 0.4 }, 0.003: { val: 0.4 } } }).run(['relu', 'elu']), 'elu');
    assert.equal(same.lr, 0.01);
    // The config's 0.5 against 0.48 at lr/3: 0.02 is more than 2% of 0.5 (0.01), so 0.01 is kept.
    const beat = by(await setup({ relu: { val: 0.3 }, elu: { 0.03: { val: 0.5 }, 0.01: { val: 0.48 }, 0.003: { val: 0.7 } } }).run(['relu', 'elu']), 'elu');
    assert.equal(beat.lr, 0.01);
  });
  it('an aborted comparison stops after the first round: no retries, no attempts', async () => {
    const ac = new AbortController();
    const { run, trained } = setup({ relu: { val: 0.5 }, tanh: { val: 1.0 } }, 'relu', 0.03, () => { if (trained.length === 2) ac.abort(); });
    const r = await run(['relu', 'tanh'], undefined, { steps: 40, signal: ac.signal });
    assert.deepEqual(trained, ['relu@0.03', 'tanh@0.03']);
    assert.equal(by(r, 'tanh').trial!.attempts, undefined);
  });
  it('a trial the engine reports cancelled is left out', async () => {
    const r = await setup({ relu: { val: 0.5 }, tanh: { val: 0.4, cancel: true } }).run(['relu', 'tanh']);
    assert.deepEqual(r.map(x => x.activation), ['relu']);
  });
  it('K steps: the config\'s steps, at most 300; a probe every K/20 steps (at least 1)', async () => {
    const a = setup({ relu: { val: 0.5 } });
    await a.run(['relu'], undefined, {});
    assert.deepEqual(a.requests, [{ steps: 40, probeEvery: 2 }]);
    const b = setup({ relu: { val: 0.5 } }, 'relu', 0.03, undefined, 1000);
    await b.run(['relu'], undefined, {});
    assert.deepEqual(b.requests, [{ steps: 300, probeEvery: 15 }]);
    const c = setup({ relu: { val: 0.5 } });
    await c.run(['relu'], undefined, { steps: 10 });
    assert.deepEqual(c.requests, [{ steps: 10, probeEvery: 1 }]);
  });
  it('the stated rules name the numbers they use', () => {
    assert.match(RANKING_RULE, /diverged at every rate tried \(non-finite, or loss above 3x its start\) ranks last/);
    assert.match(RETRY_RULE, /3x its start/); assert.match(RETRY_RULE, /1\.5x the best/); assert.match(RETRY_RULE, /lr\/3 and lr\/10/);
    assert.match(RANKING_RULE, /within 2% of the best/); assert.match(RANKING_RULE, /0\.25 x \|log10 gradient ratio\|/);
  });
});

describe('a trial\'s reason: what it measured, for the activation that can show it', () => {
  it('no gradient measured: no ratio in the reason; a non-finite val loss says so', async () => {
    const r = await setup({ relu: { val: 0.5, grad: NaN }, elu: { val: 'nan' } }).run(['relu', 'elu']);
    assert.equal(by(r, 'relu').trial!.gradRatio, undefined);
    assert.doesNotMatch(by(r, 'relu').reason, /gradient ratio/);
    assert.match(by(r, 'elu').reason, /^trial: val loss non-finite after 40 steps/);
  });
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
  it('groups start from the lowest val loss, whatever the order given', () => {
    // Given 1.1 (healthy) before 1.0 (half dead): 1.1 is 10% behind 1.0, not a near-tie, so 1.0 leads.
    assert.deepEqual(rankTrials([t('healthy', 1.1), t('half-dead', 1.0, { dead: 0.5 })]).map(x => x.activation), ['half-dead', 'healthy']);
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
  it('the 2% are of the current\'s val loss: 0.48 against 0.5 is 4%, a winner; 1.105 against 1.11 is not', () => {
    assert.equal(compareVerdict([t('tanh', 0.48), t('relu', 0.5)], 'relu', 'dense_1').winner?.activation, 'tanh');
    const v = compareVerdict([t('tanh', 1.105), t('relu', 1.11)], 'relu', 'dense_1');
    assert.equal(v.winner, undefined);
    assert.match(v.message, /ends at val loss 1\.1 vs 1\.11 \(within 2%\)$/);
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
  it('a conv layer compared gets the candidate\'s paired init too', () => {
    const c = makeConfig([6, 6, 1], [{ type: 'conv2d', filters: 4, kernel: [3, 3], activation: 'relu', init: 'he_normal' }, { type: 'flatten' }, { type: 'dense', units: 1, activation: 'sigmoid' }], { loss: 'binary_cross_entropy' });
    const l0 = withActivation(c, [0], 'tanh').model.layers[0];
    assert.deepEqual(l0.type === 'conv2d' && [l0.activation.name, l0.init.name], ['tanh', 'glorot_uniform']);
  });
  it('from a model\'s weights: the compared layer and the weighted layer feeding it start fresh, the others keep theirs', () => {
    const c = makeConfig([4], [{ type: 'dense', units: 8 }, { type: 'activation', activation: 'relu' }, { type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 1, activation: 'sigmoid' }], { loss: 'binary_cross_entropy' });
    assert.deepEqual([...freshLayers(c, [1])].sort(), [0, 1]);
    const w = [0, 1, 2, 3].map(i => ({ kernel: new Float32Array([i]) }));
    assert.deepEqual(trialWeights(c, [1], w)!.map(x => x?.kernel[0]), [undefined, undefined, 2, 3]);
    assert.equal(trialWeights(c, [1], undefined), undefined);
  });
});
