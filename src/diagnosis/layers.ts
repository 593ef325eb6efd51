/**
 * The view of a network the rules need: each config layer with its role, and for weighted layers (dense,
 * conv2d) the activation that actually follows them (a linear dense followed by an `activation` layer is
 * judged by that layer's activation, as Keras users write it).
 */
import type { ActivationName, ActivationSpec, LayerSpec, NetworkConfig, Span } from '../model';

export interface DiagnosisLayer {
  index: number;
  name: string;
  type: string;
  activation?: ActivationSpec;
  /** The output layer (the last weighted layer) and anything after it. */
  isOutput: boolean;
  span?: Span;
  spans?: Record<string, Span>;
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
  return layers.map(l => ({
    index: l.index, name: l.name, type: l.type,
    activation: 'activation' in l ? l.activation : undefined,
    isOutput: l.index >= out, span: l.span, spans: l.spans,
  }));
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
