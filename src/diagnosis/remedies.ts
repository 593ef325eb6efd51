/**
 * Remedies as data: each change of activation and/or init that a rule can suggest, with the reason the user reads
 * (and its citation, when the literature backs it). The rules (runRules.ts, staticRules.ts) stay code: they judge,
 * then name a remedy here. Learning-rate and clipping suggestions stay in their rules, since the run sets their values.
 */
import type { ActivationName, InitSpec } from '../model';
import { effectiveVariance, resolveInit } from '../core/initializers';
import type { Suggestion } from './types';

/** The initializers a remedy can suggest (test/unit/diagnosis/remedies.test.ts checks they are in the init table). */
type RemedyInit = 'he_normal' | 'glorot_uniform' | 'lecun_normal';

export interface Remedy {
  activation?: ActivationName;
  init?: RemedyInit;
  reason: string;
}

/** Cited facts the ranking of suggestions.ts gives as reasons; a remedy's reason may build on one (heForDeepNarrow). */
export const CITED = {
  deepNarrowBornDead: 'deep narrow relu nets are born dead with high probability (Lu et al. 2019)',
  sigmoidStarvesLowerLayers: 'sigmoid in a deep hidden stack starves lower layers of gradient (Glorot & Bengio 2010)',
} as const;

export const REMEDY = {
  // Init only.
  // He et al. 2015 derive Var = 2/fan_in for relu, and 2/((1 + a^2) fan_in) for a leaky relu/prelu of slope a
  // (their eq. 15): 1.0001x for leaky_relu's 0.01, 1.0625x for prelu's initial 0.25. For the other relu-like
  // activations (elu, gelu, swish, mish, softplus, relu6) there is no such derivation: heForReluLike says so.
  heInit: { init: 'he_normal', reason: 'He init (Var = 2/fan_in) keeps the gradient variance constant through relu layers, and nearly so through leaky relu and prelu of small slope (He et al. 2015)' },
  heForReluLike: { init: 'he_normal', reason: 'He init (Var = 2/fan_in) is the usual choice for relu-like layers; He et al. 2015 derived it for relu and prelu, so for these it is a rule of thumb' },
  heForDeepNarrow: { init: 'he_normal', reason: `${CITED.deepNarrowBornDead}: widen the layers or use fewer of them, with He init` },
  glorotLinearRange: { init: 'glorot_uniform', reason: 'Glorot init (Var = 2/(fan_in + fan_out), Glorot & Bengio 2010) keeps the pre-activations of sigmoid/tanh layers in their linear range' },
  glorotNormalized: { init: 'glorot_uniform', reason: 'Glorot & Bengio 2010: normalized init Var(w) = 2/(fan_in + fan_out) keeps gradient variance across layers' },
  glorotOutOfChaos: { init: 'glorot_uniform', reason: 'a smaller init variance (Glorot) takes the layers out of the chaotic regime where gradients grow with depth' },
  lecunForSelu: { init: 'lecun_normal', reason: 'Klambauer et al. 2017: selu needs lecun_normal to keep mean 0 and variance 1' },

  // Hidden activation with the init that goes with it.
  reluHe: { activation: 'relu', init: 'he_normal', reason: 'relu passes gradient 1 on its active side; He init keeps its variance across layers' },
  // Replacing sigmoid: relu + He learns faster but can diverge at a rate tuned for sigmoid.
  reluHeLowerLr: { activation: 'relu', init: 'he_normal', reason: 'relu passes gradient 1 on its active side; pair it with He init (it may need a lower learning rate)' },
  reluUnsaturated: { activation: 'relu', init: 'he_normal', reason: 'relu does not saturate on its active side' },
  reluElementwise: { activation: 'relu', init: 'he_normal', reason: 'a hidden layer needs an element-wise activation' },
  reluBetweenLinear: { activation: 'relu', init: 'he_normal', reason: 'a non-linear activation between the two layers makes the second one count' },
  leakyRelu: { activation: 'leaky_relu', init: 'he_normal', reason: 'leaky_relu keeps a small gradient where relu is flat, so units cannot die' },
  elu: { activation: 'elu', init: 'he_normal', reason: 'elu has a non-zero gradient for negative inputs and pushes mean activations toward 0' },
  tanhGlorot: { activation: 'tanh', init: 'glorot_uniform', reason: 'tanh with Glorot (normalized) init keeps gradient variance across layers (Glorot & Bengio 2010)' },
  tanhForSaturatedSigmoid: { activation: 'tanh', init: 'glorot_uniform', reason: 'tanh is zero-centered with 4x the slope of sigmoid at 0; with Glorot init it saturates far less' },
  // Replacing sigmoid, Glorot & Bengio's own fix: tanh keeps the activations' scale.
  tanhKeepsScale: { activation: 'tanh', init: 'glorot_uniform', reason: 'tanh is zero-centered with derivative up to 1; pair it with Glorot init (it keeps the scale, so the learning rate still fits)' },

  // Output activation for the loss.
  sigmoidBinaryOutput: { activation: 'sigmoid', reason: 'one output unit of a binary classifier is a sigmoid (with binary_cross_entropy)' },
  sigmoidFromLogits: { activation: 'sigmoid', reason: 'sigmoid with binary_cross_entropy is computed stably from the logits' },
  softmaxFusedPair: { activation: 'softmax', reason: 'softmax with cross_entropy is the fused, stable pair' },
  softmaxFromLogits: { activation: 'softmax', reason: 'softmax with cross_entropy is computed stably from the logits' },
  linearRegression: { activation: 'linear', reason: 'a regression output is linear (with mse), so it covers every target value' },
} as const satisfies Record<string, Remedy>;

export type RemedyName = keyof typeof REMEDY;

/** The activations He et al. 2015 derive He init for (relu, and leaky relu/prelu with their slope's correction). */
export const HE_DERIVED: ReadonlySet<ActivationName> = new Set<ActivationName>(['relu', 'leaky_relu', 'prelu']);

/**
 * A layer's init variance over the variance `init` would give it, at the layer's fans: 1 when the layer already
 * draws from that init however it is written (kaiming_normal, he_uniform, a spelled-out variance_scaling: the
 * derivations behind these remedies ask for a variance, not a distribution), 0.005 for `{name: he_normal,
 * scale: 0.01}` against he_normal. undefined when the layer's init or fans are unknown (a timeline from logs,
 * `init: from-model`).
 */
export function initVarianceVs(layer: { init?: InitSpec; fanIn?: number; fanOut?: number; receptive?: number }, init: RemedyInit): number | undefined {
  if (!layer.init || !layer.fanIn) return undefined;
  const fanOut = layer.fanOut ?? layer.fanIn;
  const have = effectiveVariance(layer.init, layer.fanIn, fanOut, layer.receptive), want = effectiveVariance(resolveInit(init)!, layer.fanIn, fanOut);
  return have === undefined || !want ? undefined : have / want;
}

/**
 * Relative tolerance of "the same variance": 10%, init-mismatch's band for selu's lecun_normal (staticRules.ts). Not
 * float round-off only: a stddev written with two digits (0.35 for He's sqrt(2/16) = 0.354, 2% below) is He, and
 * offering He there changes nothing; He et al.'s own prelu correction (slope 0.25: 1/1.0625 = 0.94) is within it too.
 */
const SAME = 0.1;
/** The layer already has `init`'s variance (a rule does not offer it again); false when unknown. */
export const hasVarianceOf = (layer: Parameters<typeof initVarianceVs>[0], init: RemedyInit): boolean => {
  const r = initVarianceVs(layer, init);
  return r !== undefined && Math.abs(r - 1) <= SAME;
};
/** The layer's variance is known to be at most `init`'s: a remedy that lowers the variance to it does not apply. */
export const atMostVarianceOf = (layer: Parameters<typeof initVarianceVs>[0], init: RemedyInit): boolean => {
  const r = initVarianceVs(layer, init);
  return r !== undefined && r <= 1 + SAME;
};

/**
 * A remedy as a finding's suggestion: for `layers` (absent: the finding's layer), its reason followed by `context`,
 * what this finding adds (e.g. " for 3 exclusive classes").
 */
export function suggest(remedy: Remedy, layers?: number[], context = ''): Suggestion {
  const { reason, ...change } = remedy;
  return { ...change, ...(layers ? { layers } : {}), reason: reason + context };
}
