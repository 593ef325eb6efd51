/**
 * An ONNX graph to the core's layer list (SPEC §2.2 for ONNX). The graph must be one chain from its single
 * input to its single output; along it, node patterns become layers: Gemm / MatMul (+ bias Add) -> dense,
 * Conv (+ bias Add) -> conv2d, pooling, BatchNormalization, activations (also the Erf-GELU, x*sigmoid(x) and
 * Abs/Add/Div softsign decompositions), Flatten and flattening Reshapes. Everything that only computes
 * constants (Constant, Shape -> Gather -> Concat, a Reshape of a weight, ...) is folded first.
 *
 * ONNX images are NCHW, the core's NHWC: kernels are transposed, and the dense layer after a flatten of an
 * NCHW map gets its rows reordered from (c, h, w) to (h, w, c). Weights are not read here: each layer gets
 * loaders that read its tensors in the core's layout when `init: from-model` asks for them.
 *
 * Problems read `node NAME (OpType): message`; there are no line numbers in a binary file.
 */
import type { ActivationName, ActivationSpec, LayerSpec, LayerType } from '../../model';
import { SELU_ALPHA, SELU_LAMBDA } from '../../core/activations';
import { defaultInit, DEFAULT_BIAS_INIT } from '../layers';
import type { Reporter } from '../read';
import { DTYPE, isFloatType, OnnxError, tensorFloats, tensorInts, type ExternalReader, type OnnxModel, type OnnxNode, type OnnxTensor } from './decode';

/** A layer's parameters in the core's layout, by the core's parameter name (kernel, bias, gamma, ...). */
export type LayerWeights = Record<string, Float32Array>;
export type WeightLoaders = Record<string, () => Float32Array>;
/** A parameter's dims in the core's layout, and how the model file holds it (named in shape messages). */
export interface ParamShape { dims: number[]; origin: string }
export type LayerParamShapes = Record<string, ParamShape>;

export interface OnnxDraft {
  name?: string;
  /** Core input shape (no batch): [features] or [h, w, c]. */
  input?: number[];
  layers: LayerSpec[];
  /** Loaders of each layer's parameters, by layer index. */
  weights: WeightLoaders[];
  /** The dims of each layer's parameters (without reading their values), by layer index. */
  shapes: LayerParamShapes[];
  producer: string;
  opset: number;
  complete: boolean;
}

const LAYER_OPS = ['Gemm', 'MatMul', 'Conv', 'BatchNormalization', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Flatten', 'Reshape', 'Dropout', 'Identity'];
const ACTIVATION_OPS = ['Relu', 'LeakyRelu', 'Elu', 'Selu', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Softplus', 'Softsign', 'HardSigmoid', 'Clip', 'PRelu', 'Gelu'];
/** Ops that only occur inside a recognised pattern (bias Add, GELU, swish, softsign) or as constant plumbing. */
const PATTERN_OPS = ['Add', 'Mul', 'Div', 'Sub', 'Erf', 'Abs', 'Transpose', 'Pad', 'Cast', 'ReduceMean', 'Squeeze', 'Unsqueeze'];
const PLUMBING_OPS = ['Constant', 'Shape', 'Gather', 'Concat', 'Slice', 'ConstantOfShape', 'Range', 'Expand', 'Size'];
const KNOWN = new Set([...LAYER_OPS, ...ACTIVATION_OPS, ...PATTERN_OPS, ...PLUMBING_OPS]);
export const SUPPORTED_TEXT = 'supported: Gemm, MatMul, Conv (each + bias Add), BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, Flatten, '
  + 'flattening Reshape, Dropout, Identity, Relu, LeakyRelu, Elu, Selu, Sigmoid, Tanh, Softmax, LogSoftmax, Softplus, Softsign, HardSigmoid, '
  + 'Clip(0, 6), PRelu, Gelu, x*Sigmoid(x), constant plumbing';
const WHY: Record<string, string> = Object.assign(Object.create(null), {
  LSTM: 'recurrent layers are not supported', GRU: 'recurrent layers are not supported', RNN: 'recurrent layers are not supported',
  If: 'control flow (subgraphs) is not supported', Loop: 'control flow (subgraphs) is not supported', Scan: 'control flow (subgraphs) is not supported',
  Attention: 'attention is not supported', MultiHeadAttention: 'attention is not supported',
  Resize: 'resizing (upsampling) is not supported', Upsample: 'resizing (upsampling) is not supported',
  ConvTranspose: 'transposed convolution is not supported',
});

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
const near = (a: number, b: number, tol = 1e-4) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const fmtDims = (d: number[]) => `[${d.join(', ')}]`;
const fmt = (d: number[]) => `[${d.map(x => (x < 0 ? 'N' : x)).join(', ')}]`;

/** A constant: its shape and its values on demand. */
interface Const { dims: number[]; dtype: number; floats(): Float32Array; ints(): number[]; opaque?: string }

/** The activation flowing along the chain. dims are ONNX's (batch first, -1 when symbolic). */
interface Act {
  name: string; dims: number[]; batch: boolean;
  /** The core's shape of the same data (no batch). */
  core: number[];
  layout: 'nchw' | 'nhwc' | 'flat';
}

class Fail extends Error {}

/** A layer without its name and index (distributes over the union, so each layer type keeps its fields). */
type LayerSpecBody = LayerSpec extends infer L ? L extends LayerSpec ? Omit<L, 'name' | 'index'> : never : never;

/** `emptyLayers: 'keep'` lets a weight with a 0-sized dim through as a layer of no units: for the shapes that
 *  init: from-model compares, where the config's layer names what it needs. */
export function convertGraph(model: OnnxModel, rep: Reporter, ext?: ExternalReader, emptyLayers: 'refuse' | 'keep' = 'refuse'): OnnxDraft {
  const out: OnnxDraft = { layers: [], weights: [], shapes: [], producer: model.producer, opset: model.opset, complete: false };
  try {
    new Converter(model, rep, out, ext, emptyLayers === 'refuse').run();
    out.complete = !rep.hasErrors;
  } catch (e) {
    if (e instanceof OnnxError) rep.error(undefined, e.message);
    else if (!(e instanceof Fail)) throw e;
  }
  return out;
}

class Converter {
  private g: OnnxModel['graph'];
  private producers = new Map<string, OnnxNode>();
  private consumersOf = new Map<string, OnnxNode[]>();
  private consts = new Map<string, Const | null>();
  private actShapes = new Map<string, number[]>();
  private inputNames: Set<string>;
  private names = new Set<string>();
  private counters = new Map<string, number>();
  /** Index of the dense/conv layer whose output is the current activation (bias Add and activation fuse into it). */
  private fusable = -1;
  /** The map a flatten turned into features, until the dense layer that reads it. */
  private flat: { h: number; w: number; c: number; order: 'chw' | 'hwc' } | null = null;

  constructor(private model: OnnxModel, private rep: Reporter, private out: OnnxDraft, private ext?: ExternalReader,
    private refuseEmpty = true) { this.g = model.graph; this.inputNames = new Set(model.graph.inputs.map(i => i.name)); }

  private where(n: OnnxNode): string { return `node ${n.name || `#${n.index}`} (${n.op})`; }
  private fail(n: OnnxNode | undefined, message: string): never {
    this.rep.error(undefined, n ? `${this.where(n)}: ${message}` : message);
    throw new Fail(message);
  }

  run(): void {
    const g = this.g;
    if (this.model.graph.sparseInitializers) this.fail(undefined, 'sparse initializers are not supported');
    for (const n of g.nodes) {
      for (const o of n.outputs) {
        if (!o) continue;
        if (this.producers.has(o) || g.initializers.has(o)) this.fail(n, `output "${o}" is produced twice`);
        this.producers.set(o, n);
      }
    }
    const order = this.topoOrder();
    // Unsupported ops first: the clearest message is the op itself, wherever it sits.
    for (const n of order) {
      if (n.domain && n.domain !== 'ai.onnx') this.fail(n, `custom operator of domain "${n.domain}" is not supported (${SUPPORTED_TEXT})`);
      if (!KNOWN.has(n.op)) this.fail(n, `${WHY[n.op] ?? `${n.op || 'an operator without a type'} is not supported`} (${SUPPORTED_TEXT})`);
      const sub = [...n.attrs.values()].find(a => a.graphs > 0);
      if (sub) this.fail(n, `a node carrying a subgraph ("${sub.name}") is not supported`);
    }
    for (const n of order) {
      for (const i of new Set(n.inputs)) {
        if (!i) continue;
        const list = this.consumersOf.get(i);
        if (list) list.push(n); else this.consumersOf.set(i, [n]);
      }
    }

    const inputs = g.inputs.filter(i => !g.initializers.has(i.name));
    if (inputs.length !== 1) this.fail(undefined, inputs.length ? `the model has ${inputs.length} inputs (${inputs.map(i => i.name).join(', ')}): only single-input models are supported` : 'the graph has no input');
    if (g.outputs.length !== 1) this.fail(undefined, g.outputs.length ? `the model has ${g.outputs.length} outputs (${g.outputs.map(o => o.name).join(', ')}): only single-output models are supported` : 'the graph has no output');
    this.out.name = g.name || undefined;
    let act = this.inputAct(inputs[0]);
    const output = g.outputs[0].name;
    const seen = new Set<string>();
    while (act.name !== output) {
      if (seen.has(act.name)) this.fail(undefined, `tensor "${act.name}" is reached twice: the graph has a cycle`);
      seen.add(act.name);
      act = this.step(act);
      this.actShapes.set(act.name, act.dims);
    }
    if ((this.users(act.name)).length) this.fail(this.users(act.name)[0], `the graph output "${output}" also feeds further nodes: only a single chain is supported`);
  }

  /** Nodes in dependency order (stored order is not always topological); missing inputs and cycles are reported. */
  private topoOrder(): OnnxNode[] {
    const g = this.g;
    const known = new Set<string>([...g.initializers.keys(), ...this.inputNames]);
    const pending = new Map<OnnxNode, number>();
    const waiting = new Map<string, OnnxNode[]>();
    const ready: OnnxNode[] = [];
    for (const n of g.nodes) {
      let missing = 0;
      for (const i of new Set(n.inputs)) {
        if (!i || known.has(i)) continue;
        if (!this.producers.has(i)) this.fail(n, `input "${i}" is not produced by any node, initializer or graph input`);
        missing++;
        const list = waiting.get(i);
        if (list) list.push(n); else waiting.set(i, [n]);
      }
      pending.set(n, missing);
      if (!missing) ready.push(n);
    }
    const order: OnnxNode[] = [];
    while (ready.length) {
      const n = ready.pop()!;
      order.push(n);
      for (const o of n.outputs) for (const m of waiting.get(o) ?? []) {
        const left = pending.get(m)! - 1;
        pending.set(m, left);
        if (!left) ready.push(m);
      }
    }
    if (order.length !== g.nodes.length) {
      const stuck = g.nodes.filter(n => pending.get(n)! > 0);
      this.fail(stuck[0], `nodes ${stuck.slice(0, 4).map(n => n.name || `#${n.index}`).join(', ')}${stuck.length > 4 ? ', ...' : ''} form a cycle`);
    }
    return order;
  }

  /** Consumers of a tensor that act on its values (Shape only reads its size). */
  private users(t: string): OnnxNode[] { return (this.consumersOf.get(t) ?? []).filter(n => n.op !== 'Shape'); }

  // ---- input -------------------------------------------------------------------------------------------

  private inputAct(vi: { name: string; elemType?: number; dims?: (number | string | null)[] }): Act {
    if (vi.elemType !== undefined && !isFloatType(vi.elemType)) this.fail(undefined, `input "${vi.name}" is not a floating-point tensor`);
    if (!vi.dims) this.fail(undefined, `input "${vi.name}" does not declare its shape`);
    const d = vi.dims;
    const batch = d.length >= 2;
    const rest = batch ? d.slice(1) : d;
    if (!rest.length) this.fail(undefined, `input "${vi.name}" is a scalar`);
    rest.forEach((x, i) => {
      if (typeof x !== 'number' || !(x >= 1)) this.fail(undefined, `input "${vi.name}" has ${typeof x === 'string' ? `the symbolic size "${x}"` : 'an unknown size'} in dimension ${i + (batch ? 1 : 0)}: only the batch dimension may vary`);
    });
    const r = rest as number[];
    const dims = batch ? [typeof d[0] === 'number' && d[0] > 0 ? d[0] : -1, ...r] : r;
    const first = this.users(vi.name)[0];
    let core: number[]; let layout: Act['layout'] = 'flat';
    if (r.length === 1) core = [r[0]];
    else if (r.length === 3) {
      // tf2onnx hands NHWC images over with a Transpose to NCHW right after the input.
      const nhwc = first?.op === 'Transpose' && (this.intsAttr(first, 'perm') ?? []).join() === '0,3,1,2';
      layout = nhwc ? 'nhwc' : 'nchw';
      core = nhwc ? [r[0], r[1], r[2]] : [r[1], r[2], r[0]];
    } else if (first && (first.op === 'Flatten' || first.op === 'Reshape')) core = [prod(r)];
    else this.fail(undefined, `input "${vi.name}" of shape ${fmt(dims)} is not supported: features [N, F] or images [N, C, H, W]`);
    this.out.input = core;
    this.actShapes.set(vi.name, dims);
    return { name: vi.name, dims, batch, core, layout };
  }

  // ---- constants -----------------------------------------------------------------------------------------

  private fromTensor(t: OnnxTensor): Const {
    const ext = this.ext;
    let f: Float32Array | undefined; let i: number[] | undefined;
    return {
      dims: t.dims, dtype: t.dtype,
      floats: () => (f ??= isFloatType(t.dtype) ? tensorFloats(t, ext) : Float32Array.from(tensorInts(t, ext))),
      ints: () => (i ??= tensorInts(t, ext)),
    };
  }

  private fromInts(dims: number[], values: number[], dtype: number = DTYPE.INT64): Const {
    return { dims, dtype, floats: () => Float32Array.from(values), ints: () => values };
  }

  private reshaped(c: Const, dims: number[]): Const { return { ...c, dims }; }

  /** The constant a tensor holds, or null when it depends on the activation. */
  constOf(name: string, depth = 0): Const | null {
    if (!name) return null;
    if (this.consts.has(name)) return this.consts.get(name)!;
    if (depth > 64) throw new OnnxError(`the constant "${name}" is computed by a chain of more than 64 nodes`);
    let c: Const | null = null;
    const init = this.g.initializers.get(name);
    const node = this.producers.get(name);
    if (this.inputNames.has(name) && !init) c = null;
    else if (init) c = this.fromTensor(init);
    else if (node) c = this.fold(node, name, depth);
    this.consts.set(name, c);
    return c;
  }

  private fold(n: OnnxNode, outName: string, depth: number): Const | null {
    if (n.op === 'Shape') {
      const src = n.inputs[0];
      const cin = this.constOf(src, depth + 1);
      const dims = cin ? cin.dims : this.actShapes.get(src);
      if (!dims) return { dims: [], dtype: DTYPE.INT64, floats: () => new Float32Array(), ints: () => [], opaque: 'the shape of a tensor that is not known yet' };
      // The symbolic batch size becomes 0: Reshape reads 0 as "keep this dimension".
      const v = dims.map(x => (x < 0 ? 0 : x));
      return this.fromInts([v.length], v);
    }
    const ins = n.inputs.map(i => (i ? this.constOf(i, depth + 1) : undefined));
    if (ins.some(x => x === null)) return null;
    const c = ins as (Const | undefined)[];
    const opaque = (why: string): Const => ({ dims: [], dtype: DTYPE.FLOAT, floats: () => { throw new OnnxError(`${this.where(n)}: ${why}`); }, ints: () => { throw new OnnxError(`${this.where(n)}: ${why}`); }, opaque: why });
    const idx = n.outputs.indexOf(outName);
    if (idx > 0) return opaque(`output ${idx} of ${n.op} cannot be evaluated`);
    const a = c[0];
    switch (n.op) {
      case 'Constant': {
        const v = n.attrs.get('value');
        if (v?.t) return this.fromTensor(v.t);
        const vf = n.attrs.get('value_float'), vi = n.attrs.get('value_int'), vfs = n.attrs.get('value_floats'), vis = n.attrs.get('value_ints');
        if (vf?.f !== undefined) return { dims: [], dtype: DTYPE.FLOAT, floats: () => Float32Array.of(vf.f!), ints: () => [vf.f!] };
        if (vi?.i !== undefined) return this.fromInts([], [vi.i]);
        if (vfs) return { dims: [vfs.floats.length], dtype: DTYPE.FLOAT, floats: () => Float32Array.from(vfs.floats), ints: () => vfs.floats };
        if (vis) return this.fromInts([vis.ints.length], vis.ints);
        return opaque('a Constant without a value');
      }
      case 'Identity': case 'Cast': case 'Dropout':
        return a ?? null;
      case 'Reshape': {
        if (!a || !c[1]) return opaque('Reshape without a shape');
        return this.reshaped(a, reshapeDims(a.dims, c[1].ints(), n));
      }
      case 'Flatten': {
        if (!a) return null;
        const ax = this.intAttr(n, 'axis', 1);
        const k = ax < 0 ? ax + a.dims.length : ax;
        return this.reshaped(a, [prod(a.dims.slice(0, k)), prod(a.dims.slice(k))]);
      }
      case 'Squeeze': case 'Unsqueeze': {
        if (!a) return null;
        const axes = c[1] ? c[1].ints() : this.intsAttr(n, 'axes');
        return this.reshaped(a, squeezeDims(a.dims, axes, n.op === 'Unsqueeze', () => this.fail(n, 'invalid axes')));
      }
      case 'Transpose': {
        if (!a) return null;
        const rank = a.dims.length;
        const perm = this.intsAttr(n, 'perm') ?? [...Array(rank).keys()].reverse();
        if (perm.length !== rank || [...perm].sort((x, y) => x - y).some((p, i) => p !== i)) this.fail(n, `perm [${perm.join(', ')}] does not fit a tensor of rank ${rank}`);
        const dims = perm.map(p => a.dims[p]);
        const tr = <T extends Float32Array | number[]>(src: T, make: (len: number) => T): T => transpose(src, a.dims, perm, make);
        let f: Float32Array | undefined; let i: number[] | undefined;
        return { dims, dtype: a.dtype, floats: () => (f ??= tr(a.floats(), len => new Float32Array(len))), ints: () => (i ??= tr(a.ints(), len => new Array<number>(len))) };
      }
      case 'Gather': {
        if (!a || !c[1]) return null;
        if (a.dims.length !== 1 || this.intAttr(n, 'axis', 0) !== 0) return opaque('only Gather from a 1-D constant can be evaluated');
        const v = a.ints(), ix = c[1].ints();
        const got = ix.map(k => v[k < 0 ? k + v.length : k]);
        if (got.some(x => x === undefined)) this.fail(n, 'index out of range');
        return this.fromInts(c[1].dims, got, a.dtype);
      }
      case 'Concat': {
        const parts = c.filter((x): x is Const => !!x);
        if (parts.some(p => p.dims.length > 1)) return opaque('only a Concat of 1-D constants can be evaluated');
        const vals = parts.flatMap(p => p.ints());
        return this.fromInts([vals.length], vals, parts[0]?.dtype ?? DTYPE.INT64);
      }
      case 'Slice': {
        if (!a || a.dims.length !== 1) return opaque('only a Slice of a 1-D constant can be evaluated');
        const v = a.ints();
        const starts = c[1] ? c[1].ints() : this.intsAttr(n, 'starts') ?? [0];
        const ends = c[2] ? c[2].ints() : this.intsAttr(n, 'ends') ?? [v.length];
        const steps = c[4] ? c[4].ints() : [1];
        if (steps[0] !== 1) return opaque('only a Slice with step 1 can be evaluated');
        const clamp = (x: number) => Math.max(0, Math.min(v.length, x < 0 ? x + v.length : x));
        const got = v.slice(clamp(starts[0]), clamp(ends[0]));
        return this.fromInts([got.length], got, a.dtype);
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': {
        const b = c[1];
        if (!a || !b) return null;
        const na = prod(a.dims), nb = prod(b.dims);
        if (na > (1 << 16) || nb > (1 << 16)) return opaque(`${n.op} of large constants is not evaluated`);
        if (na !== nb && na !== 1 && nb !== 1) return opaque(`${n.op} with broadcasting is not evaluated`);
        const fa = a.floats(), fb = b.floats();
        const len = Math.max(na, nb);
        const r = new Float32Array(len);
        for (let k = 0; k < len; k++) {
          const x = fa[na === 1 ? 0 : k], y = fb[nb === 1 ? 0 : k];
          r[k] = n.op === 'Add' ? x + y : n.op === 'Sub' ? x - y : n.op === 'Mul' ? x * y : x / y;
        }
        const dims = na >= nb ? a.dims : b.dims;
        const isInt = !isFloatType(a.dtype);
        return { dims, dtype: a.dtype, floats: () => r, ints: () => Array.from(r, x => (isInt ? Math.trunc(x) : x)) };
      }
      default:
        return opaque(`${n.op} of constants is not evaluated`);
    }
  }

  intAttr(n: OnnxNode, k: string, dflt: number): number { const a = n.attrs.get(k); return a?.i ?? dflt; }
  floatAttr(n: OnnxNode, k: string, dflt: number): number { const a = n.attrs.get(k); return a?.f ?? (a?.i !== undefined ? a.i : dflt); }
  intsAttr(n: OnnxNode, k: string): number[] | undefined { const a = n.attrs.get(k); return a ? a.ints : undefined; }

  /** A weight input: must be a constant (an initializer, a Constant, or folded from them). */
  private weight(n: OnnxNode, i: number, what: string): Const {
    const c = this.constOf(n.inputs[i]);
    if (!c) this.fail(n, `its ${what} ("${n.inputs[i]}") is computed from the input: only constant weights are supported`);
    if (c.opaque) this.fail(n, `its ${what} ("${n.inputs[i]}") cannot be evaluated: ${c.opaque}`);
    return c;
  }

  // ---- the chain -------------------------------------------------------------------------------------------

  private layerName(type: LayerType, n: OnnxNode): string {
    // ONNX node names like "/0/Gemm" or "" make poor config names: keep the clean ones, number the rest.
    let name = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(n.name) && !this.names.has(n.name) ? n.name : '';
    while (!name || this.names.has(name)) {
      const k = (this.counters.get(type) ?? 0) + 1;
      this.counters.set(type, k);
      name = `${type}_${k}`;
    }
    this.names.add(name);
    return name;
  }

  private emit(n: OnnxNode, spec: LayerSpecBody, w: WeightLoaders = {}, shapes: LayerParamShapes = {}): number {
    const index = this.out.layers.length;
    this.out.layers.push({ ...spec, name: this.layerName(spec.type, n), index } as LayerSpec);
    this.out.weights.push(w);
    this.out.shapes.push(shapes);
    this.fusable = spec.type === 'dense' || spec.type === 'conv2d' ? index : -1;
    return index;
  }

  /** One step along the chain from `act`: the consumer(s) of the current tensor become a layer or a no-op. */
  private step(act: Act): Act {
    const users = this.users(act.name);
    if (!users.length) this.fail(this.producers.get(act.name), `its output "${act.name}" feeds nothing but is not the graph output "${this.g.outputs[0].name}"`);
    if (users.length === 2) {
      const p = this.pattern(act, users);
      if (p) return p;
    }
    if (users.length > 1) {
      this.fail(users[1], `tensor "${act.name}" feeds ${users.length} nodes (${users.map(u => `${u.name || `#${u.index}`} (${u.op})`).join(', ')}): branches such as residual connections are not supported, only a single chain`);
    }
    const n = users[0];
    const next = (dims: number[], core: number[], layout: Act['layout'] = act.layout): Act => {
      const o = n.outputs[0];
      if (!o) this.fail(n, 'it has no output');
      return { name: o, dims, batch: act.batch, core, layout };
    };
    const same = () => next(act.dims, act.core);
    const keepFusable = this.fusable;
    switch (n.op) {
      case 'Gemm': return this.gemm(n, act, next);
      case 'MatMul': return this.matmul(n, act, next);
      case 'Conv': return this.conv(n, act, next);
      case 'Add': return this.biasAdd(n, act, same);
      case 'BatchNormalization': {
        const C = act.core[act.core.length - 1];
        if (act.layout === 'nhwc') this.fail(n, 'BatchNormalization of an NHWC tensor normalizes over the wrong axis');
        const [scale, bias, mean, variance] = [1, 2, 3, 4].map(i => this.weight(n, i, ['', 'scale', 'bias', 'mean', 'variance'][i]));
        for (const t of [scale, bias, mean, variance]) if (prod(t.dims) !== C) this.fail(n, `its parameters have ${prod(t.dims)} values for ${C} channels`);
        const momentum = this.floatAttr(n, 'momentum', 0.9), epsilon = this.floatAttr(n, 'epsilon', 1e-5);
        const shapes: LayerParamShapes = {};
        ([['gamma', scale, 'scale'], ['beta', bias, 'B'], ['moving_mean', mean, 'input_mean'], ['moving_variance', variance, 'input_var']] as const)
          .forEach(([k, t, onnx]) => { shapes[k] = { dims: [C], origin: `BatchNormalization ${onnx} ${fmtDims(t.dims)}` }; });
        this.emit(n, { type: 'batchnorm', momentum: f32(momentum), epsilon: f32(epsilon) }, { gamma: scale.floats, beta: bias.floats, moving_mean: mean.floats, moving_variance: variance.floats }, shapes);
        return same();
      }
      case 'MaxPool': case 'AveragePool': return this.pool(n, act, next);
      case 'GlobalAveragePool': case 'ReduceMean': {
        if (act.core.length !== 3 || act.dims.length !== 4) this.fail(n, `needs an image [N, C, H, W], got ${fmt(act.dims)}`);
        let keep = true;
        if (n.op === 'ReduceMean') {
          const axes = (n.inputs[1] ? this.weight(n, 1, 'axes').ints() : this.intsAttr(n, 'axes') ?? []).map(a => (a < 0 ? a + 4 : a)).sort().join();
          if (axes !== (act.layout === 'nhwc' ? '1,2' : '2,3')) this.fail(n, 'only a mean over the spatial axes (global average pooling) is supported');
          keep = this.intAttr(n, 'keepdims', 1) === 1;
        }
        this.emit(n, { type: 'global_avgpool2d' });
        const C = act.core[2];
        const dims = keep ? (act.layout === 'nhwc' ? [act.dims[0], 1, 1, C] : [act.dims[0], C, 1, 1]) : [act.dims[0], C];
        return next(dims, [C], keep ? act.layout : 'flat');
      }
      case 'Flatten': {
        const rank = act.dims.length;
        const ax0 = this.intAttr(n, 'axis', 1), ax = ax0 < 0 ? ax0 + rank : ax0;
        if (ax !== (act.batch ? 1 : 0) && !(ax === 1 && !act.batch && act.dims[0] === 1)) this.fail(n, `Flatten(axis=${ax0}) of a ${fmt(act.dims)} tensor mixes the batch with the features: only axis 1 is supported`);
        return this.flatten(n, act, next);
      }
      case 'Reshape': {
        const target = this.weight(n, 1, 'shape').ints();
        // A symbolic batch is computed as 1: a hard-coded batch of 1 (CNTK's [1, 256]) still reads as a flatten.
        const B = act.batch ? (act.dims[0] < 0 ? 1 : act.dims[0]) : undefined;
        const inDims = B !== undefined ? [B, ...act.dims.slice(1)] : act.dims;
        const dims = reshapeDims(inDims, target, n);
        if (dims.join() === inDims.join()) return same();
        const rest = prod(act.dims.slice(act.batch ? 1 : 0));
        const flattens = act.batch ? dims.length === 2 && dims[1] === rest && dims[0] === B : dims.length === 1;
        if (!flattens) this.fail(n, `Reshape of a ${fmt(act.dims)} tensor to [${target.join(', ')}] is not a flatten: only reshapes that flatten the features are supported`);
        return this.flatten(n, act, next);
      }
      case 'Transpose': {
        const perm = (this.intsAttr(n, 'perm') ?? []).join();
        if (act.dims.length === 4 && act.layout === 'nchw' && perm === '0,2,3,1') return next([act.dims[0], act.dims[2], act.dims[3], act.dims[1]], act.core, 'nhwc');
        if (act.dims.length === 4 && act.layout === 'nhwc' && perm === '0,3,1,2') return next([act.dims[0], act.dims[3], act.dims[1], act.dims[2]], act.core, 'nchw');
        this.fail(n, `Transpose(perm=[${perm}]) of a ${fmt(act.dims)} tensor is not supported: only NCHW <-> NHWC (0,2,3,1 and 0,3,1,2)`);
      }
      case 'Dropout': {
        let rate = this.floatAttr(n, 'ratio', 0.5);
        if (n.inputs[1]) rate = this.weight(n, 1, 'ratio').floats()[0];
        if (!(rate >= 0 && rate < 1)) this.fail(n, `ratio ${rate} is not in [0, 1)`);
        if (rate > 0) this.emit(n, { type: 'dropout', rate: f32(rate) });
        else this.fusable = keepFusable;
        return same();
      }
      case 'Identity': case 'Cast': return same();
      case 'Pad': {
        const pads = n.inputs[1] ? this.weight(n, 1, 'pads').ints() : this.intsAttr(n, 'pads') ?? [];
        if (pads.some(p => p !== 0)) this.fail(n, `padding [${pads.join(', ')}] before a layer is not supported: use the layer's own padding`);
        return same();
      }
      case 'Squeeze': case 'Unsqueeze': {
        const axes = n.inputs[1] ? this.weight(n, 1, 'axes').ints() : this.intsAttr(n, 'axes');
        const dims = squeezeDims(act.dims, axes, n.op === 'Unsqueeze', () => this.fail(n, 'invalid axes'));
        if (act.core.length === 1 && prod(dims.slice(1)) === act.core[0] && dims.length === 2) return next(dims, act.core, 'flat');
        this.fail(n, `${n.op} of a ${fmt(act.dims)} tensor is not supported`);
      }
      default: {
        const a = this.activation(n, act);
        if (!a) this.fail(n, `${n.op} on the activation is not supported here (${SUPPORTED_TEXT})`);
        this.applyActivation(n, act, a.spec, a.alpha);
        return same();
      }
    }
  }

  private flatten(n: OnnxNode, act: Act, next: (dims: number[], core: number[], layout?: Act['layout']) => Act): Act {
    const rest = prod(act.core);
    if (act.core.length === 3) {
      const [h, w, c] = act.core;
      this.flat = { h, w, c, order: act.layout === 'nhwc' ? 'hwc' : 'chw' };
      this.emit(n, { type: 'flatten' });
    }
    return next(act.batch ? [act.dims[0], rest] : [rest], [rest], 'flat');
  }

  /** Applies an activation: fused into the dense/conv layer it follows, else its own layer. */
  private applyActivation(n: OnnxNode, act: Act, spec: ActivationSpec, alpha?: Const): void {
    const units = act.core[act.core.length - 1];
    const loaders: WeightLoaders = {};
    const shapes: LayerParamShapes = {};
    if (alpha) {
      const k = prod(alpha.dims);
      // PRelu slopes broadcast along the channel axis (NCHW: [C, 1, 1]) or are one shared value.
      const chanOk = act.layout === 'nchw' ? alpha.dims.length <= 1 ? k === 1 : alpha.dims.length === 3 && alpha.dims[0] === units && alpha.dims[1] === 1 && alpha.dims[2] === 1 : true;
      if (!(k === 1 || k === units) || !chanOk) this.fail(n, `slope of shape [${alpha.dims.join(', ')}] does not broadcast per channel over ${fmt(act.dims)}`);
      loaders.alpha = () => { const v = alpha.floats(); return k === 1 ? new Float32Array(units).fill(v[0]) : Float32Array.from(v); };
      shapes.alpha = { dims: [units], origin: `PRelu slope ${fmtDims(alpha.dims)}` };
    }
    const f = this.fusable;
    const prev = f >= 0 ? this.out.layers[f] : undefined;
    if (prev && (prev.type === 'dense' || prev.type === 'conv2d') && prev.activation.name === 'linear') {
      prev.activation = spec;
      Object.assign(this.out.weights[f], loaders);
      Object.assign(this.out.shapes[f], shapes);
      this.fusable = -1;
      return;
    }
    this.emit(n, { type: 'activation', activation: spec }, loaders, shapes);
    this.fusable = -1;
  }

  /** An activation op with its parameters; undefined when the op is not an activation. */
  private activation(n: OnnxNode, act: Act): { spec: ActivationSpec; alpha?: Const } | undefined {
    const named = (name: ActivationName, extra: Partial<ActivationSpec> = {}) => ({ spec: { name, ...extra } });
    switch (n.op) {
      case 'Relu': return named('relu');
      case 'Sigmoid': return named('sigmoid');
      case 'Tanh': return named('tanh');
      case 'Softplus': return named('softplus');
      case 'Softsign': return named('softsign');
      case 'LeakyRelu': return named('leaky_relu', { alpha: f32(this.floatAttr(n, 'alpha', 0.01)) });
      case 'Elu': return named('elu', { alpha: f32(this.floatAttr(n, 'alpha', 1)) });
      case 'Selu': {
        const a = this.floatAttr(n, 'alpha', SELU_ALPHA), g = this.floatAttr(n, 'gamma', SELU_LAMBDA);
        if (!near(a, SELU_ALPHA) || !near(g, SELU_LAMBDA)) this.fail(n, `Selu with alpha ${a} and gamma ${g} is not supported (only the standard constants)`);
        return named('selu');
      }
      case 'HardSigmoid': {
        const a = this.floatAttr(n, 'alpha', 0.2), b = this.floatAttr(n, 'beta', 0.5);
        if (!near(a, 1 / 6) || !near(b, 0.5)) this.rep.warn(undefined, `${this.where(n)}: HardSigmoid(alpha=${f32(a)}, beta=${f32(b)}) is analysed as hard_sigmoid max(0, min(1, x/6 + 0.5))`);
        return named('hard_sigmoid');
      }
      case 'Gelu': {
        const s = n.attrs.get('approximate')?.s ?? 'none';
        return named('gelu', s === 'tanh' ? { approximate: 'tanh' } : {});
      }
      case 'Clip': {
        let lo = this.floatAttr(n, 'min', -Infinity), hi = this.floatAttr(n, 'max', Infinity);
        if (n.inputs[1]) lo = this.weight(n, 1, 'min').floats()[0];
        if (n.inputs[2]) hi = this.weight(n, 2, 'max').floats()[0];
        if (lo === 0 && hi === 6) return named('relu6');
        if (lo === 0 && hi === Infinity) return named('relu');
        this.fail(n, `Clip(${lo}, ${hi}) is not supported: only Clip(0, 6) (relu6) and Clip(0) (relu)`);
      }
      case 'PRelu': {
        const slope = this.weight(n, 1, 'slope');
        const v = prod(slope.dims) <= 4096 ? slope.floats() : undefined;
        const mean = v && v.length ? v.reduce((x, y) => x + y, 0) / v.length : 0.25;
        return { spec: { name: 'prelu', alpha: f32(mean) }, alpha: slope };
      }
      case 'Softmax': case 'LogSoftmax': {
        const rank = act.dims.length;
        const ax0 = this.intAttr(n, 'axis', this.model.opset >= 13 ? -1 : 1), ax = ax0 < 0 ? ax0 + rank : ax0;
        // The core's softmax runs over the last (channel) axis: NCHW's axis 1, or the features.
        const chan = act.layout === 'nchw' && rank === 4 ? 1 : rank - 1;
        const spatialOne = rank === 4 && act.layout === 'nchw' && act.dims[2] === 1 && act.dims[3] === 1;
        const ok = ax === chan || (this.model.opset < 13 && ax === (act.batch ? 1 : 0) && (rank <= 2 || spatialOne));
        if (!ok) this.fail(n, `${n.op} over axis ${ax0} of a ${fmt(act.dims)} tensor is not supported: only over the features or channels`);
        if (n.op === 'LogSoftmax') this.rep.warn(undefined, `${this.where(n)}: LogSoftmax is analysed as softmax (cross-entropy on it is the same loss)`);
        return named('softmax');
      }
      default: return undefined;
    }
  }

  /** Two consumers of one tensor: GELU (Erf form), swish (x * sigmoid(x)) or softsign (x / (1 + |x|)). */
  private pattern(act: Act, users: OnnxNode[]): Act | undefined {
    const x = act.name;
    const one = (t: string): OnnxNode | undefined => { const u = this.users(t); return u.length === 1 ? u[0] : undefined; };
    const other = (n: OnnxNode, t: string): string | undefined => (n.inputs.length === 2 && n.inputs.includes(t) ? n.inputs[n.inputs[0] === t ? 1 : 0] : undefined);
    const isConst = (t: string | undefined, v: number, tol = 1e-3): boolean => {
      const c = t ? this.constOf(t) : null;
      if (!c || c.opaque || prod(c.dims) !== 1) return false;
      return near(c.floats()[0], v, tol);
    };
    const done = (n: OnnxNode, spec: ActivationSpec): Act => {
      this.applyActivation(n, act, spec);
      return { ...act, name: n.outputs[0] };
    };
    const by = (op: string) => users.find(u => u.op === op);
    // swish: Sigmoid(x) and Mul(x, Sigmoid(x)).
    const sig = by('Sigmoid'), mul = by('Mul');
    if (sig && mul && other(mul, x) === sig.outputs[0]) return done(mul, { name: 'swish' });
    // softsign: Abs(x) -> Add(1) -> Div(x, .)
    const abs = by('Abs'), div = by('Div');
    if (abs && div && div.inputs[0] === x) {
      const add = one(abs.outputs[0]);
      if (add?.op === 'Add' && isConst(other(add, abs.outputs[0]), 1) && div.inputs[1] === add.outputs[0]) return done(div, { name: 'softsign' });
    }
    // GELU: Div(x, sqrt 2) | Mul(x, 1/sqrt 2) -> Erf -> Add(1) -> Mul(x | 0.5x, .) [-> Mul(0.5)]
    const scale = users.find(u => (u.op === 'Div' && u.inputs[0] === x && isConst(u.inputs[1], Math.SQRT2)) || (u.op === 'Mul' && isConst(other(u, x), Math.SQRT1_2)));
    if (scale) {
      const erf = one(scale.outputs[0]);
      const add = erf?.op === 'Erf' ? one(erf.outputs[0]) : undefined;
      if (add?.op === 'Add' && isConst(other(add, erf!.outputs[0]), 1)) {
        const rest = users.find(u => u !== scale)!;
        // x * (1 + erf) then * 0.5
        if (rest.op === 'Mul' && other(rest, x) === add.outputs[0]) {
          const half = one(rest.outputs[0]);
          if (half?.op === 'Mul' && isConst(other(half, rest.outputs[0]), 0.5)) return done(half, { name: 'gelu' });
        }
        // (0.5 * x) * (1 + erf)
        if (rest.op === 'Mul' && isConst(other(rest, x), 0.5)) {
          const m = one(rest.outputs[0]);
          if (m?.op === 'Mul' && other(m, rest.outputs[0]) === add.outputs[0]) return done(m, { name: 'gelu' });
        }
      }
    }
    return undefined;
  }

  // ---- layers with weights ----------------------------------------------------------------------------------

  private denseFrom(n: OnnxNode, act: Act, K: number, M: number, kernel: () => Float32Array, bias: (() => Float32Array) | undefined,
    next: (dims: number[], core: number[], layout?: Act['layout']) => Act, origin: { kernel: string; bias?: string }): Act {
    const flat = this.flat;
    this.flat = null;
    // The rows follow ONNX's flatten order (c, h, w); the core's flatten is (h, w, c).
    const k = flat && flat.order === 'chw' && flat.h * flat.w > 1 && flat.h * flat.w * flat.c === K ? () => chwRowsToHwc(kernel(), flat, M) : kernel;
    const w: WeightLoaders = { kernel: k };
    const shapes: LayerParamShapes = { kernel: { dims: [K, M], origin: origin.kernel } };
    if (bias) { w.bias = bias; shapes.bias = { dims: [M], origin: origin.bias ?? '' }; }
    this.emit(n, { type: 'dense', units: M, activation: { name: 'linear' }, init: defaultInit(), biasInit: defaultInit(DEFAULT_BIAS_INIT), useBias: !!bias }, w, shapes);
    return next(act.batch ? [act.dims[0], M] : [M], [M], 'flat');
  }

  private needFlat(n: OnnxNode, act: Act): number {
    if (act.core.length !== 1 || act.dims.length > 2) this.fail(n, `needs a [N, features] input, got ${fmt(act.dims)} (flatten first)`);
    return act.core[0];
  }

  private gemm(n: OnnxNode, act: Act, next: (dims: number[], core: number[], layout?: Act['layout']) => Act): Act {
    if (n.inputs[0] !== act.name) this.fail(n, 'the activation must be its first input (A)');
    if (this.intAttr(n, 'transA', 0)) this.fail(n, 'transA = 1 on the activation is not supported');
    const K = this.needFlat(n, act);
    if (!act.batch) this.fail(n, 'Gemm needs a [N, features] input');
    const B = this.weight(n, 1, 'weight B');
    const tb = this.intAttr(n, 'transB', 0) === 1;
    if (B.dims.length !== 2) this.fail(n, `weight B has shape [${B.dims.join(', ')}]: expected a matrix`);
    const [r, c] = B.dims, inK = tb ? c : r, M = tb ? r : c;
    if (inK !== K) this.fail(n, `weight B of shape [${B.dims.join(', ')}]${tb ? ' (transposed)' : ''} does not take the ${K} input features`);
    if (M < 1 && this.refuseEmpty) this.fail(n, `weight B of shape [${B.dims.join(', ')}]${tb ? ' (transposed)' : ''} has no output units`);
    const alpha = this.floatAttr(n, 'alpha', 1), beta = this.floatAttr(n, 'beta', 1);
    const kernel = () => {
      const b = B.floats(), o = new Float32Array(K * M);
      for (let i = 0; i < K; i++) for (let j = 0; j < M; j++) o[i * M + j] = alpha * (tb ? b[j * K + i] : b[i * M + j]);
      return o;
    };
    let bias: (() => Float32Array) | undefined, biasOrigin: string | undefined;
    if (n.inputs[2]) {
      const C = this.weight(n, 2, 'bias C');
      biasOrigin = `Gemm C ${fmtDims(C.dims)}`;
      const cn = prod(C.dims);
      if (cn !== 1 && cn !== M) this.fail(n, `bias C of shape [${C.dims.join(', ')}] does not broadcast to ${M} units`);
      bias = () => { const v = C.floats(); const o = new Float32Array(M); for (let j = 0; j < M; j++) o[j] = beta * v[cn === 1 ? 0 : j]; return o; };
    }
    return this.denseFrom(n, act, K, M, kernel, bias, next, { kernel: `Gemm B ${fmtDims(B.dims)}${tb ? ' with transB = 1' : ''}`, bias: biasOrigin });
  }

  private matmul(n: OnnxNode, act: Act, next: (dims: number[], core: number[], layout?: Act['layout']) => Act): Act {
    const K = this.needFlat(n, act);
    const left = n.inputs[1] === act.name;
    if (left && n.inputs[0] === act.name) this.fail(n, 'MatMul of the activation with itself is not supported');
    const W = this.weight(n, left ? 0 : 1, 'weight');
    if (W.dims.length !== 2) this.fail(n, `weight of shape [${W.dims.join(', ')}]: expected a matrix`);
    if (left && act.batch) this.fail(n, 'the weight is the left operand of a batched input: W @ X mixes samples');
    const [r, c] = W.dims;
    // x @ W: W is [K, M]; W @ x (rank-1 x): W is [M, K].
    const inK = left ? c : r, M = left ? r : c;
    if (inK !== K) this.fail(n, `weight of shape [${W.dims.join(', ')}] does not take the ${K} input features`);
    if (M < 1 && this.refuseEmpty) this.fail(n, `weight of shape [${W.dims.join(', ')}] has no output units`);
    const kernel = left ? () => { const w = W.floats(), o = new Float32Array(K * M); for (let i = 0; i < K; i++) for (let j = 0; j < M; j++) o[i * M + j] = w[j * K + i]; return o; } : () => Float32Array.from(W.floats());
    return this.denseFrom(n, act, K, M, kernel, undefined, next, { kernel: `MatMul weight ${fmtDims(W.dims)}${left ? ' (W @ x)' : ''}` });
  }

  /** Add(x, constant) right after a dense or conv layer is its bias. */
  private biasAdd(n: OnnxNode, act: Act, same: () => Act): Act {
    const f = this.fusable;
    const layer = f >= 0 ? this.out.layers[f] : undefined;
    const cName = n.inputs[0] === act.name ? n.inputs[1] : n.inputs[0];
    const c = this.constOf(cName);
    if (!layer || !c || c.opaque || (layer.type !== 'dense' && layer.type !== 'conv2d') || layer.activation.name !== 'linear') {
      this.fail(n, c ? 'an Add of a constant is supported only as the bias right after MatMul, Gemm or Conv' : 'an Add of two computed tensors (a residual connection) is not supported: only a single chain');
    }
    const units = layer.type === 'dense' ? layer.units : layer.filters;
    const d = c.dims.filter((x, i) => !(x === 1 && i < c.dims.length - (layer.type === 'dense' ? 1 : 3)));
    const ok = prod(c.dims) === 1 || (layer.type === 'dense' ? d.length === 1 && d[0] === units
      : act.layout === 'nchw' ? d.length === 3 && d[0] === units && d[1] === 1 && d[2] === 1 : d[d.length - 1] === units && prod(d) === units);
    if (!ok) this.fail(n, `the constant of shape [${c.dims.join(', ')}] is not a bias of ${units} ${layer.type === 'dense' ? 'units' : 'channels'}`);
    const w = this.out.weights[f];
    const prev = w.bias;
    w.bias = () => {
      const v = c.floats(), o = prev ? Float32Array.from(prev()) : new Float32Array(units);
      for (let j = 0; j < units; j++) o[j] += v[v.length === 1 ? 0 : j];
      return o;
    };
    const before = this.out.shapes[f].bias as ParamShape | undefined;
    this.out.shapes[f].bias = { dims: [units], origin: `${before ? `${before.origin} + ` : ''}Add ${fmtDims(c.dims)}` };
    layer.useBias = true;
    this.fusable = f;
    return same();
  }

  /** Padding as the core knows it: valid, or TensorFlow's same (extra row/column at the end). */
  private padding(n: OnnxNode, act: Act, k: [number, number], s: [number, number]): { padding: 'same' | 'valid'; out: [number, number] } {
    const [H, W] = act.core;
    const auto = n.attrs.get('auto_pad')?.s ?? 'NOTSET';
    const pads = this.intsAttr(n, 'pads') ?? [0, 0, 0, 0];
    const ceil = this.intAttr(n, 'ceil_mode', 0) === 1;
    const same: [number, number] = [Math.ceil(H / s[0]), Math.ceil(W / s[1])];
    const valid: [number, number] = [Math.floor((H - k[0]) / s[0]) + 1, Math.floor((W - k[1]) / s[1]) + 1];
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      if (auto === 'SAME_LOWER' && [0, 1].some(i => Math.max((same[i] - 1) * s[i] + k[i] - [H, W][i], 0) % 2 === 1)) {
        this.rep.warn(undefined, `${this.where(n)}: SAME_LOWER padding is analysed as SAME_UPPER (the odd padding row/column moves to the end)`);
      }
      return { padding: 'same', out: same };
    }
    if (auto === 'VALID') return { padding: 'valid', out: valid };
    if (pads.length !== 4) this.fail(n, `pads [${pads.join(', ')}] are not 2-D padding`);
    const [t, l, b, r] = pads;
    const size = (i: number, p: number) => { const x = ([H, W][i] + p - k[i]) / s[i]; return (ceil ? Math.ceil(x) : Math.floor(x)) + 1; };
    const got: [number, number] = [size(0, t + b), size(1, l + r)];
    if (t + l + b + r === 0 && got[0] === valid[0] && got[1] === valid[1]) return { padding: 'valid', out: valid };
    if (got[0] === same[0] && got[1] === same[1]) {
      const tf = [0, 1].map(i => Math.floor(Math.max((same[i] - 1) * s[i] + k[i] - [H, W][i], 0) / 2));
      if (tf[0] !== t || tf[1] !== l) this.rep.warn(undefined, `${this.where(n)}: pads [${pads.join(', ')}] are analysed as same padding, which pads ${tf[0]} row(s) and ${tf[1]} column(s) before (the output size is the same)`);
      return { padding: 'same', out: same };
    }
    if (got[0] === valid[0] && got[1] === valid[1]) return { padding: 'valid', out: valid };
    this.fail(n, `pads [${pads.join(', ')}]${ceil ? ' with ceil_mode' : ''} give a ${got[0]}x${got[1]} output from ${H}x${W}, neither same (${same.join('x')}) nor valid (${valid.join('x')}) padding`);
  }

  private pair(n: OnnxNode, k: string, dflt: [number, number]): [number, number] {
    const v = this.intsAttr(n, k);
    if (!v || !v.length) return dflt;
    if (v.length !== 2 || v.some(x => !(x >= 1 && x <= 65536))) this.fail(n, `${k} [${v.join(', ')}] is not supported: 2-D only`);
    return [v[0], v[1]];
  }

  private need4d(n: OnnxNode, act: Act): void {
    if (act.dims.length !== 4 || act.core.length !== 3 || act.layout !== 'nchw') this.fail(n, `needs an NCHW image [N, C, H, W], got ${fmt(act.dims)}${act.layout === 'nhwc' ? ' in NHWC order' : ''}`);
  }

  private conv(n: OnnxNode, act: Act, next: (dims: number[], core: number[], layout?: Act['layout']) => Act): Act {
    if (n.inputs[0] !== act.name) this.fail(n, 'the activation must be its first input');
    this.need4d(n, act);
    const W = this.weight(n, 1, 'weight');
    if (W.dims.length !== 4) this.fail(n, `weight of shape [${W.dims.join(', ')}] is not 2-D convolution (only Conv2d is supported)`);
    const groups = this.intAttr(n, 'group', 1);
    if (groups !== 1) this.fail(n, `grouped convolution (group = ${groups}) is not supported`);
    const dil = this.intsAttr(n, 'dilations') ?? [];
    if (dil.some(d => d !== 1)) this.fail(n, `dilated convolution (dilations [${dil.join(', ')}]) is not supported`);
    const [F, C, kh, kw] = W.dims, [H, Wd, Cin] = act.core;
    if ((F < 1 || kh < 1 || kw < 1) && this.refuseEmpty) this.fail(n, `weight of shape [${W.dims.join(', ')}] has ${F < 1 ? 'no filters' : 'an empty kernel'}`);
    if (C !== Cin) this.fail(n, `weight of shape [${W.dims.join(', ')}] expects ${C} input channels, the input has ${Cin}`);
    const ks = this.intsAttr(n, 'kernel_shape');
    if (ks && ks.length && (ks[0] !== kh || ks[1] !== kw)) this.fail(n, `kernel_shape [${ks.join(', ')}] differs from the weight's [${kh}, ${kw}]`);
    const stride = this.pair(n, 'strides', [1, 1]);
    const { padding, out } = this.padding(n, act, [kh, kw], stride);
    if (out[0] < 1 || out[1] < 1) this.fail(n, `kernel ${kh}x${kw} does not fit the ${H}x${Wd} input`);
    const kernel = () => {
      const w = W.floats(), o = new Float32Array(w.length);
      for (let f = 0; f < F; f++) for (let c = 0; c < C; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) o[((i * kw + j) * C + c) * F + f] = w[((f * C + c) * kh + i) * kw + j];
      return o;
    };
    const w: WeightLoaders = { kernel };
    // OIHW in the file, HWIO in the core (the kernel loader above converts).
    const shapes: LayerParamShapes = { kernel: { dims: [kh, kw, C, F], origin: `Conv W ${fmtDims(W.dims)} (OIHW)` } };
    if (n.inputs[2]) {
      const B = this.weight(n, 2, 'bias');
      if (prod(B.dims) !== F) this.fail(n, `bias of shape [${B.dims.join(', ')}] does not have ${F} values`);
      w.bias = () => Float32Array.from(B.floats());
      shapes.bias = { dims: [F], origin: `Conv B ${fmtDims(B.dims)}` };
    }
    this.emit(n, { type: 'conv2d', filters: F, kernel: [kh, kw], stride, padding, activation: { name: 'linear' }, init: defaultInit(), biasInit: defaultInit(DEFAULT_BIAS_INIT), useBias: !!n.inputs[2] }, w, shapes);
    return next([act.dims[0], F, out[0], out[1]], [out[0], out[1], F], 'nchw');
  }

  private pool(n: OnnxNode, act: Act, next: (dims: number[], core: number[], layout?: Act['layout']) => Act): Act {
    this.need4d(n, act);
    const size = this.pair(n, 'kernel_shape', [0, 0]);
    if (!size[0]) this.fail(n, 'it has no kernel_shape');
    const dil = this.intsAttr(n, 'dilations') ?? [];
    if (dil.some(d => d !== 1)) this.fail(n, 'dilated pooling is not supported');
    const stride = this.pair(n, 'strides', [1, 1]);
    const { padding, out } = this.padding(n, act, size, stride);
    if (out[0] < 1 || out[1] < 1) this.fail(n, `window ${size.join('x')} does not fit the ${act.core[0]}x${act.core[1]} input`);
    if (n.op === 'AveragePool' && padding === 'same' && this.intAttr(n, 'count_include_pad', 0)) this.rep.warn(undefined, `${this.where(n)}: count_include_pad is analysed as excluding the padding`);
    this.emit(n, { type: n.op === 'MaxPool' ? 'maxpool2d' : 'avgpool2d', size, stride, padding });
    const C = act.core[2];
    return next([act.dims[0], C, out[0], out[1]], [out[0], out[1], C], 'nchw');
  }
}

function f32(x: number): number {
  const short = Number(x.toPrecision(7));
  return Math.fround(short) === Math.fround(x) ? short : x;
}

/** ONNX Reshape: 0 keeps the input's dimension, -1 takes what is left. */
function reshapeDims(input: number[], target: number[], n: OnnxNode): number[] {
  if (target.length > 8) throw new OnnxError(`node ${n.name || `#${n.index}`} (Reshape): target of rank ${target.length}`);
  const total = prod(input);
  const dims = target.map((t, i) => (t === 0 ? input[i] ?? 0 : t));
  const neg = dims.filter(d => d === -1).length;
  if (neg > 1 || dims.some(d => d < -1 || !Number.isSafeInteger(d))) throw new OnnxError(`node ${n.name || `#${n.index}`} (Reshape): invalid target [${target.join(', ')}]`);
  if (neg === 1) {
    const known = prod(dims.filter(d => d !== -1));
    const inferred = known ? total / known : 0;
    return dims.map(d => (d === -1 ? (Number.isInteger(inferred) ? inferred : -1) : d));
  }
  return dims;
}

function squeezeDims(dims: number[], axes: number[] | undefined, unsqueeze: boolean, bad: () => never): number[] {
  if (unsqueeze) {
    if (!axes || axes.length > 8) bad();
    const rank = dims.length + axes.length;
    const ax = new Set(axes.map(a => (a < 0 ? a + rank : a)));
    const out: number[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(ax.has(i) ? 1 : dims[k++]);
    if (out.some(d => d === undefined)) bad();
    return out;
  }
  if (!axes || !axes.length) return dims.filter(d => d !== 1);
  const ax = new Set(axes.map(a => (a < 0 ? a + dims.length : a)));
  if ([...ax].some(a => dims[a] !== 1 && dims[a] !== 0)) bad();
  return dims.filter((_, i) => !ax.has(i));
}

function transpose<T extends Float32Array | number[]>(src: T, dims: number[], perm: number[], make: (len: number) => T): T {
  const rank = dims.length, n = src.length;
  const out = make(n);
  const outDims = perm.map(p => dims[p]);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) { inStrides[i] = s; s *= dims[i]; }
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let off = 0;
    for (let i = 0; i < rank; i++) off += idx[i] * inStrides[perm[i]];
    out[o] = src[off];
    for (let i = rank - 1; i >= 0; i--) { if (++idx[i] < outDims[i]) break; idx[i] = 0; }
  }
  return out;
}

/** Dense kernel rows from ONNX's (c, h, w) flatten order to the core's (h, w, c). */
function chwRowsToHwc(k: Float32Array, f: { h: number; w: number; c: number }, M: number): Float32Array {
  const o = new Float32Array(k.length);
  const S = f.h * f.w;
  for (let c = 0; c < f.c; c++) for (let s = 0; s < S; s++) {
    const src = (c * S + s) * M, dst = (s * f.c + c) * M;
    o.set(k.subarray(src, src + M), dst);
  }
  return o;
}
