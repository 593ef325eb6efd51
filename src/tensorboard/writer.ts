/**
 * Writes TensorBoard event files the way TensorFlow and PyTorch do, so the project can produce test data, the
 * benchmark's input and event logs of its own runs. Old-style histograms use TensorFlow's default bucket
 * limits (trimmed like PyTorch's add_histogram); new-style ones are TF2's [k,3] "histograms" tensors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeEvent } from './events';
import { frameRecord } from './tfrecord';

/** TensorFlow's default histogram bucket limits: +-1e-12 * 1.1^k up to 1e20, 0, and DBL_MAX last. */
export const DEFAULT_BUCKET_LIMITS: Float64Array = (() => {
  const pos: number[] = [];
  for (let v = 1e-12; v < 1e20; v *= 1.1) pos.push(v);
  return Float64Array.from([...pos.map(v => -v).reverse(), 0, ...pos, Number.MAX_VALUE]);
})();

/** HistogramProto fields (snake_case, as encoded). */
export interface HistogramProtoFields {
  min: number; max: number; num: number; sum: number; sum_squares: number;
  bucket_limit: number[]; bucket: number[];
}

/**
 * Old-style histogram of values: bucket b counts values in [limit[b-1], limit[b]) as TensorFlow's
 * Histogram::Add does (so a relu's zeros land in [0, 1e-12)), trimmed to the non-empty range plus one empty
 * bucket on the left, like torch.utils.tensorboard.
 */
export function histogramOf(values: ArrayLike<number>, limits: Float64Array = DEFAULT_BUCKET_LIMITS): HistogramProtoFields {
  const counts = new Float64Array(limits.length);
  let min = Infinity, max = -Infinity, sum = 0, sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v; sumSquares += v * v;
    let lo = 0, hi = limits.length - 1; // first limit > v
    while (lo < hi) { const mid = (lo + hi) >> 1; if (limits[mid] > v) hi = mid; else lo = mid + 1; }
    counts[lo]++;
  }
  let first = 0, last = counts.length - 1;
  while (first < last && counts[first] === 0) first++;
  while (last > first && counts[last] === 0) last--;
  first = Math.max(0, first - 1);
  return {
    min: values.length ? min : 0, max: values.length ? max : 0, num: values.length, sum, sum_squares: sumSquares,
    bucket_limit: Array.from(limits.subarray(first, last + 1)), bucket: Array.from(counts.subarray(first, last + 1)),
  };
}

/** TF2's histogram tensor: k equal buckets over [min, max], rows (left, right, count). */
export function histogramTensorOf(values: ArrayLike<number>, k = 30): { rows: Float64Array; k: number } {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) { const v = values[i]; if (v < min) min = v; if (v > max) max = v; }
  const rows = new Float64Array(k * 3);
  const width = (max - min) / k;
  for (let b = 0; b < k; b++) { rows[3 * b] = min + b * width; rows[3 * b + 1] = b === k - 1 ? max : min + (b + 1) * width; }
  for (let i = 0; i < values.length; i++) {
    const b = width > 0 ? Math.min(k - 1, Math.floor((values[i] - min) / width)) : 0;
    rows[3 * b + 2]++;
  }
  return { rows, k };
}

export interface WriterOptions {
  /** Appended to the file name (PyTorch's filename_suffix). */
  fileSuffix?: string;
  /** Seconds since the epoch for wall_time; default the clock. */
  wallTime?: () => number;
  /** Exact file name instead of events.out.tfevents.<time>.<host><suffix>. */
  fileName?: string;
}

/** One event file. Events are buffered; flush() appends them (each flush is one write). */
export class EventFileWriter {
  readonly path: string;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly pluginSent = new Set<string>();
  private readonly wallTime: () => number;

  constructor(logdir: string, opts: WriterOptions = {}) {
    fs.mkdirSync(logdir, { recursive: true });
    this.wallTime = opts.wallTime ?? (() => Date.now() / 1000);
    const name = opts.fileName ?? `events.out.tfevents.${Math.floor(this.wallTime())}.${os.hostname()}${opts.fileSuffix ?? ''}`;
    this.path = path.join(logdir, name);
    fs.writeFileSync(this.path, '');
    this.write({ file_version: 'brain.Event:2' });
    this.flush();
  }

  /** Any Event (snake_case fields); wall_time defaults to now. */
  write(event: Record<string, unknown>): void {
    const rec = frameRecord(encodeEvent({ wall_time: this.wallTime(), ...event }));
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    if (this.pendingBytes > 1 << 20) this.flush();
  }

  scalar(tag: string, value: number, step: number): void {
    this.write({ step, summary: { value: [{ tag, simple_value: value }] } });
  }

  /** Old-style `histo` of raw values (PyTorch add_histogram, TF1). */
  histogram(tag: string, values: ArrayLike<number>, step: number): void {
    this.histogramProto(tag, histogramOf(values), step);
  }

  histogramProto(tag: string, histo: HistogramProtoFields, step: number): void {
    this.write({ step, summary: { value: [{ tag, histo }] } });
  }

  /** New-style TF2 histogram tensor; plugin metadata only with a tag's first value, as TF2 does. */
  histogramTensor(tag: string, values: ArrayLike<number>, step: number, k = 30): void {
    const { rows } = histogramTensorOf(values, k);
    this.tensor(tag, 'histograms', rows, [k, 3], step);
  }

  /** A DT_DOUBLE tensor summary under any plugin name. */
  tensor(tag: string, plugin: string, data: Float64Array, shape: number[], step: number): void {
    const tensor = { dtype: 2, tensor_shape: { dim: shape.map(size => ({ size })) },
      tensor_content: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
    this.write({ step, summary: { value: [{ tag, tensor, ...this.metadata(tag, plugin) }] } });
  }

  /** A text summary (plugin "text", DT_STRING scalar), as add_text writes. */
  text(tag: string, text: string, step: number): void {
    const tensor = { dtype: 7, tensor_shape: {}, string_val: [Buffer.from(text, 'utf8')] };
    this.write({ step, summary: { value: [{ tag, tensor, ...this.metadata(tag, 'text') }] } });
  }

  /** SessionLog START: a restarted writer (TensorBoard then drops older data at steps >= step). */
  sessionStart(step: number): void {
    this.write({ step, session_log: { status: 1 } });
  }

  flush(): void {
    if (this.pending.length === 0) return;
    fs.appendFileSync(this.path, Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  close(): void { this.flush(); }

  private metadata(tag: string, plugin: string): { metadata?: unknown } {
    if (this.pluginSent.has(tag)) return {};
    this.pluginSent.add(tag);
    return { metadata: { plugin_data: { plugin_name: plugin } } };
  }
}
