/**
 * Seeded fuzzing of the ONNX importer: 2,000 mutations of the corpus and generated fixtures (truncation,
 * byte flips, inserted junk and huge varints, and decoded-then-re-encoded hostile variants: huge and negative
 * dims, wrong data types, cycles, missing inputs, dropped nodes, absurd attributes). Every buffer gets an
 * answer (a config or problems), never an exception, in under 200 ms of CPU, with bounded memory.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { importOnnx, onnxWeights } from '../../../src/config/onnx';
import { ONNX_PROTO } from '../../../src/config/onnx/protoText';
import { Rng } from '../../../src/core/rng';

const FIX = path.join(__dirname, '../../fixtures/onnx');
const INPUTS = 2000;
const LIMIT_MS = 200;

function cpuMs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

const T = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
type M = { graph: { node: { input: string[]; output: string[]; op_type: string; attribute: { name: string; i?: number; ints?: number[]; f?: number; type?: number }[] }[]; initializer: { dims: number[]; data_type: number; raw_data?: Uint8Array }[]; input: unknown[]; output: unknown[] } };

// The 1 MB file 01 is a seed for the byte-level mutations only (re-encoding it 2,000 times would test protobufjs).
const files = [...['corpus', 'generated'].flatMap(d => fs.readdirSync(path.join(FIX, d)).filter(f => f.endsWith('.onnx')).map(f => path.join(FIX, d, f)))];
const seeds = files.map(f => ({ name: path.basename(f), bytes: new Uint8Array(fs.readFileSync(f)), big: fs.statSync(f).size > 100_000 }));

function structural(rng: Rng, bytes: Uint8Array, kind: number): Uint8Array {
  const m = T.decode(bytes) as unknown as M;
  const g = m.graph;
  const pick = <X>(a: X[]): X | undefined => (a.length ? a[rng.int(a.length)] : undefined);
  const node = pick(g.node), init = pick(g.initializer);
  switch (kind) {
    case 0: if (init) init.dims = [2 ** 40, 3]; break; // huge dims
    case 1: if (init) init.dims = [1e9, 1e9, 1e9]; break;
    case 2: if (init) init.dims = [-1, 5]; break;
    case 3: if (init) init.data_type = pick([0, 7, 8, 9, 10, 11, 16, 99])!; break; // wrong types
    case 4: if (node && g.node.length > 1) node.input = [g.node[g.node.length - 1].output[0], ...node.input.slice(1)]; break; // cycle
    case 5: if (node) node.input = node.input.map(i => (rng.next() < 0.5 ? `missing_${i}` : i)); break;
    case 6: if (g.node.length) g.node.splice(rng.int(g.node.length), 1); break; // dropped node
    case 7: if (node) node.attribute.push({ name: pick(['pads', 'strides', 'kernel_shape', 'axis', 'perm', 'group', 'dilations', 'alpha'])!, type: 7, ints: [2 ** 40, -5, 0, 1e12] }); break;
    case 8: if (node) node.op_type = pick(['LSTM', 'Loop', '', 'Conv', 'Gemm', 'Reshape', 'Softmax', 'Transpose', 'Concat', 'Gather'])!; break;
    case 9: if (init && init.raw_data instanceof Uint8Array && init.raw_data.length) init.raw_data = init.raw_data.subarray(0, rng.int(init.raw_data.length + 1) + 1); break;
    case 10: for (let i = 0; i < 200 && node; i++) g.node.push({ ...node, output: [`dup_${i}`] }); break; // many consumers
    case 11: g.input = []; break;
    default: g.output = [...g.output, ...g.output]; break;
  }
  return T.encode(m as never).finish();
}

function mutate(rng: Rng, s: { bytes: Uint8Array; big: boolean }): { bytes: Uint8Array; kind: string } {
  const b = s.bytes;
  const kind = rng.int(s.big ? 5 : 9);
  const pos = () => rng.int(b.length + 1);
  switch (kind) {
    case 0: return { kind: 'truncate', bytes: b.subarray(0, pos()) };
    case 1: {
      const c = Uint8Array.from(b);
      for (let i = 0, n = 1 + rng.int(16); i < n; i++) c[rng.int(c.length)] = rng.int(256);
      return { kind: 'flip', bytes: c };
    }
    case 2: {
      const p = pos(), junk = Uint8Array.from({ length: 1 + rng.int(64) }, () => rng.int(256));
      return { kind: 'insert', bytes: Buffer.concat([b.subarray(0, p), junk, b.subarray(p)]) };
    }
    case 3: { // a length prefix claiming gigabytes
      const p = pos();
      return { kind: 'huge-varint', bytes: Buffer.concat([b.subarray(0, p), Uint8Array.of(0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f), b.subarray(p)]) };
    }
    case 4: return { kind: 'junk', bytes: Uint8Array.from({ length: rng.int(4096) }, () => rng.int(256)) };
    default: {
      const k = rng.int(13);
      return { kind: `structural-${k}`, bytes: structural(rng, b, k) };
    }
  }
}

describe('ONNX importer fuzzing', function () {
  this.timeout(300_000);

  it(`${INPUTS} mutated ONNX buffers each get a clean answer in under ${LIMIT_MS} ms of CPU`, () => {
    const rng = new Rng(20240514);
    const slow: string[] = [];
    const kinds = new Map<string, number>();
    const heap0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < INPUTS; i++) {
      const s = seeds[i % seeds.length];
      const { bytes, kind } = mutate(rng, s);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      const file = path.join(FIX, 'generated', `fuzz-${i}.onnx`);
      const ms = cpuMs(() => {
        let r;
        try {
          r = importOnnx(bytes, file);
          if (r.config) onnxWeights(bytes, file);
        } catch (e) {
          assert.fail(`input ${i} (${kind} of ${s.name}) threw: ${(e as Error).stack}`);
        }
        assert.ok(r.config || r.problems.some(p => p.severity === 'error'), `input ${i}: neither a config nor an error`);
        for (const p of r.problems) {
          assert.ok(p.message.length > 0 && p.message.length <= 400, `input ${i}: message length ${p.message.length}`);
          assert.doesNotMatch(p.message, /\n\s+at /, `input ${i}: a stack trace in the message`);
        }
      });
      if (ms > LIMIT_MS) slow.push(`${i} ${kind} of ${s.name}: ${ms.toFixed(0)} ms`);
    }
    assert.deepEqual(slow, []);
    assert.ok(kinds.size >= 15, `mutation kinds exercised: ${[...kinds.keys()].join(', ')}`);
    const grown = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
    assert.ok(grown < 512, `heap grew ${grown.toFixed(0)} MB`);
  });
});
