/**
 * What a model the user has (`diagnose-run --model <config | keras.json | model.onnx>`) tells about logged layers:
 * each weighted layer's type, fan-in and fan-out (a conv kernel's receptive field counts, which a weight
 * histogram cannot show) and its activation, by layer name. Any format the config loader reads works here: the
 * loader is the one hook (an ONNX importer that yields a NetworkConfig gives ONNX shapes with no change here).
 */
import type { NetworkConfig } from '../model';
import { inferShapes } from '../config/shapes';
import type { ModelShapes } from './weightRules';

export function modelShapes(config: NetworkConfig): { shapes: ModelShapes; activations: Record<string, string> } {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  const out: ModelShapes = {};
  const activations: Record<string, string> = {};
  config.model.layers.forEach((l, i) => {
    if ('activation' in l) activations[l.name] = l.activation.name;
    const s = shapes[i];
    if ((l.type === 'dense' || l.type === 'conv2d') && s?.fanIn && s.fanOut) out[l.name] = { type: l.type, fanIn: s.fanIn, fanOut: s.fanOut };
  });
  return { shapes: out, activations };
}
