/**
 * The training worker's timing promises, on the real worker thread (dist/worker.js; npm run build first), which
 * tests do not assert because wall time on a shared machine measures the neighbours:
 *   - Stop takes effect within 250 ms (the worker polls a shared flag every step);
 *   - stats arrive at most 20 times a second (STATS_INTERVAL_MS), measured at the receiving end.
 * Median of rounds; exits 1 when a promise is broken. Run on a quiet machine:
 *   node --require tsx/cjs bench/worker.ts [rounds]
 */
import path from 'node:path';
import { startRun } from '../src/worker/client';
import { STATS_INTERVAL_MS } from '../src/worker/trainWorker';
import type { NetworkConfig } from '../src/model';
import { parseConfigText } from '../src/config';

const WORKER = path.resolve(__dirname, '../dist/worker.js');
const rounds = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b); return s[s.length >> 1]; };

function config(steps: number): NetworkConfig {
  const text = `seed: 1\ndata: {source: spiral, samples: 600, classes: 3}\nmodel:\n  layers:\n    - {type: dense, units: 32, activation: relu, init: he_normal}\n    - {type: dense, units: 3, activation: softmax}\ntrain: {loss: cross_entropy, optimizer: adam, lr: 0.01, batch: 32, steps: ${steps}}\nprobe: {every: ${Math.max(1, Math.floor(steps / 50))}, samples: 120}\n`;
  const r = parseConfigText(text, 'bench.nn.yaml');
  if (!r.config) throw new Error(r.problems.map(p => p.message).join('\n'));
  return r.config;
}

async function once(): Promise<{ cancelMs: number; perSecond: number }> {
  // Rate: a complete run of 6000 steps, messages over its duration.
  const t0 = performance.now();
  let messages = 0;
  await startRun({ config: config(6000), baseDir: process.cwd(), maxSteps: 1e6, memoryLimitMB: 256, workerPath: WORKER },
    { stats: () => { messages++; }, done: () => undefined, error: m => { throw new Error(m); }, cancelled: () => undefined }).done;
  const perSecond = messages / ((performance.now() - t0) / 1000);
  // Cancel latency: from cancel() to the 'cancelled' message.
  let cancelAt = 0, cancelMs = NaN;
  const h = startRun({ config: config(1_000_000), baseDir: process.cwd(), maxSteps: 1e7, memoryLimitMB: 256, workerPath: WORKER }, {
    stats: m => { if (!cancelAt && m.step > 0) { cancelAt = performance.now(); h.cancel(); } },
    done: () => undefined, error: m => { throw new Error(m); }, cancelled: () => { cancelMs = performance.now() - cancelAt; },
  });
  await h.done;
  return { cancelMs, perSecond };
}

void (async () => {
  const results = [];
  for (let i = 0; i < rounds; i++) results.push(await once());
  const cancelMs = median(results.map(r => r.cancelMs)), perSecond = median(results.map(r => r.perSecond));
  console.log(`worker: cancel to cancelled ${cancelMs.toFixed(0)} ms (median of ${rounds}; promise < 250), stats ${perSecond.toFixed(1)}/s (promise <= ${1000 / STATS_INTERVAL_MS})`);
  if (!(cancelMs < 250) || perSecond > 1000 / STATS_INTERVAL_MS) { console.log('FAILED: a promise of docs/testing.md is broken'); process.exit(1); }
})();
