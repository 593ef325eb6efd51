/**
 * Shape flow through the layers, with Keras' rules: output sizes of convolutions and pooling
 * (valid: floor((n-k)/s)+1, same: ceil(n/s)), flatten, dense fan-in over the last axis, parameter counts
 * (batchnorm's moving statistics are non-trainable). Problems point at the value that breaks the flow.
 */
import type { InputProblem, LayerSpec, Span } from '../model';

export interface LayerShape {
  outputShape: number[]; params: number; nonTrainableParams: number; fanIn?: number; fanOut?: number;
  /** A conv kernel's kh*kw (its fans count it; an orthogonal init's columns do not). */
  receptive?: number;
}

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

function outSize(n: number, k: number, s: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

const fmt = (s: number[]) => `[${s.join(', ')}]`;

export function inferShapes(input: number[], layers: LayerSpec[]): { shapes: LayerShape[]; problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  const shapes: LayerShape[] = [];
  let cur = [...input];
  // After a broken layer the rest would only repeat the same complaint: carry the shape on as well as we can.
  for (const layer of layers) {
    const at = (key: string): Span | undefined => layer.spans?.[key] ?? layer.span;
    const err = (key: string, message: string) => problems.push({ severity: 'error', message, span: at(key), layer: layer.name });
    let out = cur; let params = 0; let nonTrainable = 0; let fanIn: number | undefined; let fanOut: number | undefined; let receptive: number | undefined;
    switch (layer.type) {
      case 'dense': {
        const inDim = cur[cur.length - 1] ?? 1;
        if (cur.length > 1) err('type', `dense layer "${layer.name}" gets an input of shape ${fmt(cur)}; add a flatten (or global_avgpool2d) layer before it`);
        out = [...cur.slice(0, -1), layer.units];
        params = inDim * layer.units + (layer.useBias ? layer.units : 0);
        fanIn = inDim; fanOut = layer.units;
        break;
      }
      case 'conv2d': {
        if (cur.length !== 3) {
          err('type', `conv2d layer "${layer.name}" needs an image input [height, width, channels], got ${fmt(cur)}`);
          out = [1, 1, layer.filters];
          break;
        }
        const [h, w, c] = cur;
        const [kh, kw] = layer.kernel; const [sh, sw] = layer.stride;
        const oh = outSize(h, kh, sh, layer.padding), ow = outSize(w, kw, sw, layer.padding);
        if (oh < 1 || ow < 1) err('kernel', `kernel ${kh}x${kw} is larger than the ${h}x${w} input of "${layer.name}" with padding valid (use padding: same or a smaller kernel)`);
        out = [Math.max(1, oh), Math.max(1, ow), layer.filters];
        params = kh * kw * c * layer.filters + (layer.useBias ? layer.filters : 0);
        fanIn = kh * kw * c; fanOut = kh * kw * layer.filters; receptive = kh * kw;
        break;
      }
      case 'maxpool2d': case 'avgpool2d': {
        if (cur.length !== 3) { err('type', `${layer.type} layer "${layer.name}" needs an image input [height, width, channels], got ${fmt(cur)}`); break; }
        const [h, w, c] = cur;
        const [ph, pw] = layer.size; const [sh, sw] = layer.stride;
        const oh = outSize(h, ph, sh, layer.padding), ow = outSize(w, pw, sw, layer.padding);
        if (oh < 1 || ow < 1) err('size', `pool size ${ph}x${pw} is larger than the ${h}x${w} input of "${layer.name}" with padding valid`);
        out = [Math.max(1, oh), Math.max(1, ow), c];
        break;
      }
      case 'global_avgpool2d':
        if (cur.length !== 3) { err('type', `global_avgpool2d layer "${layer.name}" needs an image input [height, width, channels], got ${fmt(cur)}`); break; }
        out = [cur[2]];
        break;
      case 'flatten':
        out = [prod(cur)];
        break;
      case 'batchnorm': {
        const c = cur[cur.length - 1] ?? 1;
        params = 2 * c; nonTrainable = 2 * c;
        break;
      }
      case 'dropout': case 'activation':
        break;
    }
    shapes.push({ outputShape: out, params, nonTrainableParams: nonTrainable, ...(fanIn !== undefined ? { fanIn, fanOut } : {}), ...(receptive !== undefined ? { receptive } : {}) });
    cur = out;
  }
  return { shapes, problems };
}

/** Trainable and non-trainable totals. */
export function countParams(shapes: LayerShape[]): { params: number; nonTrainableParams: number } {
  return { params: shapes.reduce((a, s) => a + s.params, 0), nonTrainableParams: shapes.reduce((a, s) => a + s.nonTrainableParams, 0) };
}
