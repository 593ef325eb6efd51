/**
 * Rule-based activation suggestions (SPEC §5, first tier): for every layer with an activation, a ranked list
 * of activations with the initializer that goes with each and a reason tied to this layer's evidence (its
 * findings), its role (hidden or output, task) and the net's depth. Instant; trials (trials.ts) refine it.
 */
import type { ActivationName, NetworkConfig } from '../model';
import { ACTIVATIONS } from '../core/activations';
import { formatNumber } from '../format';
import type { Finding, LayerSuggestions, RankedActivation } from './types';
import { weightedLayers, type WeightedLayer } from './layers';
import { CITED } from './remedies';

/** The hidden candidates of §5 (compare's defaults), plus the current one. */
export const HIDDEN_CANDIDATES: ActivationName[] = ['relu', 'leaky_relu', 'elu', 'gelu', 'swish', 'tanh', 'selu'];

/** Prior preference among hidden activations when nothing is known (relu + he is the well-tried default). */
const PRIOR: Partial<Record<ActivationName, number>> = { relu: 3, leaky_relu: 2.8, elu: 2.7, gelu: 2.6, swish: 2.6, selu: 2.4, tanh: 2.2, mish: 2.4 };

interface Score { value: number; reasons: string[] }

/**
 * For each layer index, the positions (in `findings`) of the findings that touch it: as their own layer, in
 * their list of layers, or in a suggestion's layers. One pass over the findings, so suggestions for every
 * layer cost the size of the findings, not layers x findings (12k layers took 15 s).
 */
function findingsByLayer(findings: Finding[]): Map<number, number[]> {
  const by = new Map<number, number[]>();
  const note = (index: unknown, at: number) => {
    if (typeof index !== 'number') return;
    const list = by.get(index);
    if (!list) by.set(index, [at]);
    else if (list[list.length - 1] !== at) list.push(at);
  };
  findings.forEach((f, at) => {
    note(f.layer, at);
    for (const key of ['layers', 'affectedLayers', 'deadLayers'] as const) {
      const v = f.evidence[key];
      if (Array.isArray(v)) for (const i of v) note(i, at);
    }
    for (const s of f.suggestions) for (const i of s.layers ?? []) note(i, at);
  });
  return by;
}

/** The findings touching either index, in their original order. */
function findingsOf(findings: Finding[], by: Map<number, number[]>, a: number, b: number): Finding[] {
  const at = a === b ? by.get(a) ?? [] : [...new Set([...(by.get(a) ?? []), ...(by.get(b) ?? [])])].sort((x, y) => x - y);
  return at.map(i => findings[i]);
}

function hiddenScores(w: WeightedLayer, mine: Finding[], ctx: { hidden: number; plain: boolean; narrow: boolean }): Map<ActivationName, Score> {
  const current = w.activation;
  const kinds = new Set(mine.map(f => f.kind));
  const names = [...new Set<ActivationName>([...HIDDEN_CANDIDATES, current])].filter(a => a !== 'softmax');
  const scores = new Map<ActivationName, Score>();
  const dead = mine.find(f => f.kind === 'dead-units');
  const sat = mine.find(f => f.kind === 'saturation');
  const van = mine.find(f => f.kind === 'vanishing-gradient');
  for (const a of names) {
    const info = ACTIVATIONS[a];
    const s: Score = { value: PRIOR[a] ?? (info.hidden ? 1.5 : 0.5), reasons: [] };
    const saturating = info.isSaturated !== null;
    const canDie = info.isDead !== null;
    if (dead) {
      if (canDie) { s.value -= 2; s.reasons.push(`this layer has ${pct(dead.evidence.deadFraction)} dead units and ${a} can die too`); }
      else if (a === 'leaky_relu' || a === 'elu') { s.value += 1; s.reasons.push(`keeps a gradient below 0, so the ${pct(dead.evidence.deadFraction)} dead units of this layer can recover`); }
      else { s.value += 0.5; s.reasons.push('has no dead region'); }
    }
    if (sat) {
      if (saturating) { s.value -= 2; s.reasons.push(`saturates, and this layer is already ${pct(sat.evidence.saturatedFraction)} saturated`); }
      else if (canDie || a === 'leaky_relu' || a === 'elu') { s.value += 1; s.reasons.push(`does not saturate on its active side (this layer is ${pct(sat.evidence.saturatedFraction)} saturated)`); }
    }
    if (van) {
      if (saturating) { s.value -= 1.5; s.reasons.push(`its derivative is below 1 almost everywhere, and the gradient here is already ${fmtRatio(van.evidence.ratio)} of the output's`); }
      else if (info.recommendedInit === 'he_normal' || a === 'selu') { s.value += 0.5; s.reasons.push(`with ${info.recommendedInit} it passes the gradient on without shrinking it (${van.evidence.ratio === 0 ? 'here none arrives' : `here it is ${fmtRatio(van.evidence.ratio)} of the output's`})`); }
    }
    if (kinds.has('activation-choice') && a === 'sigmoid') { s.value -= 2; s.reasons.push(CITED.sigmoidStarvesLowerLayers); }
    if (a === 'sigmoid' && !kinds.has('activation-choice')) { s.value -= 1; s.reasons.push('not zero-centered, derivative at most 0.25'); }
    if (a === 'selu' && ctx.plain && ctx.hidden >= 8) { s.value += 1; s.reasons.push(`self-normalizing in this ${ctx.hidden}-layer plain MLP (Klambauer et al. 2017)`); }
    if (a === 'tanh') {
      if (ctx.hidden <= 2) { s.value += 0.5; s.reasons.push(`zero-centered and smooth; saturation is harmless in a ${ctx.hidden}-hidden-layer net`); }
      else if (ctx.hidden >= 5) { s.value -= 1; s.reasons.push(`saturates, which compounds over ${ctx.hidden} hidden layers`); }
    }
    if (ctx.narrow && canDie) { s.value -= 1; s.reasons.push(CITED.deepNarrowBornDead); }
    if (a === current) {
      // An init mismatch blames the init, not the activation: the current activation stays first, with its init.
      const blaming = [...kinds].filter(k => k !== 'init-mismatch');
      if (!mine.length) { s.value += 1; s.reasons.unshift('the current choice, and no finding on this layer'); }
      else if (!blaming.length) { s.value += 1; s.reasons.unshift(`the current choice with its matching init (${info.recommendedInit}): the only finding here is init-mismatch`); }
      else s.reasons.unshift(`the current choice; findings here: ${[...kinds].join(', ')}`);
    }
    // What sets this activation apart, from the activation table ("use it when").
    s.reasons.push(info.useWhen.replace(/\.$/, ''));
    scores.set(a, s);
  }
  return scores;
}

function outputRanking(config: NetworkConfig, w: WeightedLayer): RankedActivation[] {
  const units = w.layer.type === 'dense' ? w.layer.units : w.layer.filters;
  const loss = config.train.loss;
  const list: RankedActivation[] = [];
  const add = (activation: ActivationName, reason: string) => {
    if (!list.some(r => r.activation === activation)) list.push({ activation, init: ACTIVATIONS[activation].recommendedInit, reason });
  };
  if (loss === 'cross_entropy' && units > 1) add('softmax', `${units} exclusive classes with cross_entropy: softmax, fused with the loss (log-sum-exp)`);
  if (loss === 'binary_cross_entropy' || units === 1 && loss !== 'mse') add('sigmoid', 'binary (or multi-label) targets with binary_cross_entropy: sigmoid, fused with the loss');
  if (loss === 'mse') add('linear', 'regression with mse: a linear output covers every target value');
  if (loss === 'mse') add('softplus', 'regression of a positive quantity: softplus keeps outputs above 0');
  add(w.activation, w.activation === list[0]?.activation ? '' : `the current choice, which does not match ${loss}`);
  return list.filter(r => r.reason);
}

const pct = (v: unknown) => (typeof v === 'number' ? `${Math.round(100 * v)}%` : 'many');
const fmtRatio = (v: unknown) => (typeof v === 'number' ? formatNumber(v, 2) : 'a small fraction');

/** Ranked activations for every layer that has one (weighted layers, judged with a following activation layer). */
export function suggestActivations(config: NetworkConfig, findings: Finding[]): LayerSuggestions[] {
  const ws = weightedLayers(config);
  const hidden = ws.filter(w => !w.isOutput);
  const plain = !config.model.layers.some(l => l.type === 'batchnorm' || l.type === 'conv2d');
  const widths = hidden.map(w => (w.layer.type === 'dense' ? w.layer.units : w.layer.filters));
  const narrow = hidden.length >= 10 && widths.length > 0 && widths.reduce((a, b) => Math.min(a, b), Infinity) <= 4;
  const by = findingsByLayer(findings);
  return ws.map(w => {
    const index = w.activationLayer.index;
    if (w.isOutput) return { layer: index, current: w.activation, ranked: outputRanking(config, w) };
    const scores = hiddenScores(w, findingsOf(findings, by, w.layer.index, w.activationLayer.index), { hidden: hidden.length, plain, narrow });
    const ranked = [...scores.entries()]
      .sort((a, b) => b[1].value - a[1].value)
      .map(([activation, s]) => ({ activation, init: ACTIVATIONS[activation].recommendedInit, reason: s.reasons.join('; ') }));
    return { layer: index, current: w.activation, ranked };
  });
}
