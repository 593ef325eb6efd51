/**
 * An ONNX file's bytes to plain, bounded structures (protobufjs over the vendored onnx.proto): the top-level
 * graph's nodes, initializers, inputs and outputs. Tensor values are not copied here; tensorFloats/tensorInts
 * read them when a layer needs them (raw_data at any byte offset, float_data, int64_data, external data).
 * Every malformed input is an OnnxError with a plain message, never a protobufjs stack.
 */
import * as protobuf from 'protobufjs';
import { ONNX_PROTO } from './protoText';

export class OnnxError extends Error {}

const root = new protobuf.Root();
protobuf.parse(ONNX_PROTO, root, { keepCase: true });
const ModelProto = root.lookupType('onnx.ModelProto');

type Long = { toNumber(): number };
type Msg = Record<string, unknown>;
const num = (v: unknown): number => (v == null ? 0 : typeof v === 'number' ? v : typeof (v as Long).toNumber === 'function' ? (v as Long).toNumber() : Number(v));
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = (v: unknown): Msg[] => (Array.isArray(v) ? v as Msg[] : []);
const has = (m: Msg, k: string) => Object.prototype.hasOwnProperty.call(m, k);

/** Limits far above any network Activation Lens can train, far below what exhausts memory. */
export const MAX_NODES = 100_000;
export const MAX_RANK = 8;
export const MAX_ELEMENTS = 2 ** 31 - 1;

export const DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16 } as const;
const DTYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DTYPE).map(([k, v]) => [v, k]));
export const dtypeName = (t: number) => DTYPE_NAMES[t] ?? `type ${t}`;
export const isFloatType = (t: number) => t === DTYPE.FLOAT || t === DTYPE.DOUBLE || t === DTYPE.FLOAT16 || t === DTYPE.BFLOAT16;
const BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

export interface ExternalRef { location: string; offset: number; length?: number }
export interface OnnxTensor {
  name: string; dims: number[]; dtype: number; count: number;
  raw?: Uint8Array; floatData?: number[]; int32Data?: number[]; int64Data?: unknown[]; doubleData?: number[]; uint64Data?: unknown[];
  external?: ExternalRef;
}
export interface OnnxAttr { name: string; type: number; f?: number; i?: number; s?: string; t?: OnnxTensor; floats: number[]; ints: number[]; graphs: number }
export interface OnnxNode { name: string; op: string; domain: string; inputs: string[]; outputs: string[]; attrs: Map<string, OnnxAttr>; index: number }
/** A graph input/output: elemType and dims when declared; a dim is a size, a symbolic name, or null (unknown). */
export interface OnnxValueInfo { name: string; elemType?: number; dims?: (number | string | null)[] }
export interface OnnxGraph { name: string; nodes: OnnxNode[]; initializers: Map<string, OnnxTensor>; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[]; sparseInitializers: number }
export interface OnnxModel { irVersion: number; opset: number; producer: string; graph: OnnxGraph }

function tensorOf(m: Msg, where: string): OnnxTensor {
  const name = str(m.name);
  const rawDims = Array.isArray(m.dims) ? m.dims : [];
  if (rawDims.length > MAX_RANK) throw new OnnxError(`${where}: tensor "${name}" has rank ${rawDims.length} (at most ${MAX_RANK})`);
  const dims = rawDims.map(num);
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new OnnxError(`${where}: tensor "${name}" has an invalid dimension ${d}`);
    count *= d;
  }
  if (count > MAX_ELEMENTS) throw new OnnxError(`${where}: tensor "${name}" has ${count} elements (at most ${MAX_ELEMENTS})`);
  const dtype = num(m.data_type);
  const t: OnnxTensor = { name, dims, dtype, count };
  if (m.raw_data instanceof Uint8Array && m.raw_data.length) t.raw = m.raw_data;
  const arr = (k: string) => (Array.isArray(m[k]) && (m[k] as unknown[]).length ? m[k] as never : undefined);
  t.floatData = arr('float_data'); t.int32Data = arr('int32_data'); t.int64Data = arr('int64_data');
  t.doubleData = arr('double_data'); t.uint64Data = arr('uint64_data');
  const ext = list(m.external_data);
  if (num(m.data_location) === 1 || ext.length) {
    const kv = new Map(ext.map(e => [str(e.key), str(e.value)]));
    const location = kv.get('location') ?? '';
    const offset = Number(kv.get('offset') ?? 0), length = kv.has('length') ? Number(kv.get('length')) : undefined;
    if (!location) throw new OnnxError(`${where}: tensor "${name}" is stored externally but names no location`);
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      throw new OnnxError(`${where}: tensor "${name}" has an invalid external offset or length`);
    }
    t.external = { location, offset, length };
  }
  return t;
}

function attrOf(m: Msg, where: string): OnnxAttr {
  const a: OnnxAttr = { name: str(m.name), type: num(m.type), floats: [], ints: [], graphs: 0 };
  if (has(m, 'f')) a.f = Number(m.f);
  if (has(m, 'i')) a.i = num(m.i);
  if (m.s instanceof Uint8Array && m.s.length <= 4096) a.s = Buffer.from(m.s).toString('utf8');
  if (m.t && typeof m.t === 'object') a.t = tensorOf(m.t as Msg, where);
  if (Array.isArray(m.floats)) a.floats = (m.floats as unknown[]).slice(0, 4096).map(Number);
  if (Array.isArray(m.ints)) a.ints = (m.ints as unknown[]).slice(0, 4096).map(num);
  a.graphs = (m.g ? 1 : 0) + list(m.graphs).length;
  // IR version 1 files have no type: infer it from the field that is set.
  if (!a.type) a.type = a.t ? 4 : a.graphs ? 5 : a.s !== undefined ? 3 : a.ints.length ? 7 : a.floats.length ? 6 : a.i !== undefined ? 2 : a.f !== undefined ? 1 : 0;
  return a;
}

function valueInfoOf(m: Msg): OnnxValueInfo {
  const v: OnnxValueInfo = { name: str(m.name) };
  const tt = (m.type as Msg | undefined)?.tensor_type as Msg | undefined;
  if (!tt) return v;
  if (has(tt, 'elem_type')) v.elemType = num(tt.elem_type);
  const shape = tt.shape as Msg | undefined;
  if (shape) {
    v.dims = list(shape.dim).slice(0, MAX_RANK + 1).map(d => (has(d, 'dim_value') ? num(d.dim_value) : has(d, 'dim_param') && str(d.dim_param) ? str(d.dim_param) : null));
  }
  return v;
}

/** Decodes a model; throws OnnxError for bytes that are not an ONNX model. */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  let m: Msg;
  try {
    m = ModelProto.decode(bytes) as unknown as Msg;
  } catch (e) {
    const why = e instanceof RangeError && !/index out of range/.test(e.message) ? 'nested too deeply' : String((e as Error).message).replace(/ \(.*\)$/, '');
    throw new OnnxError(`not an ONNX model: the protobuf data is malformed (${why})`);
  }
  const g = m.graph as Msg | undefined;
  if (!g || !has(m, 'graph')) throw new OnnxError('not an ONNX model: it has no graph');
  const opsets = list(m.opset_import);
  const onnxSet = opsets.find(o => str(o.domain) === '' || str(o.domain) === 'ai.onnx');
  const nodesRaw = list(g.node);
  if (nodesRaw.length > MAX_NODES) throw new OnnxError(`the graph has ${nodesRaw.length} nodes (at most ${MAX_NODES})`);
  const nodes = nodesRaw.map((n, index): OnnxNode => {
    const name = str(n.name);
    const op = str(n.op_type);
    const where = `node ${name || `#${index}`} (${op || '?'})`;
    const attrs = new Map<string, OnnxAttr>();
    for (const a of list(n.attribute)) { const at = attrOf(a, where); attrs.set(at.name, at); }
    return { name, op, domain: str(n.domain), inputs: (Array.isArray(n.input) ? n.input : []).map(str), outputs: (Array.isArray(n.output) ? n.output : []).map(str), attrs, index };
  });
  const initializers = new Map<string, OnnxTensor>();
  for (const t of list(g.initializer)) { const x = tensorOf(t, 'initializer'); initializers.set(x.name, x); }
  const producer = [str(m.producer_name), str(m.producer_version)].filter(Boolean).join(' ');
  return {
    irVersion: num(m.ir_version), opset: onnxSet ? num(onnxSet.version) : 1, producer,
    graph: { name: str(g.name), nodes, initializers, inputs: list(g.input).map(valueInfoOf), outputs: list(g.output).map(valueInfoOf), sparseInitializers: list(g.sparse_initializer).length },
  };
}

// ---- tensor values -----------------------------------------------------------------------------------------

/** Reads `length` bytes at `offset` of a sidecar file named by an external tensor (only beside the model). */
export type ExternalReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function bytesOf(t: OnnxTensor, ext: ExternalReader | undefined): Uint8Array | undefined {
  if (t.external) {
    if (!ext) throw new OnnxError(`tensor "${t.name}" is stored in an external file (${t.external.location}) that cannot be read here`);
    return ext(t.external.location, t.external.offset, t.external.length ?? t.count * (BYTES[t.dtype] ?? 1));
  }
  return t.raw;
}

/** The values of a floating-point tensor as float32, in row-major order. */
export function tensorFloats(t: OnnxTensor, ext?: ExternalReader): Float32Array {
  const n = t.count;
  const raw = bytesOf(t, ext);
  const size = BYTES[t.dtype];
  if (!isFloatType(t.dtype)) throw new OnnxError(`tensor "${t.name}" holds ${dtypeName(t.dtype)} values where floating-point weights are expected`);
  if (raw) {
    if (raw.length !== n * size) throw new OnnxError(`tensor "${t.name}" has ${raw.length} bytes of data for ${n} ${dtypeName(t.dtype)} values (expected ${n * size})`);
    // raw_data often starts at an offset that is not a multiple of 4: read through a DataView, never a typed-array view.
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(n);
    if (t.dtype === DTYPE.FLOAT) for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
    else if (t.dtype === DTYPE.DOUBLE) for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
    else if (t.dtype === DTYPE.FLOAT16) for (let i = 0; i < n; i++) out[i] = f16(dv.getUint16(i * 2, true));
    else for (let i = 0; i < n; i++) out[i] = new Float32Array(new Uint32Array([dv.getUint16(i * 2, true) << 16]).buffer)[0];
    return out;
  }
  const src = t.dtype === DTYPE.FLOAT ? t.floatData : t.dtype === DTYPE.DOUBLE ? t.doubleData : t.int32Data;
  const len = src?.length ?? 0;
  if (len !== n) throw new OnnxError(`tensor "${t.name}" has ${len} values for its ${n} elements (shape [${t.dims.join(', ')}])`);
  const out = new Float32Array(n);
  if (t.dtype === DTYPE.FLOAT16) for (let i = 0; i < n; i++) out[i] = f16(src![i]);
  else if (t.dtype === DTYPE.BFLOAT16) for (let i = 0; i < n; i++) out[i] = new Float32Array(new Uint32Array([src![i] << 16]).buffer)[0];
  else for (let i = 0; i < n; i++) out[i] = src![i];
  return out;
}

/** Integer tensors (shapes, axes, indices) are small; a larger one is not plumbing. */
export const MAX_INT_ELEMENTS = 1 << 16;

/** The values of an integer (or float) tensor as numbers. */
export function tensorInts(t: OnnxTensor, ext?: ExternalReader): number[] {
  const n = t.count;
  if (n > MAX_INT_ELEMENTS) throw new OnnxError(`tensor "${t.name}" has ${n} elements: too many for a shape or index tensor`);
  if (isFloatType(t.dtype)) return Array.from(tensorFloats(t, ext));
  const raw = bytesOf(t, ext);
  const size = BYTES[t.dtype];
  if (!size) throw new OnnxError(`tensor "${t.name}" holds ${dtypeName(t.dtype)} values where numbers are expected`);
  const out: number[] = new Array(n);
  if (raw) {
    if (raw.length !== n * size) throw new OnnxError(`tensor "${t.name}" has ${raw.length} bytes of data for ${n} ${dtypeName(t.dtype)} values`);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) {
      switch (t.dtype) {
        case DTYPE.INT64: out[i] = Number(dv.getBigInt64(i * 8, true)); break;
        case DTYPE.UINT64: out[i] = Number(dv.getBigUint64(i * 8, true)); break;
        case DTYPE.INT32: out[i] = dv.getInt32(i * 4, true); break;
        case DTYPE.UINT32: out[i] = dv.getUint32(i * 4, true); break;
        case DTYPE.INT16: out[i] = dv.getInt16(i * 2, true); break;
        case DTYPE.UINT16: out[i] = dv.getUint16(i * 2, true); break;
        case DTYPE.INT8: out[i] = dv.getInt8(i); break;
        default: out[i] = dv.getUint8(i);
      }
    }
    return out;
  }
  const src = t.dtype === DTYPE.INT64 ? t.int64Data : t.dtype === DTYPE.UINT64 || t.dtype === DTYPE.UINT32 ? t.uint64Data : t.int32Data;
  const len = src?.length ?? 0;
  if (len !== n) throw new OnnxError(`tensor "${t.name}" has ${len} values for its ${n} elements (shape [${t.dims.join(', ')}])`);
  for (let i = 0; i < n; i++) out[i] = num(src![i]);
  return out;
}
