/**
 * The ONNX importer's memory bounds (decode.ts): a tensor's packed values stay views of the file's bytes and
 * are decoded at the size its dims say; values written unpacked, a graph's nodes and the decoded structure as
 * a whole are counted on the wire before protobufjs builds anything, and refused with the place named.
 * Inputs are written byte by byte here (protobuf wire format), expected values are the ones encoded.
 */
import { strict as assert } from 'node:assert';
import { decodeModel, MAX_NODES, MAX_UNPACKED_VALUES, OnnxError, tensorFloats, tensorInts } from '../../../src/config/onnx/decode';

function varint(v: bigint | number): number[] {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do { const b = Number(n & 0x7fn); n >>= 7n; out.push(n ? b | 0x80 : b); } while (n);
  return out;
}
const field = (id: number, wt: number, payload: number[]) => [...varint((id << 3) | wt), ...(wt === 2 ? varint(payload.length) : []), ...payload];
const str = (s: string) => [...Buffer.from(s)];
/** ModelProto { ir_version 7, opset 13, graph }. */
const model = (graph: number[]) => Uint8Array.from([...field(1, 0, varint(7)), ...field(8, 2, field(2, 0, varint(13))), ...field(7, 2, graph)]);
const floats = (xs: number[]) => [...Buffer.from(Float32Array.from(xs).buffer)];

/** A tensor in a graph in a model, its fields before and after a big run written straight into the buffer. */
function bigModel(head: number[], run: Uint8Array, tail: number[]): Uint8Array {
  const tensorLen = head.length + run.length + tail.length;
  const graphHead = [...varint((5 << 3) | 2), ...varint(tensorLen)];
  const graphLen = graphHead.length + tensorLen;
  const modelHead = [...field(1, 0, varint(7)), ...field(8, 2, field(2, 0, varint(13))), ...varint((7 << 3) | 2), ...varint(graphLen)];
  const out = new Uint8Array(modelHead.length + graphLen);
  let o = 0;
  for (const part of [modelHead, graphHead, head]) { out.set(part, o); o += part.length; }
  out.set(run, o); o += run.length;
  out.set(tail, o);
  return out;
}

describe('ONNX importer bounds', function () {
  this.timeout(30000);

  it('packed float_data stays a view of the file and reads back the encoded values', () => {
    const xs = [1.5, -2, 0.25, 3e-7, 1024];
    const tensor = [...field(1, 2, xs.length === 5 ? varint(5) : []), ...field(2, 0, varint(1)), ...field(4, 2, floats(xs)), ...field(8, 2, str('w'))];
    const bytes = model(field(5, 2, tensor));
    const t = decodeModel(bytes).graph.initializers.get('w')!;
    const part = t.data.get(4)![0] as Uint8Array;
    assert.ok(part instanceof Uint8Array && part.buffer === bytes.buffer, 'the values are not copied out of the file');
    assert.deepEqual(Array.from(tensorFloats(t)), Array.from(Float32Array.from(xs)));
  });

  it('packed int64/int32 varints decode exactly (negative values, 2^40, 2^62, the int32 extremes)', () => {
    const longs = [-1n, 2n ** 40n, 5n, -300n, 2n ** 62n];
    const ints = [-7, 2147483647, -2147483648, 0];
    const t64 = [...field(1, 0, varint(5)), ...field(2, 0, varint(7)), ...field(7, 2, longs.flatMap(varint)), ...field(8, 2, str('a'))];
    const t32 = [...field(1, 0, varint(4)), ...field(2, 0, varint(6)), ...field(5, 2, ints.flatMap(varint)), ...field(8, 2, str('b'))];
    const g = decodeModel(model([...field(5, 2, t64), ...field(5, 2, t32)])).graph;
    assert.deepEqual(tensorInts(g.initializers.get('a')!), longs.map(Number));
    assert.deepEqual(tensorInts(g.initializers.get('b')!), ints);
  });

  it('values written packed and unpacked read back in file order', () => {
    const tensor = [...field(1, 0, varint(4)), ...field(2, 0, varint(7)), ...field(7, 0, varint(9)), ...field(7, 2, [...varint(8), ...varint(-2)]), ...field(7, 0, varint(6)), ...field(8, 2, str('m'))];
    assert.deepEqual(tensorInts(decodeModel(model(field(5, 2, tensor))).graph.initializers.get('m')!), [9, 8, -2, 6]);
  });

  it('a million one-byte varints in int64_data cost a view, not a million values; the count is checked against the dims', () => {
    const n = 1_000_000;
    const run = new Uint8Array(n).fill(1);
    const t = decodeModel(bigModel([...field(2, 0, varint(7)), ...varint((7 << 3) | 2), ...varint(n)], run, field(8, 2, str('w')))).graph.initializers.get('w')!;
    assert.equal(t.data.get(7)!.length, 1);
    assert.throws(() => tensorInts(t), /tensor "w" has 1000000 values for its 1 elements/);
  });

  it(`more than ${MAX_UNPACKED_VALUES} values written one by one are refused at the tensor`, () => {
    const run = new Uint8Array(2 * (MAX_UNPACKED_VALUES + 1));
    for (let i = 0; i < run.length; i += 2) { run[i] = (7 << 3) | 0; run[i + 1] = 1; }
    assert.throws(() => decodeModel(bigModel([...field(8, 2, str('w')), ...field(2, 0, varint(7))], run, [])), (e: Error) => e instanceof OnnxError && e.message === `tensor "w": its int64_data has more than ${MAX_UNPACKED_VALUES} values written one by one (ONNX writes them packed, or as raw_data)`);
  });

  it(`a graph with more than ${MAX_NODES} nodes is refused before any node is built`, () => {
    const g: number[] = [];
    for (let i = 0; i <= MAX_NODES; i++) g.push(...field(1, 2, []));
    assert.throws(() => decodeModel(model(g)), (e: Error) => e instanceof OnnxError && e.message === `the graph has more than ${MAX_NODES} nodes`);
  });

  it('the decoded structure is charged on the wire: past the budget the innermost named message is named', () => {
    // An attribute with 10 000 int64 values: protobufjs makes a Long object of each (charged 48 bytes).
    const ints: number[] = [];
    for (let i = 0; i < 10_000; i++) ints.push(...field(8, 0, varint(i)));
    const node = [...field(3, 2, str('conv1')), ...field(4, 2, str('Relu')), ...field(5, 2, [...field(1, 2, str('pads')), ...ints])];
    const bytes = model(field(1, 2, node));
    assert.equal(decodeModel(bytes).graph.nodes[0].attrs.get('pads')!.ints.length, 4096, 'within the default budget it decodes');
    assert.throws(() => decodeModel(bytes, 256 * 1024), (e: Error) => e instanceof OnnxError && e.message === 'too large to read: decoding it would take more than 256 KB of memory (at attribute "pads", field ints)');
  });
});
