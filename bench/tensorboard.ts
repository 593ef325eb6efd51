/**
 * Throughput of the TensorBoard reader: MB/s of event data through framing + CRC32C + protobuf decoding +
 * statistics, over a generated log directory (4 runs x 2 files, 8 layers, PyTorch-style histograms with
 * TensorFlow's default buckets). Median of rounds. Run: node --require tsx/cjs bench/tensorboard.ts [MB] [rounds]
 * The data is generated once into the OS temp dir and reused.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../src/core/rng';
import { LogdirReader } from '../src/tensorboard/logdir';
import { LAYERS_TAG } from '../src/tensorboard/run';
import { EventFileWriter, histogramOf } from '../src/tensorboard/writer';

const targetMB = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 3);
const RUNS = 4, FILES = 2, LAYERS = 8;

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).size;
  }
  return total;
}

function generate(dir: string): void {
  const rng = new Rng(1);
  const layers = Array.from({ length: LAYERS }, (_, i) => `fc${i}`);
  // A few distinct histograms per quantity, reused across steps (encoding, not sampling, is what costs here).
  const variants = Array.from({ length: 4 }, () => {
    const z = new Float64Array(4096).map(() => rng.normal() * 1.5 - 0.2);
    return { preact: histogramOf(z), activation: histogramOf(z.map(x => (x > 0 ? x : 0))), grad: histogramOf(z.map(x => (x > 0 ? 1e-3 * rng.normal() : 0))) };
  });
  const perFile = (targetMB * 1e6) / (RUNS * FILES);
  for (let r = 0; r < RUNS; r++) {
    for (let f = 0; f < FILES; f++) {
      const w = new EventFileWriter(path.join(dir, `run${r}`), { fileName: `events.out.tfevents.${1000 + f}.bench` });
      w.text(LAYERS_TAG, JSON.stringify(layers.map(name => ({ name, activation: 'relu' }))), 0);
      let step = f * 1_000_000;
      while (fs.statSync(w.path).size < perFile) {
        for (let s = 0; s < 50; s++, step++) {
          const v = variants[step % variants.length];
          for (const l of layers) {
            w.histogramProto(`${l}/preact`, v.preact, step);
            w.histogramProto(`${l}/activation`, v.activation, step);
            w.histogramProto(`${l}/grad_preact`, v.grad, step);
          }
          w.scalar('loss', 1 / (1 + step), step);
        }
        w.flush();
      }
      w.close();
    }
  }
}

const dir = path.join(os.tmpdir(), `activation-lens-bench-tb-${targetMB}`);
if (!fs.existsSync(path.join(dir, 'done'))) {
  fs.rmSync(dir, { recursive: true, force: true });
  const t = performance.now();
  generate(dir);
  fs.writeFileSync(path.join(dir, 'done'), '');
  console.log(`generated ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
const bytes = dirBytes(dir);
const rates: number[] = [];
for (let i = 0; i < rounds; i++) {
  const t = performance.now();
  const reader = new LogdirReader(dir);
  reader.poll();
  const runs = reader.snapshot(true);
  const s = (performance.now() - t) / 1000;
  rates.push(bytes / 1e6 / s);
  const points = runs.reduce((a, r) => a + r.timeline.length, 0);
  console.log(`round ${i + 1}: ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(2)} s = ${(bytes / 1e6 / s).toFixed(0)} MB/s (${runs.length} runs, ${points} points kept)`);
}
rates.sort((a, b) => a - b);
console.log(`median: ${rates[Math.floor(rates.length / 2)].toFixed(0)} MB/s of event data (target >= 100), heap used ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
