/**
 * Training throughput of the core against TensorFlow.js (cpu backend, and wasm backend with SIMD loaded
 * from node_modules, offline), all in one process, interleaved round by round, after a warm-up round.
 * Reports the median of the rounds. Not a test.
 *
 *   npm run bench [-- --json] [-- --rounds N] [-- --only W1,C1]
 *
 * Peers: core (one thread), core-2t (the core with threads: 2; small nets stay on one thread), tfjs-cpu,
 * tfjs-wasm, and torch-1t/torch when found (below). The last line is always one JSON object:
 *   {"ceilingGflops", "ceilingGflops2t", "workloads": [{"name", "batch", "flopsPerSample", "samplesPerSec": {"core", "core-2t",
 *    "tfjs-cpu", "tfjs-wasm", "torch-1t"?, "torch"?}, "probeOverhead"}]}
 * ceilingGflops: one thread's rate of the GEMM tile with every operand in L1 (assembly/gemm.ts peak), the
 * best slice of measurements taken before and between the workloads of this run; ceilingGflops2t: the same tile
 * on two threads at once (the most core-2t/core can reach on this machine now). --json prints only that line.
 *
 * probeOverhead: the extra time of probes at the default interval (steps / 50) of a 5000-step run, i.e. one
 * probe of 256 samples every 100 steps, with a validation split equal to the probe batch (no separate evaluation):
 * mean probe time / (100 * median step time). Shorter runs probe more often (a 500-step run every 10 steps:
 * probeSteps / 10), and a validation split larger than 256 samples adds an evaluation pass to each probe. Each probe is timed as it
 * comes in a run: after 100 of the core's own steps when those take less than a slice (W2: ~1 ms), 7 a round, so
 * the 49 probes counted are a run's probes 2-50 (the warm-up round's is its first); else right after the core's
 * slice, one a round (a slice is then at most 100 steps, as between a run's probes). Timing one probe per round
 * right after a 250 ms slice (20000 steps of W2) measured probes 2-8 of a run with the caches and the JIT as
 * they never are in a run: W2 b64's probe cost 2x as much that way, measured under load (docs/core.md,
 * measurement log).
 * probeSteps is the cost of one probe in training steps, so the overhead at any other interval is probeSteps / interval.
 *
 * When a Python interpreter with torch is found (src/engine/torch/python.ts), the torch engine's runner is
 * measured too, out of process after the in-process peers: `torch-1t` (one thread) and `torch` (all threads).
 */
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { Trainer } from '../src/core/train';
import { wasmAvailable, wasmModuleOrNull } from '../src/core/kernels';
import { WORKLOADS, flopsPerSample, workloadConfig, workloadData, type Workload } from './workloads';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import { findTorchPython, pythonCandidates } from '../src/engine/torch/python';
import { writeTorchJob } from '../src/engine/torch/job';
import { runnerPath } from '../src/engine/torch/run';

const args = process.argv.slice(2);
const json = args.includes('--json');
const rounds = Math.max(7, Number(args[args.indexOf('--rounds') + 1]) || 7);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
const BUDGET_MS = 250;
/** A full collection (node --expose-gc) before each slice: the garbage of the peers before it is not this peer's. */
const gc = (globalThis as { gc?: () => void }).gc;
const RUN_STEPS = 5000;
/** Probes timed per round when a run's interval between probes is shorter than a slice: 7 rounds x 7 = a run's 49 after its first. */
const PROBES_PER_ROUND = 7;
const log = (...a: unknown[]) => { if (!json) console.log(...a); };

type PeerName = 'core' | 'core-2t' | 'tfjs-cpu' | 'tfjs-wasm' | 'torch-1t' | 'torch';
interface Peer { name: PeerName; backend?: string; step(): void; sync(): void }

/** The torch runner's training throughput (median of `rounds` slices), or undefined when it fails. */
function torchSamplesPerSec(python: string, w: Workload, batch: number, threads: number): number | undefined {
  const job = writeTorchJob(workloadConfig(w, batch, 1e9), workloadData(w, batch * 8, 256), { threads });
  try {
    const spec = JSON.parse(fs.readFileSync(job.jobFile, 'utf8'));
    spec.bench = { rounds, sliceMs: BUDGET_MS };
    fs.writeFileSync(job.jobFile, JSON.stringify(spec));
    const r = spawnSync(python, [runnerPath(path.join(__dirname, '..', 'dist')), job.jobFile], { encoding: 'utf8' });
    const line = r.stdout.split('\n').find(l => l.includes('"bench"'));
    return line ? JSON.parse(line).samplesPerSec : undefined;
  } finally {
    fs.rmSync(job.dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number { const s = xs.slice().sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; }

/** The core on one thread, or with `threads` (core-2t: what a run gets with threads: 2, one thread for small nets). */
function corePeer(w: Workload, batch: number, threads = 1): { peer: Peer; trainer: Trainer; note?: string } {
  const config = workloadConfig(w, batch, 1e9);
  let note: string | undefined;
  // The probe interval of a 5000-step run (steps / 50), so that the step before each timed probe records the
  // update sizes as in a run (the probe then computes the update ratio); trainSteps itself never probes.
  const trainer = new Trainer(config, workloadData(w, batch * 8, 256), { probeEvery: Math.floor(RUN_STEPS / 50), threads, onNote: n => { note = n; } });
  const helpers = trainer.net.heap.kernels.helpers;
  if (helpers && !helpers.waitReady()) note = `${helpers.ready()} of ${trainer.threads - 1} helper threads started within 10 s`;
  return { trainer, note, peer: { name: threads > 1 ? 'core-2t' : 'core', step: () => trainer.trainSteps(1), sync: () => undefined } };
}

/**
 * How core-2t ran a workload, for the log: its threads, why fewer than asked for, and the share of the split
 * kernels' chunks the helpers took. A core-2t that ran on one thread reads ~1.00x core; this line says so.
 */
function twoThreadAccount(trainer: Trainer, note: string | undefined): string {
  const h = trainer.net.heap.kernels.helpers;
  const share = h && h.chunks > 0 ? `, helpers took ${(100 * h.handed / h.chunks).toFixed(0)}% of ${h.chunks} chunks` : h ? ', no task was split' : '';
  return `${trainer.threads} thread${trainer.threads > 1 ? 's' : ''}${share}${note ? `; ${note}` : ''}`;
}

/**
 * The ceiling's timing, as source so that this thread and each worker of ceiling2tGflops run the same code:
 * given the module's exports `ex`, fills the tile's operands and warms up, then returns `slice(ms)`, the
 * GFLOP/s of `peak` over one slice of ms. Many short calls first: V8 runs a wasm function's first calls in its
 * baseline compiler and swaps in the optimized code between calls, never inside one long call.
 */
const PEAK_TIMER = `
if (ex.memory.buffer.byteLength < 65536) ex.memory.grow(1);
const H = new Float32Array(ex.memory.buffer), p = 4096, K = ex.peakK();   // 64 flops per k
for (let i = 0; i < K * 12; i++) H[p + i] = 1e-3 * ((i % 7) - 3);
for (let i = 0; i < 2000; i++) ex.peak(5, p);
return ms => {
  let calls = 0;
  const t0 = performance.now();
  do { ex.peak(50, p); calls++; } while (performance.now() - t0 < ms);
  return calls * 50 * K * 64 / ((performance.now() - t0) / 1000) / 1e9;
};`;
type PeakSlice = (ms: number) => number;

/**
 * The SIMD128 ceiling: GFLOP/s of the GEMM's 4x8 f32x4 tile (mul + add, A broadcast, B panel) with all
 * operands in L1 (assembly/gemm.ts `peak`, which says why this shape): what one thread of WebAssembly SIMD
 * can do with no memory traffic, loop or packing cost. The best of `n` slices of ~100 ms: a ceiling, which a
 * neighbour on the machine can only lower; a workload's GFLOP/s over it is its fraction of the ceiling.
 */
function ceilingGflops(n: number): number {
  const ex = new WebAssembly.Instance(wasmModuleOrNull()!, {}).exports;
  const slice = (new Function('ex', PEAK_TIMER) as (ex: WebAssembly.Exports) => PeakSlice)(ex);
  const rates: number[] = [];
  for (let i = 0; i < n; i++) rates.push(slice(100));
  return Math.max(...rates);
}

/**
 * The same tile on two threads at once (worker threads, one wasm instance each, nothing shared): what the
 * machine gives two threads of SIMD right now. On a VM whose two vCPUs share a physical core, or with a
 * neighbour on the host, this is well under 2x one thread, and core-2t/core cannot beat it. Best of `n`.
 */
async function ceiling2tGflops(n: number): Promise<number> {
  const src = `
const { parentPort, workerData } = require('node:worker_threads');
const slice = (function (ex) {${PEAK_TIMER}})(new WebAssembly.Instance(workerData, {}).exports);
parentPort.on('message', ms => parentPort.postMessage(slice(ms)));
parentPort.postMessage('ready');`;
  const workers = await Promise.all([0, 1].map(() => new Promise<Worker>(resolve => {
    const w = new Worker(src, { eval: true, workerData: wasmModuleOrNull()! });
    w.once('message', () => resolve(w));
  })));
  const rates: number[] = [];
  for (let i = 0; i < n; i++) {
    const both = await Promise.all(workers.map(w => new Promise<number>(resolve => { w.once('message', resolve); w.postMessage(100); })));
    rates.push(both[0] + both[1]);
  }
  await Promise.all(workers.map(w => w.terminate()));
  return Math.max(...rates);
}

/** The same network in tfjs-core ops with variables and optimizer.minimize (SGD), created on `backend`. */
function tfPeer(w: Workload, batch: number, backend: 'cpu' | 'wasm', trainer: Trainer): Peer {
  const net = trainer.net;
  const vars = new Map<object, tf.Variable>();
  for (const p of net.params) if (p.trainable) vars.set(p, tf.variable(tf.tensor(Float32Array.from(p.w.v), p.shape)));
  const data = trainer.data.train;
  const inSize = net.inputSize;
  const x = tf.tensor(data.x.slice(0, batch * inSize), [batch, ...w.input]);
  const labels = Array.from(data.y.slice(0, batch));
  const y = w.classes > 1 ? tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), w.classes), 'float32') : tf.tensor2d(labels, [batch, 1]);
  const opt = tf.train.sgd(0.01);
  const list = [...vars.values()];
  const lossFn = (): tf.Scalar => {
    let h: tf.Tensor = x;
    for (const l of net.layers) {
      const spec = l.spec;
      const kernel = l.params.find(p => p.name === 'kernel'), bias = l.params.find(p => p.name === 'bias');
      if (spec.type === 'dense' || spec.type === 'conv2d') {
        h = spec.type === 'dense' ? tf.matMul(h as tf.Tensor2D, vars.get(kernel!)! as tf.Tensor2D)
          : backend === 'wasm' ? wasmConv(h as tf.Tensor4D, vars.get(kernel!)! as tf.Tensor4D) : tf.conv2d(h as tf.Tensor4D, vars.get(kernel!)! as tf.Tensor4D, 1, 'valid');
        if (bias) h = tf.add(h, vars.get(bias)!);
        const a = spec.activation.name;
        if (a === 'relu') h = tf.relu(h); else if (a === 'tanh') h = tf.tanh(h); else if (a === 'sigmoid' && l !== net.layers[net.layers.length - 1]) h = tf.sigmoid(h);
      } else if (spec.type === 'maxpool2d') h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
      else if (spec.type === 'flatten') h = tf.reshape(h, [batch, -1]);
    }
    return (w.classes > 1 ? tf.losses.softmaxCrossEntropy(y, h) : tf.losses.sigmoidCrossEntropy(y, h)) as tf.Scalar;
  };
  return { name: backend === 'cpu' ? 'tfjs-cpu' : 'tfjs-wasm', backend, step: () => opt.minimize(lossFn, false, list), sync: () => { list[0].dataSync(); } };
}

/**
 * conv2d (stride 1, valid) for tfjs-backend-wasm, which has no Conv2DBackpropFilter kernel in 4.22: the
 * filter gradient comes from its Conv3DBackpropFilterV2 kernel on depth-1 volumes, the input gradient from
 * conv2dTranspose (Conv2DBackpropInput). The fastest way that backend can train a conv net.
 */
const wasmConv = tf.customGrad(((x: tf.Tensor4D, f: tf.Tensor4D, save: tf.GradSaveFunc) => {
  save([x, f]);
  return {
    value: tf.conv2d(x, f, 1, 'valid'),
    gradFunc: (dy: tf.Tensor4D, [xs, fs]: tf.Tensor[]) => {
      const [b, H, W, C] = xs.shape, [kh, kw, , F] = fs.shape;
      const dx = tf.conv2dTranspose(dy, fs as tf.Tensor4D, [b, H, W, C] as [number, number, number, number], 1, 'valid');
      const dw = tf.engine().runKernel('Conv3DBackpropFilterV2',
        { x: tf.reshape(xs, [b, 1, H, W, C]), dy: tf.reshape(dy, [b, 1, dy.shape[1], dy.shape[2], F]) },
        { strides: [1, 1, 1], pad: 'valid', filterShape: [1, kh, kw, C, F] }) as tf.Tensor;
      return [dx, tf.reshape(dw, fs.shape)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D;

/**
 * Samples per second over one slice of BUDGET_MS (at least one step). `warm`: one untimed step first, so that the
 * slice times a run's steps, not the reloading of caches the previous peer's slice evicted (a run of one peer never
 * pays that every 250 ms); for peers whose step takes longer than a quarter of a slice the warm-up round did it.
 * `steps` (the core's peers): receives each step's time, for the median step.
 */
function timeSlice(peer: Peer, batch: number, warm: boolean, steps?: number[]): number {
  gc?.();
  if (warm) { peer.step(); peer.sync(); }
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    peer.step(); n++;
    if (steps) { const now = performance.now(); steps.push(now - t); t = now; }
  } while (performance.now() - t0 < BUDGET_MS);
  peer.sync();
  return (n * batch) / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  if (!wasmAvailable()) throw new Error('dist/gemm.wasm is missing: run `npm run build` first');
  setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep));
  await tf.setBackend('wasm'); await tf.ready();
  const wasmSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  await tf.setBackend('cpu'); await tf.ready();
  const machine = `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} vCPU, Node ${process.version}, tfjs ${tf.version_core} (wasm SIMD ${wasmSimd ? 'on' : 'off'})`;
  const torchFound = findTorchPython(pythonCandidates());
  const torchPython = 'command' in torchFound ? torchFound : undefined;
  log(`Machine: ${machine}`);
  log(torchPython ? `torch peers: ${torchPython.command}, torch ${torchPython.torchVersion} (out of process, after the others)` : 'torch peers: skipped, no Python interpreter imports torch');
  log(`Medians of ${rounds} interleaved rounds after a warm-up round; ${BUDGET_MS} ms slices.\n`);
  const ceilings: number[] = [ceilingGflops(5)];
  const ceilings2t: number[] = [await ceiling2tGflops(5)];
  const results: { name: string; batch: number; flopsPerSample: number; samplesPerSec: Record<PeerName, number>; gflops: Record<PeerName, number>; probeOverhead: number; probeSteps: number }[] = [];
  for (const w of WORKLOADS) {
    if (only && !only.includes(w.name)) continue;
    for (const batch of w.batches) {
      const { peer: core, trainer } = corePeer(w, batch);
      const { peer: core2, trainer: trainer2, note: note2 } = corePeer(w, batch, 2);
      await tf.setBackend('cpu');
      const cpu = tfPeer(w, batch, 'cpu', trainer);
      await tf.setBackend('wasm');
      const wasm = tfPeer(w, batch, 'wasm', trainer);
      const peers = [core, core2, cpu, wasm];
      const samples: Record<string, number[]> = { core: [], 'core-2t': [], 'tfjs-cpu': [], 'tfjs-wasm': [] };
      // Probe overhead: probes on a 256-sample probe batch every RUN_STEPS/50 steps.
      const every = Math.floor(RUN_STEPS / 50);
      const probeMs: number[] = [], stepMs: number[] = [];
      const lastWarm = new Map<string, number>();
      const medianStepMs: Record<string, number[]> = { core: [], 'core-2t': [] };
      for (let r = 0; r <= rounds; r++) {
        for (const p of peers) {
          if (p.backend) await tf.setBackend(p.backend);
          const last = samples[p.name].at(-1) ?? lastWarm.get(p.name);
          const stepTimes: number[] | undefined = p === core || p === core2 ? [] : undefined;
          const sps = timeSlice(p, batch, last !== undefined && 1000 * batch / last < BUDGET_MS / 4, stepTimes);
          if (r > 0 && stepTimes) medianStepMs[p.name].push(median(stepTimes));
          if (r === 0) lastWarm.set(p.name, sps);
          if (r > 0) samples[p.name].push(sps);
          // Probes right after the core's own steps, as in a run (not after another peer has evicted its caches).
          if (p !== core) continue;
          const cadence = every * 1000 * batch / sps <= BUDGET_MS;
          for (let i = 0; i < (r > 0 && cadence ? PROBES_PER_ROUND : 1); i++) {
            // Up to the next probe step (`every` steps from the last), so that the probe follows a step that recorded
            // its update sizes and computes the update ratio as in a run. After a slice (a workload whose 100 steps take
            // longer than a slice: W1 b256, W3, C1) the probe comes where the slice ended, without the update ratio: a sum
            // of squares over the weights, small beside those workloads' probe.
            if (cadence) trainer.trainSteps(every - (trainer.step % every));
            const t0 = performance.now(); trainer.probe(); const t1 = performance.now();
            if (r > 0) probeMs.push(t1 - t0);
          }
          if (r > 0) stepMs.push(1000 * batch / sps);
        }
      }
      const account2 = twoThreadAccount(trainer2, note2);
      // Per round (the two peers' slices ran back to back): a slow phase of the VM shows as a spread here.
      const perRound = samples['core-2t'].map((v, i) => v / samples.core[i]);
      // The same by each slice's median step: what two threads gain on the steps that neither thread was interrupted
      // in (on 2 vCPUs, any other thread that runs, the kernel's too, stops one of the two and the other waits).
      const medianRatio = median(medianStepMs.core) / median(medianStepMs['core-2t']);
      trainer.dispose(); trainer2.dispose();
      ceilings.push(ceilingGflops(2));
      ceilings2t.push(await ceiling2tGflops(2));
      const sps = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<PeerName, number>;
      if (torchPython) {
        const one = torchSamplesPerSec(torchPython.command, w, batch, 1), all = torchSamplesPerSec(torchPython.command, w, batch, os.cpus().length);
        if (one !== undefined) sps['torch-1t'] = one;
        if (all !== undefined) sps.torch = all;
      }
      const fl = flopsPerSample(w);
      const gflops = Object.fromEntries(Object.entries(sps).map(([k, v]) => [k, (v * fl) / 1e9])) as Record<PeerName, number>;
      // A run pays every probe, its slow ones too (the first, a GC pause): the mean, not the median.
      const probeSteps = probeMs.reduce((a, b) => a + b, 0) / probeMs.length / median(stepMs);
      const probeMedianSteps = median(probeMs) / median(stepMs);
      const probeOverhead = probeSteps / every;
      results.push({ name: w.name, batch, flopsPerSample: fl, samplesPerSec: sps, gflops, probeOverhead, probeSteps });
      log(`${w.name} b${batch} (${w.description}; ${(fl / 1e6).toFixed(4)} MFLOP/sample)`);
      for (const name of Object.keys(sps) as PeerName[]) log(`  ${name.padEnd(10)} ${sps[name].toFixed(0).padStart(9)} samples/s ${gflops[name].toFixed(2).padStart(7)} GFLOP/s`);
      log(`  core-2t/core ${(sps['core-2t'] / sps.core).toFixed(2)}x (rounds ${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}; median step ${medianRatio.toFixed(2)}x; ${account2}), core/tfjs-cpu ${(sps.core / sps['tfjs-cpu']).toFixed(1)}x, core/tfjs-wasm ${(sps.core / sps['tfjs-wasm']).toFixed(1)}x, probe overhead ${(100 * probeOverhead).toFixed(1)}% (one probe = ${probeSteps.toFixed(1)} steps, mean of ${probeMs.length}; median ${probeMedianSteps.toFixed(1)})\n`);
      tf.disposeVariables();
    }
  }
  const ceiling = Math.max(...ceilings), ceiling2t = Math.max(...ceilings2t);
  if (!json) {
    const opt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(0));
    console.log(`SIMD128 ceiling (the GEMM's f32x4 tile in L1, one thread, best slice of ${ceilings.length} measurements in this run): ${ceiling.toFixed(1)} GFLOP/s`);
    console.log(`the same tile on two threads at once: ${ceiling2t.toFixed(1)} GFLOP/s (${(ceiling2t / ceiling).toFixed(2)}x one thread: the most core-2t/core can reach here)\n`);
    console.log('| workload | batch | core samples/s | core-2t | tfjs-cpu | tfjs-wasm | torch-1t | torch | core GFLOP/s | of ceiling | 2t/core | vs tfjs-wasm | probe overhead |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      const s = r.samplesPerSec;
      console.log(`| ${r.name} | ${r.batch} | ${s.core.toFixed(0)} | ${s['core-2t'].toFixed(0)} | ${s['tfjs-cpu'].toFixed(0)} | ${s['tfjs-wasm'].toFixed(0)} | ${opt(s['torch-1t'])} | ${opt(s.torch)} | ${r.gflops.core.toFixed(1)} | ${(100 * r.gflops.core / ceiling).toFixed(0)}% | ${(s['core-2t'] / s.core).toFixed(2)}x | ${(s.core / s['tfjs-wasm']).toFixed(1)}x | ${(100 * r.probeOverhead).toFixed(1)}% |`);
    }
  }
  // The last line, always: the machine-readable result (docs/core.md, Performance).
  const round = (v: number) => Math.round(v * 1000) / 1000;
  console.log(JSON.stringify({
    ceilingGflops: round(ceiling), ceilingGflops2t: round(ceiling2t),
    workloads: results.map(r => ({
      name: r.name, batch: r.batch, flopsPerSample: r.flopsPerSample,
      samplesPerSec: Object.fromEntries(Object.entries(r.samplesPerSec).map(([k, v]) => [k, round(v)])),
      probeOverhead: round(r.probeOverhead),
    })),
  }));
}

main().catch(e => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
