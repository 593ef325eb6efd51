/**
 * The parser's promises on hostile input that tests do not assert (timing and memory on a shared machine measure
 * the neighbours): each of the fuzz test's 5000 mutated inputs, the alias bomb, the 10 MB file and the deep
 * nesting parse in under LIMIT_MS (200 ms) of CPU time, and the heap after all of them, with forced GC, grows by
 * less than 256 MB. Exits 1 when a promise is broken. Run on a quiet machine:
 *   node --expose-gc --require tsx/cjs bench/fuzz.ts
 */
import { parseConfigText } from '../src/config';
import { Rng } from '../src/core/rng';
import { INPUTS, LIMIT_MS, aliasBomb, cpuMs, mutate, seeds } from '../test/unit/config/fuzzInputs';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn('run with node --expose-gc for a heap figure without garbage');
gc?.();
const heap0 = process.memoryUsage().heapUsed;
const rng = new Rng(20251129);
const times: { ms: number; what: string }[] = [];
/** Best of three: a GC pause or a preemption is not the parser's; a slow parser is slow every time. */
const time = (what: string, text: string, name: string) => {
  const ms = Math.min(...[0, 1, 2].map(() => cpuMs(() => { parseConfigText(text, name); })));
  times.push({ ms, what: `${what}, ${text.length} chars` });
};
for (let i = 0; i < INPUTS; i++) {
  const seed = seeds[rng.int(seeds.length)];
  const { text, kind } = mutate(rng, seed);
  const name = [seed.name, 'net.nn.json'][rng.int(2)];
  time(`#${i} ${kind} of ${seed.name} as ${name}`, text, name);
}
time('alias bomb 9x9', aliasBomb(9, 9), 'bomb.nn.yaml');
const big = 'model:\n  layers:\n' + '    - {type: dense, units: 8}\n'.repeat(Math.ceil(10e6 / 30));
time('10 MB yaml', big, 'big.nn.yaml');
time('10 MB json', big, 'big.json');
time('[ x 100000', '['.repeat(100000), 'x.json');
time('- x 100000', '- '.repeat(100000) + '1', 'x.nn.yaml');
gc?.();
const grownMB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
const sorted = times.slice().sort((a, b) => b.ms - a.ms);
const p99 = sorted[Math.floor(sorted.length / 100)].ms;
console.log(`parser on ${times.length} hostile inputs: max ${sorted[0].ms.toFixed(1)} ms CPU (${sorted[0].what}), p99 ${p99.toFixed(1)} ms; heap grew ${grownMB.toFixed(1)} MB`);
const slow = sorted.filter(t => t.ms > LIMIT_MS);
for (const t of slow) console.log(`  over ${LIMIT_MS} ms: ${t.what}: ${t.ms.toFixed(0)} ms`);
if (slow.length || grownMB >= 256) { console.log('FAILED: a promise of docs/testing.md is broken'); process.exit(1); }
