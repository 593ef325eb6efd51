/**
 * An ONNX file's bytes to plain, bounded structures (protobufjs over the vendored onnx.proto): the top-level
 * graph's nodes, initializers, inputs and outputs. Tensor values are not copied here; tensorFloats/tensorInts
 * read them when a layer needs them (raw_data at any byte offset, float_data, int64_data, external data).
 * Every malformed input is an OnnxError with a plain message, never a protobufjs stack.
 *
 * Bounded before anything is built: protobufjs turns every element of a repeated field into a JS value (an
 * int64 into a Long object of ~50 bytes), so a 30 MB file of one-byte varints once took 2 GB and a minute.
 * scanBudget walks the wire format first (no allocation) and refuses a file whose decoded structure would pass
 * MAX_DECODED_BYTES or whose graph has too many nodes or initializers; a tensor's packed values are kept as
 * views of the file's bytes (decodeTensor) and decoded only when a layer reads them, at the size its dims say.
 */
import * as protobuf from 'protobufjs';
import { ONNX_PROTO } from './protoText';

export class OnnxError extends Error {}

const root = new protobuf.Root();
protobuf.parse(ONNX_PROTO, root, { keepCase: true });
const ModelProto = root.lookupType('onnx.ModelProto');
const TensorProto = root.lookupType('onnx.TensorProto');
const StringEntry = root.lookupType('onnx.StringStringEntryProto');

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
export const MAX_INITIALIZERS = 200_000;
/**
 * What the decoded structure (messages, strings, numbers of repeated fields) may take in the extension host or
 * the CLI: a quarter of the default memoryLimitMB (1024). A real model's structure takes a few MB; its weights
 * are views of the file's bytes and are not counted here.
 */
export const MAX_DECODED_BYTES = 256 * 1024 * 1024;
/** A tensor's values written unpacked (not what ONNX writers do) become JS numbers: at most this many per tensor. */
export const MAX_UNPACKED_VALUES = 1 << 20;

export const DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16 } as const;
const DTYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DTYPE).map(([k, v]) => [v, k]));
export const dtypeName = (t: number) => DTYPE_NAMES[t] ?? `type ${t}`;
export const isFloatType = (t: number) => t === DTYPE.FLOAT || t === DTYPE.DOUBLE || t === DTYPE.FLOAT16 || t === DTYPE.BFLOAT16;
const BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

export interface ExternalRef { location: string; offset: number; length?: number }
/** A repeated numeric field of a tensor, in file order: packed runs as views of the file's bytes, values written one by one as numbers. */
export type TensorValues = (Uint8Array | number[])[];
/** TensorProto's numeric data fields: field number, wire encoding of one value, name. */
const DATA_FIELDS: Record<number, { enc: 'float' | 'double' | 'int32' | 'int64' | 'uint64'; name: string }> = {
  4: { enc: 'float', name: 'float_data' }, 5: { enc: 'int32', name: 'int32_data' }, 7: { enc: 'int64', name: 'int64_data' },
  10: { enc: 'double', name: 'double_data' }, 11: { enc: 'uint64', name: 'uint64_data' },
};
export interface OnnxTensor {
  name: string; dims: number[]; dtype: number; count: number;
  raw?: Uint8Array;
  /** By field number (4 float_data, 5 int32_data, 7 int64_data, 10 double_data, 11 uint64_data). */
  data: Map<number, TensorValues>;
  external?: ExternalRef;
}
export interface OnnxAttr { name: string; type: number; f?: number; i?: number; s?: string; t?: OnnxTensor; floats: number[]; ints: number[]; graphs: number }
export interface OnnxNode { name: string; op: string; domain: string; inputs: string[]; outputs: string[]; attrs: Map<string, OnnxAttr>; index: number }
/** A graph input/output: elemType and dims when declared; a dim is a size, a symbolic name, or null (unknown). */
export interface OnnxValueInfo { name: string; elemType?: number; dims?: (number | string | null)[] }
export interface OnnxGraph { name: string; nodes: OnnxNode[]; initializers: Map<string, OnnxTensor>; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[]; sparseInitializers: number }
export interface OnnxModel { irVersion: number; opset: number; producer: string; graph: OnnxGraph }

/** What decodeTensor makes of a TensorProto (in place of protobufjs's object). */
interface RawTensor { name: string; dims: number[]; rank: number; data_type: number; raw_data?: Uint8Array; data: Map<number, TensorValues>; external_data: Msg[]; data_location: number }

/**
 * TensorProto without materializing its values: dims kept up to MAX_RANK + 1 (the rest only counted), packed
 * data fields as views of the file's bytes, values written unpacked as numbers (their number is bounded by
 * scanBudget). Installed as TensorProto's decoder, so protobufjs calls it wherever a tensor appears.
 */
function decodeTensor(this: unknown, r0: protobuf.Reader | Uint8Array, length?: number): RawTensor {
  const r = r0 instanceof protobuf.Reader ? r0 : protobuf.Reader.create(r0);
  const end = length === undefined ? r.len : r.pos + length;
  if (end > r.len) throw new RangeError('index out of range');
  const t: RawTensor = { name: '', dims: [], rank: 0, data_type: 0, data: new Map(), external_data: [], data_location: 0 };
  const one = (enc: string): number => {
    switch (enc) {
      case 'float': return r.float();
      case 'double': return r.double();
      case 'int32': return r.int32();
      case 'int64': return num(r.int64());
      default: return num(r.uint64());
    }
  };
  while (r.pos < end) {
    const tag = r.uint32(), f = tag >>> 3, wt = tag & 7;
    const df = DATA_FIELDS[f];
    if (f === 1 && (wt === 0 || wt === 2)) {
      const dim = () => { const d = num(r.int64()); if (t.rank++ <= MAX_RANK) t.dims.push(d); };
      if (wt === 0) dim();
      else for (const stop = r.uint32() + r.pos; r.pos < stop;) dim();
    } else if (df && wt === 2) {
      const parts = t.data.get(f) ?? []; t.data.set(f, parts);
      parts.push(r.bytes());
    } else if (df && wt === (df.enc === 'float' ? 5 : df.enc === 'double' ? 1 : 0)) {
      const parts = t.data.get(f) ?? []; t.data.set(f, parts);
      let last = parts[parts.length - 1];
      if (!Array.isArray(last)) { last = []; parts.push(last); }
      last.push(one(df.enc));
    } else if (f === 2 && wt === 0) t.data_type = r.int32();
    else if (f === 8 && wt === 2) t.name = r.string();
    else if (f === 9 && wt === 2) t.raw_data = r.bytes();
    else if (f === 13 && wt === 2) t.external_data.push(StringEntry.decode(r, r.uint32()) as unknown as Msg);
    else if (f === 14 && wt === 0) t.data_location = r.int32();
    else r.skipType(wt);
  }
  if (r.pos !== end) throw new RangeError('index out of range');
  return t;
}
TensorProto.setup();
(TensorProto as unknown as { decode: typeof decodeTensor }).decode = decodeTensor;

function tensorOf(m0: Msg, where: string): OnnxTensor {
  const m = m0 as unknown as RawTensor;
  const name = m.name;
  if (m.rank > MAX_RANK) throw new OnnxError(`${where}: tensor "${name}" has rank ${m.rank} (at most ${MAX_RANK})`);
  const dims = m.dims;
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new OnnxError(`${where}: tensor "${name}" has an invalid dimension ${d}`);
    count *= d;
  }
  if (count > MAX_ELEMENTS) throw new OnnxError(`${where}: tensor "${name}" has ${count} elements (at most ${MAX_ELEMENTS})`);
  const dtype = m.data_type;
  const t: OnnxTensor = { name, dims, dtype, count, data: m.data };
  if (m.raw_data instanceof Uint8Array && m.raw_data.length) t.raw = m.raw_data;
  const ext = m.external_data;
  if (m.data_location === 1 || ext.length) {
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


// ---- the budget scan --------------------------------------------------------------------------------------

/** One field as the scan sees it: a message type, or a scalar and what each value costs once decoded. */
interface ScanField { name: string; msg?: ScanType; wire: number; cost: number; packable: boolean; varint: boolean }
interface ScanType { name: string; fields: Map<number, ScanField>; cost: number; nameField?: number }

/** Rough V8 sizes: an object with its arrays, a number in an array, a Long, a string, a Uint8Array view. */
const COST = { message: 64, array: 32, number: 8, long: 48, string: 32, view: 96 };
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const WIRE: Record<string, number> = { double: 1, float: 5, int32: 0, uint32: 0, sint32: 0, fixed32: 5, sfixed32: 5, int64: 0, uint64: 0, sint64: 0, fixed64: 1, sfixed64: 1, bool: 0, string: 2, bytes: 2 };

const scanTypes = new Map<protobuf.Type, ScanType>();
function scanTypeOf(t: protobuf.Type): ScanType {
  let st = scanTypes.get(t);
  if (st) return st;
  st = { name: t.name, fields: new Map(), cost: COST.message };
  scanTypes.set(t, st);
  for (const f of t.fieldsArray) {
    f.resolve();
    if (f.repeated) st.cost += COST.array;
    if (f.name === 'name') st.nameField = f.id;
    if (f.resolvedType instanceof protobuf.Type) { st.fields.set(f.id, { name: f.name, msg: scanTypeOf(f.resolvedType), wire: 2, cost: 0, packable: false, varint: false }); continue; }
    const type = f.resolvedType instanceof protobuf.Enum ? 'int32' : f.type;
    const wire = WIRE[type] ?? 2;
    // A tensor's data fields are decoded by decodeTensor: a packed run is one view, an unpacked value a number.
    const tensorData = t === TensorProto && (DATA_FIELDS[f.id] || f.id === 1);
    const cost = tensorData ? COST.number : type === 'string' ? COST.string : type === 'bytes' ? COST.view : LONG_TYPES.has(type) ? COST.long : COST.number;
    st.fields.set(f.id, { name: f.name, wire, cost, packable: f.repeated && wire !== 2, varint: wire === 0 });
  }
  return st;
}

const KIND: Record<string, string> = { TensorProto: 'tensor', NodeProto: 'node', GraphProto: 'graph', AttributeProto: 'attribute', ValueInfoProto: 'value', FunctionProto: 'function' };

class Budget {
  used = 0;
  constructor(readonly limit: number) {}
}

/** The `name` field of the message in b[start, end), if it has one (for the refusal's message). */
function nameIn(b: Uint8Array, start: number, end: number, field: number): string | undefined {
  let pos = start;
  try {
    while (pos < end) {
      const [tag, p] = varint32(b, pos); pos = p;
      const wt = tag & 7;
      if (wt === 2) {
        const [len, q] = varint32(b, pos);
        if ((tag >>> 3) === field) return Buffer.from(b.subarray(q, Math.min(q + len, q + 200, end))).toString('utf8');
        pos = q + len;
      } else pos = skipScalar(b, pos, wt);
    }
  } catch { /* a name is only a courtesy */ }
  return undefined;
}

const malformed = (why: string) => new OnnxError(`not an ONNX model: the protobuf data is malformed (${why})`);

function varint32(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= b.length) throw malformed('index out of range');
    const x = b[pos++];
    v += (x & 0x7f) * 2 ** shift;
    if (x < 0x80) return [v, pos];
  }
  throw malformed('invalid varint');
}

function skipScalar(b: Uint8Array, pos: number, wt: number): number {
  if (wt === 0) {
    for (let i = 0; i < 10; i++) { if (pos >= b.length) throw malformed('index out of range'); if (b[pos++] < 0x80) return pos; }
    throw malformed('invalid varint');
  }
  if (wt === 1) return pos + 8;
  if (wt === 5) return pos + 4;
  throw malformed(`invalid wire type ${wt}`);
}

/** How many varints a packed run holds (each ends with a byte below 0x80). */
function countVarints(b: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (b[i] < 0x80) n++;
  return n;
}

/**
 * Walks the message in b[start, end) as `type` without building anything, charging each message, number, string
 * and view that protobufjs would make; refuses past the budget (naming the innermost named message), and a
 * graph with more than MAX_NODES nodes or MAX_INITIALIZERS initializers.
 */
function scanMessage(b: Uint8Array, start: number, end: number, type: ScanType, budget: Budget, depth: number, outer: { type: ScanType; start: number; end: number }[]): void {
  if (depth > protobuf.util.recursionLimit) throw malformed('nested too deeply');
  const frames = [...outer, { type, start, end }];
  const charge = (cost: number, field: string) => {
    budget.used += cost;
    if (budget.used <= budget.limit) return;
    throw new OnnxError(`too large to read: decoding it would take more than ${budget.limit >= 2 ** 20 ? `${Math.round(budget.limit / 2 ** 20)} MB` : `${Math.round(budget.limit / 1024)} KB`} of memory (at ${where()}, field ${field})`);
  };
  /** The innermost enclosing message that has a name: `tensor "w"`, `node "conv1"`. */
  const where = () => {
    for (let i = frames.length - 1; i >= 0; i--) {
      const fr = frames[i];
      const name = fr.type.nameField !== undefined ? nameIn(b, fr.start, fr.end, fr.type.nameField) : undefined;
      if (name !== undefined) return `${KIND[fr.type.name] ?? fr.type.name} "${name}"`;
    }
    return 'the model';
  };
  let unpacked = 0;
  charge(type.cost, type.name);
  let nodes = 0, inits = 0;
  const isGraph = type.name === 'GraphProto';
  let pos = start;
  while (pos < end) {
    const [tag, p] = varint32(b, pos); pos = p;
    const id = tag >>> 3, wt = tag & 7;
    const f = type.fields.get(id);
    if (wt === 2) {
      const [len, q] = varint32(b, pos);
      const stop = q + len;
      if (stop > end) throw malformed('index out of range');
      if (f?.msg) {
        if (isGraph && id === 1 && ++nodes > MAX_NODES) throw new OnnxError(`the graph has more than ${MAX_NODES} nodes`);
        if (isGraph && id === 5 && ++inits > MAX_INITIALIZERS) throw new OnnxError(`the graph has more than ${MAX_INITIALIZERS} initializers`);
        scanMessage(b, q, stop, f.msg, budget, depth + 1, frames);
      } else if (f?.packable) {
        const tensorData = type.name === 'TensorProto' && DATA_FIELDS[id];
        const count = tensorData ? 0 : f.varint ? countVarints(b, q, stop) : Math.floor(len / (f.wire === 1 ? 8 : 4));
        charge(tensorData ? COST.view : count * f.cost, f.name);
      } else charge(f ? f.cost + (f.cost === COST.string ? len : 0) : COST.view, f?.name ?? `#${id}`);
      pos = stop;
    } else {
      pos = skipScalar(b, pos, wt);
      if (pos > end) throw malformed('index out of range');
      if (type.name === 'TensorProto' && DATA_FIELDS[id] && ++unpacked > MAX_UNPACKED_VALUES) {
        throw new OnnxError(`${where()}: its ${DATA_FIELDS[id].name} has more than ${MAX_UNPACKED_VALUES} values written one by one (ONNX writes them packed, or as raw_data)`);
      }
      // A known scalar field read as itself; anything else protobufjs keeps as an unknown field (a view).
      charge(f && !f.msg && f.wire === wt ? (f.packable ? f.cost : 0) : COST.view, f?.name ?? `#${id}`);
    }
  }
}

/** Refuses bytes whose decoded structure would pass `limit` bytes (see MAX_DECODED_BYTES). */
export function scanBudget(bytes: Uint8Array, limit = MAX_DECODED_BYTES): void {
  scanMessage(bytes, 0, bytes.length, scanTypeOf(ModelProto), new Budget(limit), 0, []);
}

/** Decodes a model; throws OnnxError for bytes that are not an ONNX model or too large to decode (scanBudget). */
export function decodeModel(bytes: Uint8Array, maxDecodedBytes = MAX_DECODED_BYTES): OnnxModel {
  scanBudget(bytes, maxDecodedBytes);
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

/** How many values a tensor's data field holds, without decoding them (a packed run of varints: its bytes below 0x80). */
function valueCount(t: OnnxTensor, field: number): number {
  const enc = DATA_FIELDS[field].enc;
  let n = 0;
  for (const part of t.data.get(field) ?? []) {
    if (Array.isArray(part)) { n += part.length; continue; }
    if (enc === 'float' || enc === 'double') {
      const size = enc === 'float' ? 4 : 8;
      if (part.length % size) throw new OnnxError(`tensor "${t.name}": its ${DATA_FIELDS[field].name} has ${part.length} bytes, not a whole number of values`);
      n += part.length / size;
    } else {
      if (part.length && part[part.length - 1] >= 0x80) throw new OnnxError(`tensor "${t.name}": its ${DATA_FIELDS[field].name} ends inside a value`);
      n += countVarints(part, 0, part.length);
    }
  }
  return n;
}

/** One varint of a packed run as int32/int64/uint64 (exact: BigInt past 49 bits, where a double would round). */
function varintValue(b: Uint8Array, pos: number, enc: string): [number, number] {
  let v = 0, i = 0;
  for (; i < 7; i++) { const x = b[pos + i]; v += (x & 0x7f) * 2 ** (7 * i); if (x < 0x80) break; }
  if (i < 7) return [enc === 'int32' ? v | 0 : v, pos + i + 1];
  let big = 0n;
  for (i = 0; i < 10; i++) { const x = b[pos + i]; big |= BigInt(x & 0x7f) << BigInt(7 * i); if (x < 0x80) break; }
  const val = enc === 'int32' ? BigInt.asIntN(32, big) : enc === 'int64' ? BigInt.asIntN(64, big) : BigInt.asUintN(64, big);
  return [Number(val), pos + i + 1];
}

/** Calls `put(i, value)` for each value of a tensor's data field, in order (valueCount has checked the runs). */
function readValues(t: OnnxTensor, field: number, put: (i: number, v: number) => void): void {
  const enc = DATA_FIELDS[field].enc;
  let i = 0;
  for (const part of t.data.get(field) ?? []) {
    if (Array.isArray(part)) { for (const v of part) put(i++, v); continue; }
    const dv = new DataView(part.buffer, part.byteOffset, part.byteLength);
    if (enc === 'float') for (let o = 0; o < part.length; o += 4) put(i++, dv.getFloat32(o, true));
    else if (enc === 'double') for (let o = 0; o < part.length; o += 8) put(i++, dv.getFloat64(o, true));
    else for (let o = 0; o < part.length;) { const [v, next] = varintValue(part, o, enc); put(i++, v); o = next; }
  }
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
  const field = t.dtype === DTYPE.FLOAT ? 4 : t.dtype === DTYPE.DOUBLE ? 10 : 5;
  const len = valueCount(t, field);
  if (len !== n) throw new OnnxError(`tensor "${t.name}" has ${len} values for its ${n} elements (shape [${t.dims.join(', ')}])`);
  const out = new Float32Array(n);
  const conv = t.dtype === DTYPE.FLOAT16 ? f16 : t.dtype === DTYPE.BFLOAT16 ? (v: number) => new Float32Array(new Uint32Array([v << 16]).buffer)[0] : (v: number) => v;
  readValues(t, field, (i, v) => { out[i] = conv(v); });
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
  const field = t.dtype === DTYPE.INT64 ? 7 : t.dtype === DTYPE.UINT64 || t.dtype === DTYPE.UINT32 ? 11 : 5;
  const len = valueCount(t, field);
  if (len !== n) throw new OnnxError(`tensor "${t.name}" has ${len} values for its ${n} elements (shape [${t.dims.join(', ')}])`);
  readValues(t, field, (i, v) => { out[i] = v; });
  return out;
}
