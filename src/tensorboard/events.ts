/**
 * Decoding of Event records (protobufjs over the project's .proto texts) into what the diagnosis reads:
 * scalars, histograms (old-style `histo` and new-style [k,3] "histograms" plugin tensors), texts; everything
 * else is named and skipped. Also the encoder the writer uses.
 */
import * as protobuf from 'protobufjs';
import { PROTO_TEXTS } from './protos';

const root = new protobuf.Root();
for (const text of Object.values(PROTO_TEXTS)) protobuf.parse(text, root, { keepCase: true });
root.resolveAll();
export const EventType = root.lookupType('tensorboard.Event');
export const DataType = root.lookupEnum('tensorboard.DataType').values;

/**
 * A histogram as the statistics read it. Edges are clipped to [min, max] (values never lie outside), so
 * bucket i spans [edges[i], edges[i+1]].
 */
export interface TbHistogram {
  min: number; max: number; num: number;
  sum: number; sumSquares: number;
  /** true when sum and sumSquares were written by the producer (old-style histo); false when estimated from buckets. */
  exactMoments: boolean;
  edges: Float64Array;
  counts: Float64Array;
}

export type TbValue =
  | { tag: string; kind: 'scalar'; value: number }
  | { tag: string; kind: 'histogram'; hist: TbHistogram }
  | { tag: string; kind: 'text'; text: string }
  /** Images, audio, graphs, unknown plugins: kept by name only. */
  | { tag: string; kind: 'other'; plugin: string };

export interface TbEvent {
  step: number;
  wallTime: number;
  fileVersion?: string;
  /** A SessionLog START: the writer restarted; TensorBoard drops earlier data at steps >= this one. */
  sessionStart?: boolean;
  values: TbValue[];
}

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/* eslint-disable @typescript-eslint/no-explicit-any */
/**
 * Decodes one record. `pluginByTag` carries, per file, the plugin of tags whose metadata came with an earlier
 * value (TF2 writers send SummaryMetadata only with a tag's first value). Throws on malformed protobuf.
 */
export function decodeEvent(data: Uint8Array, pluginByTag: Map<string, string>): TbEvent {
  const e = EventType.decode(data) as any;
  const out: TbEvent = { step: num(e.step), wallTime: e.wall_time ?? 0, values: [] };
  if (e.file_version) out.fileVersion = e.file_version;
  if (e.session_log && e.session_log.status === 1) out.sessionStart = true;
  const values: any[] = e.summary?.value ?? [];
  for (const v of values) {
    const tag: string = v.tag || v.node_name || '';
    let plugin: string | undefined = v.metadata?.plugin_data?.plugin_name;
    if (plugin) pluginByTag.set(tag, plugin); else plugin = pluginByTag.get(tag);
    const value = decodeValue(tag, v, plugin);
    if (value) out.values.push(value);
  }
  return out;
}

function decodeValue(tag: string, v: any, plugin: string | undefined): TbValue | null {
  if (v.simple_value != null && v.value === 'simple_value') return { tag, kind: 'scalar', value: v.simple_value };
  if (v.histo) return histoValue(tag, v.histo);
  if (v.tensor) {
    const t = v.tensor;
    if (plugin === 'histograms') {
      const h = histogramFromTensor(t);
      return h ? { tag, kind: 'histogram', hist: h } : { tag, kind: 'other', plugin };
    }
    if (plugin === 'scalars') {
      const vals = tensorNumbers(t);
      return vals && vals.length === 1 ? { tag, kind: 'scalar', value: vals[0] } : { tag, kind: 'other', plugin };
    }
    if (plugin === 'text' && t.string_val?.length) {
      return { tag, kind: 'text', text: Buffer.from(t.string_val[0]).toString('utf8') };
    }
    return { tag, kind: 'other', plugin: plugin ?? 'tensor' };
  }
  if (v.image) return { tag, kind: 'other', plugin: 'images' };
  if (v.audio) return { tag, kind: 'other', plugin: 'audio' };
  return { tag, kind: 'other', plugin: plugin ?? 'unknown' };
}

function histoValue(tag: string, h: any): TbValue | null {
  const limits: number[] = h.bucket_limit ?? [];
  const buckets: number[] = h.bucket ?? [];
  const k = Math.min(limits.length, buckets.length);
  const min: number = h.min ?? 0, max: number = h.max ?? 0;
  const edges = new Float64Array(k + 1);
  const counts = new Float64Array(k);
  edges[0] = min;
  for (let i = 0; i < k; i++) {
    const l = limits[i];
    edges[i + 1] = l < min ? min : l > max ? max : l;
    counts[i] = buckets[i];
  }
  if (k > 0) edges[k] = Math.max(edges[k], max);
  return { tag, kind: 'histogram', hist: { min, max, num: h.num ?? 0, sum: h.sum ?? 0, sumSquares: h.sum_squares ?? 0, exactMoments: true, edges, counts } };
}

/** A [k,3] tensor of (left, right, count) rows, as TF2's tf.summary.histogram writes. */
export function histogramFromTensor(t: any): TbHistogram | null {
  const dims: number[] = (t.tensor_shape?.dim ?? []).map((d: any) => num(d.size));
  if (dims.length !== 2 || dims[1] !== 3 || dims[0] === 0) return null;
  const vals = tensorNumbers(t);
  if (!vals || vals.length !== dims[0] * 3) return null;
  const k = dims[0];
  const edges = new Float64Array(k + 1);
  const counts = new Float64Array(k);
  let n = 0, sum = 0, sumSquares = 0;
  edges[0] = vals[0];
  for (let i = 0; i < k; i++) {
    const left = vals[3 * i], right = vals[3 * i + 1], c = vals[3 * i + 2];
    edges[i + 1] = right;
    counts[i] = c;
    // Values spread uniformly in the bucket: E[x] = mid, E[x^2] = mid^2 + w^2/12.
    const mid = (left + right) / 2, w = right - left;
    n += c; sum += c * mid; sumSquares += c * (mid * mid + (w * w) / 12);
  }
  return { min: vals[0], max: vals[3 * (k - 1) + 1], num: n, sum, sumSquares, exactMoments: false, edges, counts };
}

/** The numbers of a numeric tensor (tensor_content or the typed *_val fields); null for other dtypes. */
export function tensorNumbers(t: any): Float64Array | null {
  const content: Uint8Array | undefined = t.tensor_content?.length ? t.tensor_content : undefined;
  const dtype: number = t.dtype ?? 0;
  if (content) {
    const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
    const width = dtype === DataType.DT_DOUBLE || dtype === DataType.DT_INT64 ? 8
      : dtype === DataType.DT_FLOAT || dtype === DataType.DT_INT32 ? 4 : dtype === DataType.DT_HALF ? 2 : 0;
    if (!width) return null;
    const n = Math.floor(content.byteLength / width);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * width;
      out[i] = dtype === DataType.DT_DOUBLE ? view.getFloat64(o, true)
        : dtype === DataType.DT_FLOAT ? view.getFloat32(o, true)
          : dtype === DataType.DT_INT32 ? view.getInt32(o, true)
            : dtype === DataType.DT_INT64 ? Number(view.getBigInt64(o, true))
              : halfToNumber(view.getUint16(o, true));
    }
    return out;
  }
  const list: any[] | undefined =
    t.double_val?.length ? t.double_val : t.float_val?.length ? t.float_val : t.int_val?.length ? t.int_val
      : t.int64_val?.length ? t.int64_val : undefined;
  if (list) return Float64Array.from(list, x => num(x));
  if (t.half_val?.length) return Float64Array.from(t.half_val as number[], halfToNumber);
  return null;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Encodes an Event from a plain object with the .proto's field names (snake_case). */
export function encodeEvent(event: Record<string, unknown>): Uint8Array {
  return EventType.encode(EventType.fromObject(event)).finish();
}
