/**
 * The view of a network the rules need: each config layer with its role, and for weighted layers (dense,
 * conv2d) the activation that actually follows them (a linear dense followed by an `activation` layer is
 * judged by that layer's activation, as Keras users write it).
 */
import type { ActivationName, ActivationSpec, InitSpec, LayerSpec, NetworkConfig, Span } from '../model';
import type { FindingKind } from './types';
import { inferShapes } from '../config/shapes';

export interface DiagnosisLayer {
  index: number;
  name: string;
  type: string;
  activation?: ActivationSpec;
  /**
   * A weighted layer's drawn init (its name as written, with its parameters) and the fans it is drawn for, so a rule
   * compares its variance with the init it would offer (initVarianceVs) instead of the names. Absent when unknown
   * (a timeline read from logs) or when the layer starts from a model's trained weights (`init: from-model`).
   */
  init?: InitSpec;
  fanIn?: number;
  fanOut?: number;
  /** A conv kernel's kh*kw (see effectiveVariance). */
  receptive?: number;
  /**
   * The layer starts from a model's trained weights (`init: from-model`, its own or the model's): no rule offers it
   * an init (a fresh draw would throw those weights away, and under `model.init: from-model` the edit would do nothing).
   */
  fromModel?: boolean;
  /** The output layer (the last weighted layer) and anything after it. */
  isOutput: boolean;
  span?: Span;
  spans?: Record<string, Span>;
  /**
   * How much spatial pooling between this layer and the output dilutes the per-element gradient: a global
   * average pool over P positions hands each position 1/P of it, an average pool of area k 1/k, a max pool of
   * area k all of it to 1 of k positions (RMS / sqrt k). The gradient rules compare gradRms x gradScale, so a
   * healthy conv net with pooling is not read as a vanishing gradient. 1 (or absent) where nothing pools.
   */
  gradScale?: number;
}

/** Layers that do not change which function class the net computes between two weighted layers. */
const AFFINE_PASSTHROUGH = new Set(['dropout', 'flatten', 'batchnorm', 'avgpool2d', 'global_avgpool2d']);

export const isWeighted = (t: string) => t === 'dense' || t === 'conv2d';

export function outputLayerIndex(layers: { type: string }[]): number {
  for (let i = layers.length - 1; i >= 0; i--) if (isWeighted(layers[i].type)) return i;
  return layers.length - 1;
}

export function diagnosisLayers(config: NetworkConfig): DiagnosisLayer[] {
  const layers = config.model.layers;
  const out = outputLayerIndex(layers);
  const { shapes } = inferShapes(config.model.input, layers);
  const scales = gradScales(config, out, shapes);
  return layers.map(l => {
    const d: DiagnosisLayer = {
      index: l.index, name: l.name, type: l.type,
      activation: 'activation' in l ? l.activation : undefined,
      isOutput: l.index >= out, span: l.span, spans: l.spans,
    };
    const { fanIn = 0, fanOut = 0, receptive } = shapes[l.index] ?? {};
    if ('init' in l && (config.model.fromModel || l.fromModel)) d.fromModel = true;
    else if ('init' in l && fanIn > 0) { d.init = l.init; d.fanIn = fanIn; d.fanOut = fanOut; if (receptive) d.receptive = receptive; }
    if (scales[l.index] !== 1) d.gradScale = scales[l.index];
    return d;
  });
}

/** Per layer, the product of the pooling dilutions between it and the output layer (see DiagnosisLayer.gradScale). */
function gradScales(config: NetworkConfig, out: number, shapes: ReturnType<typeof inferShapes>['shapes']): number[] {
  const layers = config.model.layers;
  const size = (i: number) => (i < 0 ? config.model.input : shapes[i]?.outputShape ?? [1]).reduce((a, b) => a * b, 1);
  const factor = layers.map((l, i) => {
    const shrink = size(i - 1) / Math.max(1, size(i));
    if (!(shrink > 1)) return 1;
    if (l.type === 'maxpool2d') return Math.sqrt(shrink);
    if (l.type === 'avgpool2d' || l.type === 'global_avgpool2d') return shrink;
    return 1;
  });
  const scales = layers.map(() => 1);
  for (let i = out - 1; i >= 0; i--) scales[i] = scales[i + 1] * factor[i + 1];
  return scales;
}

/** A weighted layer with the activation applied to its output and the layer that applies it. */
export interface WeightedLayer {
  layer: Extract<LayerSpec, { type: 'dense' | 'conv2d' }>;
  activation: ActivationName;
  /** The layer whose activation this is: the layer itself or a following `activation` layer. */
  activationLayer: LayerSpec;
  isOutput: boolean;
}

export function weightedLayers(config: NetworkConfig): WeightedLayer[] {
  const layers = config.model.layers;
  const out = outputLayerIndex(layers);
  const result: WeightedLayer[] = [];
  for (const l of layers) {
    if (l.type !== 'dense' && l.type !== 'conv2d') continue;
    let activation = l.activation.name;
    let activationLayer: LayerSpec = l;
    if (activation === 'linear') {
      for (let j = l.index + 1; j < layers.length; j++) {
        const n = layers[j];
        if (n.type === 'activation') { activation = n.activation.name; activationLayer = n; break; }
        if (n.type !== 'dropout' && n.type !== 'batchnorm') break;
      }
    }
    result.push({ layer: l, activation, activationLayer, isOutput: l.index === out });
  }
  return result;
}

/** True when nothing non-linear sits between weighted layers a and b (a < b). */
export function affineBetween(config: NetworkConfig, a: number, b: number): boolean {
  for (let j = a + 1; j < b; j++) {
    const l = config.model.layers[j];
    if (l.type === 'activation' ? l.activation.name !== 'linear' : !AFFINE_PASSTHROUGH.has(l.type)) return false;
  }
  return true;
}

/** The span a finding about a layer's key points at: that key's value, else the whole layer item. */
export function spanOf(l: { span?: Span; spans?: Record<string, Span> } | undefined, key?: string): Span | undefined {
  if (!l) return undefined;
  return (key && l.spans?.[key]) || l.span;
}

/** Kinds whose findings point at the layer's `init:`: every fix they offer sets an init (some also the activation). */
const AT_INIT = new Set<FindingKind>(['init-mismatch', 'vanishing-gradient', 'exploding-gradient']);

/**
 * The key of a layer a finding points at, for every surface: the rules' spans (CLI, JSON report, panel) and the
 * editor's Problems, which re-derive the span from the current text. One function, so they cannot disagree.
 */
export function findingKey(kind: FindingKind): 'init' | 'activation' {
  return AT_INIT.has(kind) ? 'init' : 'activation';
}

/** Where a finding of `kind` about layer `l` points: its findingKey's value, else the layer item. */
export function findingSpanOf(l: { span?: Span; spans?: Record<string, Span> } | undefined, kind: FindingKind): Span | undefined {
  return spanOf(l, findingKey(kind));
}
