/**
 * The static rules of SPEC §4 (no training): output-mismatch, init-mismatch, activation-choice. Judged on the
 * parsed config only; initializers by their effective variance, so a spelled-out variance_scaling counts as
 * the named initializer it equals.
 */
import type { ActivationName, NetworkConfig } from '../model';
import { ACTIVATIONS } from '../core/activations';
import { effectiveVariance } from '../core/initializers';
import { inferShapes } from '../config/shapes';
import type { Finding, Severity } from './types';
import { affineBetween, findingKey, findingSpanOf, weightedLayers, type WeightedLayer } from './layers';
import { formatNumber as fmt } from '../format';
import { median } from './stats';
import { HE_DERIVED, REMEDY, suggest, type Remedy } from './remedies';

/** Relu-like hidden activations whose table entry pairs them with He init. */
const isReluFamily = (a: ActivationName) => ACTIVATIONS[a].hidden && ACTIVATIONS[a].recommendedInit === 'he_normal';
const isSigmoidTanh = (a: ActivationName) => a === 'sigmoid' || a === 'tanh';
/** Activations whose outputs cannot be negative (or are bounded in [0, 1]). */
const NON_NEGATIVE = new Set<ActivationName>(['relu', 'relu6', 'softplus', 'sigmoid', 'hard_sigmoid', 'softmax']);
const BOUNDED = new Set<ActivationName>(['tanh', 'softsign']);

interface Judged extends WeightedLayer {
  fanIn: number; fanOut: number;
  /** Var(w) * fan_in: 1 for lecun, 2 for he; undefined when not computable. */
  varFanIn?: number;
  /** Var(w) * (fan_in + fan_out) / 2: 1 for glorot. */
  varFanAvg?: number;
}

function judge(config: NetworkConfig): Judged[] {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  return weightedLayers(config).map(w => {
    const s = shapes[w.layer.index];
    const fanIn = s?.fanIn ?? 0, fanOut = s?.fanOut ?? 0;
    // A layer that starts from the model's (trained) weights has no drawn init to judge.
    const drawn = !(config.model.fromModel || w.layer.fromModel);
    const v = fanIn > 0 && drawn ? effectiveVariance(w.layer.init, fanIn, fanOut, s?.receptive) : undefined;
    return { ...w, fanIn, fanOut, varFanIn: v === undefined ? undefined : v * fanIn, varFanAvg: v === undefined ? undefined : v * (fanIn + fanOut) / 2 };
  });
}

function finding(kind: Finding['kind'], severity: Severity, w: WeightedLayer, message: string,
  evidence: Finding['evidence'], suggestions: Finding['suggestions']): Finding {
  const spanLayer = findingKey(kind) === 'activation' ? w.activationLayer : w.layer;
  return { kind, severity, layer: spanLayer.index, layerName: spanLayer.name, step: null, message, evidence, suggestions, span: findingSpanOf(spanLayer, kind) };
}

const near = (x: number | undefined, target: number, tol: number) => x !== undefined && Math.abs(x - target) <= tol * target;
const list = (ws: WeightedLayer[]) => ws.map(w => w.layer.name).join(', ');
const indices = (ws: WeightedLayer[]) => ws.map(w => w.layer.index);
/** The distinct activations of a group of layers, as a finding names them ("relu/gelu"). */
const acts = (ws: WeightedLayer[], sep = '/') => [...new Set(ws.map(w => w.activation))].join(sep);

export function outputMismatch(config: NetworkConfig, ws: WeightedLayer[]): Finding[] {
  const out: Finding[] = [];
  for (const w of ws) {
    if (!w.isOutput && w.activation === 'softmax') {
      out.push(finding('output-mismatch', 'warning', w,
        `softmax in hidden layer ${w.layer.name}: it couples the units into one distribution and saturates; softmax belongs in the output layer`,
        { activation: 'softmax' }, [suggest(REMEDY.reluElementwise)]));
    }
  }
  const o = ws.find(w => w.isOutput);
  if (!o) return out;
  const units = o.layer.type === 'dense' ? o.layer.units : o.layer.filters;
  const loss = config.train.loss;
  const classes = config.data.classes ?? units;
  const act = o.activation;
  if (act === 'softmax' && units === 1) {
    out.push(finding('output-mismatch', 'error', o,
      `softmax over 1 unit always outputs 1.0: its gradient is 0 and the network cannot learn; use sigmoid with binary_cross_entropy for a binary task`,
      { units, loss }, [suggest(REMEDY.sigmoidBinaryOutput)]));
  } else if (act === 'sigmoid' && loss === 'cross_entropy' && Math.max(units, classes) > 2) {
    out.push(finding('output-mismatch', 'error', o,
      `sigmoid output with cross_entropy over ${Math.max(units, classes)} classes: the outputs do not form a distribution and cross_entropy only pushes the true class up; use softmax`,
      { units, classes, loss }, [suggest(REMEDY.softmaxFusedPair, undefined, ` for ${Math.max(units, classes)} exclusive classes`)]));
  } else if (loss === 'cross_entropy' && act !== 'softmax') {
    out.push(finding('output-mismatch', 'warning', o,
      `${act} output with cross_entropy: cross_entropy reads the outputs as class probabilities, which ${act} does not produce; use softmax`,
      { loss }, [suggest(REMEDY.softmaxFromLogits)]));
  } else if (loss === 'binary_cross_entropy' && act !== 'sigmoid' && !(act === 'softmax' && units === 1)) {
    out.push(finding('output-mismatch', 'warning', o,
      `${act} output with binary_cross_entropy: the loss expects probabilities in (0, 1); use sigmoid`,
      { loss }, [suggest(REMEDY.sigmoidFromLogits)]));
  } else if (loss === 'mse' && isSignedRegression(config)) {
    const source = config.data.source;
    if (NON_NEGATIVE.has(act)) {
      out.push(finding('output-mismatch', 'warning', o,
        `${act} output for ${source} regression: the targets take negative values, which ${act} (range ${ACTIVATIONS[act].range}) cannot produce; use linear`,
        { loss, source, range: ACTIVATIONS[act].range }, [suggest(REMEDY.linearRegression)]));
    } else if (BOUNDED.has(act) && source === 'teacher') {
      out.push(finding('output-mismatch', 'warning', o,
        `${act} output for unbounded ${source} regression targets: it cannot exceed ${ACTIVATIONS[act].range}; use linear`,
        { loss, source, range: ACTIVATIONS[act].range }, [suggest(REMEDY.linearRegression)]));
    }
  }
  return out;
}

/** Regression sources whose targets are known to be signed (sine waves, teacher networks). */
function isSignedRegression(config: NetworkConfig): boolean {
  const d = config.data;
  return d.source === 'sine' || (d.source === 'teacher' && !d.classes);
}

export function initMismatch(js: Judged[]): Finding[] {
  const hidden = js.filter(j => !j.isOutput && j.varFanIn !== undefined);
  const out: Finding[] = [];
  const group = (members: Judged[], severity: Severity, message: string, remedy: Remedy | Finding['suggestions']) => {
    if (!members.length) return;
    out.push(finding('init-mismatch', severity, members[0], message,
      { layers: indices(members), varianceTimesFanIn: members.map(m => Number(m.varFanIn!.toPrecision(3))) },
      Array.isArray(remedy) ? remedy : [suggest(remedy, indices(members))]));
  };
  // relu-family with Var(w) <= 1/fan_in (glorot, lecun) in a stack of >= 5 such layers: the signal halves per layer.
  const lowRelu = hidden.filter(j => isReluFamily(j.activation) && j.varFanIn! <= 1 + 1e-6);
  if (lowRelu.length >= 5) {
    // He init's derived reason for relu and leaky relu/prelu, the rule-of-thumb one naming the other activations.
    const derived = lowRelu.filter(j => HE_DERIVED.has(j.activation)), like = lowRelu.filter(j => !HE_DERIVED.has(j.activation));
    group(lowRelu, 'warning',
      `${lowRelu.length} ${acts(lowRelu)} layers initialized with Var(w) = ${fmt(median(lowRelu.map(j => j.varFanIn!)))}/fan_in (${lowRelu[0].layer.init.name}): relu halves the signal's variance at each layer, so gradients shrink geometrically with depth; He init (Var = 2/fan_in) keeps them constant (layers ${list(lowRelu)})`,
      [...(derived.length ? [suggest(REMEDY.heInit, indices(derived))] : []),
        ...(like.length ? [suggest(REMEDY.heForReluLike, indices(like), ` (${acts(like, ', ')})`)] : [])]);
  }
  // sigmoid/tanh with He variance: pre-activations land in the saturated tails.
  const hotSig = hidden.filter(j => isSigmoidTanh(j.activation) && j.varFanIn! >= 2 - 1e-6);
  group(hotSig, 'warning',
    `${acts(hotSig)} layer${hotSig.length > 1 ? 's' : ''} ${list(hotSig)} initialized with Var(w) = ${fmt(hotSig[0]?.varFanIn)}/fan_in: for a saturating activation this pushes pre-activations into the flat tails; Glorot init (Var = 2/(fan_in+fan_out)) keeps them in the linear range`,
    REMEDY.glorotLinearRange);
  // selu self-normalizes only with lecun_normal's variance.
  const selu = hidden.filter(j => j.activation === 'selu' && !near(j.varFanIn, 1, 0.1));
  group(selu, 'warning',
    `selu layer${selu.length > 1 ? 's' : ''} ${list(selu)} initialized with Var(w) = ${fmt(selu[0]?.varFanIn)}/fan_in: selu self-normalizes only with Var = 1/fan_in (lecun_normal)`,
    REMEDY.lecunForSelu);
  // The "standard" U[-1/sqrt(n), 1/sqrt(n)] (Var = 1/(3 fan_in)) in a sigmoid/tanh stack of >= 4 layers.
  const sigStack = hidden.filter(j => isSigmoidTanh(j.activation));
  if (sigStack.length >= 4) {
    const standard = sigStack.filter(j => near(j.varFanIn, 1 / 3, 0.15) && !near(j.varFanAvg, 1, 0.05));
    group(standard, 'warning',
      `${standard.length} of ${sigStack.length} ${acts(sigStack)} layers use U[-1/sqrt(n), 1/sqrt(n)] (Var(w) = 1/(3 fan_in)): the back-propagated gradient shrinks at every layer, starving the lower ones (Glorot & Bengio 2010); normalized (Glorot) init fixes much of it`,
      REMEDY.glorotNormalized);
  }
  return out;
}

export function activationChoice(config: NetworkConfig, ws: WeightedLayer[]): Finding[] {
  const out: Finding[] = [];
  const hidden = ws.filter(w => !w.isOutput);
  const sig = hidden.filter(w => w.activation === 'sigmoid');
  if (hidden.length >= 3 && sig.length) {
    out.push(finding('activation-choice', 'warning', sig[0],
      `sigmoid in ${sig.length} of ${hidden.length} hidden layers (${list(sig)}): its derivative is at most 0.25 and it is not zero-centered, so a deep sigmoid stack saturates and starves its lower layers of gradient; use relu (he_normal) or tanh (glorot_uniform)`,
      { layers: indices(sig), hiddenLayers: hidden.length },
      // tanh + Glorot first (Glorot & Bengio's own fix): it keeps the activations' scale, so a learning rate tuned for
      // sigmoid still fits; relu + He often learns faster but can diverge at that rate (verified on their setup).
      [suggest(REMEDY.tanhKeepsScale, indices(sig)), suggest(REMEDY.reluHeLowerLr, indices(sig))]));
  }
  for (let i = 0; i + 1 < ws.length; i++) {
    const a = ws[i], b = ws[i + 1];
    if (a.activation !== 'linear' || !affineBetween(config, a.layer.index, b.layer.index)) continue;
    // Both linear: the two maps are one (SPEC). Linear into a non-linear layer: the weights still compose into one
    // low-rank map, which is sometimes meant (a linear bottleneck), hence only info.
    const both = b.activation === 'linear';
    out.push(finding('activation-choice', both ? 'warning' : 'info', a,
      both ? `${a.layer.name} and ${b.layer.name} are consecutive ${a.layer.type}/${b.layer.type} layers with linear activation: they collapse into one linear map, so ${a.layer.name} adds parameters but no expressive power`
        : `${a.layer.name} has a linear activation and feeds ${b.layer.name} directly: their weights compose into one low-rank linear map; unless a linear bottleneck is intended, give ${a.layer.name} a non-linear activation`,
      { layers: [a.layer.index, b.layer.index] },
      [suggest(REMEDY.reluBetweenLinear)]));
  }
  return out;
}

export function staticRules(config: NetworkConfig): Finding[] {
  const ws = weightedLayers(config);
  return [...outputMismatch(config, ws), ...initMismatch(judge(config)), ...activationChoice(config, ws)];
}

