/**
 * The inputs of the parser fuzz test (test/unit/config/fuzz.test.ts) and of its benchmark (bench/fuzz.ts, which
 * holds the timing and memory promises): seeded mutations of the bundled examples and the Keras corpus.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Rng } from '../../../src/core/rng';

const ROOT = path.join(__dirname, '../../..');
const EXAMPLES = path.join(ROOT, 'examples');
const KERAS = path.join(ROOT, 'test/fixtures/keras');
/** How many mutated inputs the test and the benchmark feed the parser. */
export const INPUTS = 5000;
/** The CPU time one input may take (bench/fuzz.ts checks it; tests assert no timing). */
export const LIMIT_MS = 200;

/**
 * Milliseconds of CPU this process spent in fn: on a shared, oversubscribed machine wall time measures the
 * neighbours; CPU time measures the parser.
 */
export function cpuMs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

export interface Seed { name: string; text: string }
export const seeds: Seed[] = [
  ...fs.readdirSync(EXAMPLES).filter(f => /\.nn\.yaml$|\.json$/.test(f) && f !== 'index.json').map(f => ({ name: f, text: fs.readFileSync(path.join(EXAMPLES, f), 'utf8') })),
  ...fs.readdirSync(KERAS).filter(f => f.endsWith('.json')).map(f => ({ name: f, text: fs.readFileSync(path.join(KERAS, f), 'utf8') })),
];

const NUMBERS = ['1e308', '-1e308', '1e400', '-1e400', '-5', '0', '-0', '.nan', 'NaN', '.inf', '-.inf', '99999999999999999999999', '4294967296', '0x1F', '1_000', '3.5', '-0.5', '1e-400'];
const SWAPS = ['"str"', '[]', '{}', '[1, 2, 3]', '{a: 1}', 'null', 'true', '~', '""', '[[[[]]]]', '*undefined_alias', '&anchor 1', '!!binary aGVsbG8=', '!!js/function "f"', '{"__proto__": {"polluted": 1}}'];
const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'units', 'type', 'activation', 'layers', 'model', 'keras', 'class_name', 'config', 'modelTopology'];

export function aliasBomb(levels: number, width: number): string {
  const lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + `\nmodel:\n  layers: *a${levels - 1}\n`;
}

export function mutate(rng: Rng, seed: Seed): { text: string; kind: string } {
  let t = seed.text;
  const pos = () => rng.int(t.length + 1);
  const kind = rng.int(12);
  switch (kind) {
    case 0: return { kind: 'truncate', text: t.slice(0, pos()) };
    case 1: { // byte flips
      const chars = t.split('');
      const n = 1 + rng.int(8);
      for (let i = 0; i < n && chars.length; i++) chars[rng.int(chars.length)] = String.fromCharCode(rng.int(rng.next() < 0.3 ? 32 : 256));
      return { kind: 'flip', text: chars.join('') };
    }
    case 2: { // type swaps of values
      let n = 0;
      t = t.replace(/(:\s*)("[^"\n]*"|[-\w.]+)/g, (m, sep) => (rng.next() < 0.15 && n++ < 6 ? sep + SWAPS[rng.int(SWAPS.length)] : m));
      return { kind: 'swap', text: t };
    }
    case 3: { // huge, negative, odd numbers
      t = t.replace(/-?\b\d+(\.\d+)?(e-?\d+)?\b/g, m => (rng.next() < 0.3 ? NUMBERS[rng.int(NUMBERS.length)] : m));
      return { kind: 'numbers', text: t };
    }
    case 4: return { kind: 'alias bomb', text: aliasBomb(3 + rng.int(8), 3 + rng.int(9)) + t.slice(0, rng.int(200)) };
    case 5: { // deep nesting
      const depth = [60, 500, 5000, 100000][rng.int(4)];
      const open = ['[', '{"a":', '- ', '  a:\n', '{a: '][rng.int(5)];
      const p = pos();
      return { kind: 'nesting', text: t.slice(0, p) + open.repeat(depth) + t.slice(p) };
    }
    case 6: { // __proto__ and friends as keys
      const key = KEYS[rng.int(3)];
      t = t.startsWith('{') ? `{"${key}": {"polluted": true, "units": 3}, ` + t.slice(1) : `${key}:\n  polluted: true\n` + t;
      t = t.replace(/(\n\s+)(units|type|activation):/, `$1${key}: {polluted: 1}$1$2:`);
      return { kind: '__proto__', text: t };
    }
    case 7: { // binary junk
      const n = 1 + rng.int(4000);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(rng.next() < 0.5 ? 128 : 65536));
      return { kind: 'binary', text: rng.next() < 0.5 ? s : t.slice(0, pos()) + s };
    }
    case 8: { // lines shuffled or duplicated
      const lines = t.split('\n');
      for (let i = 0; i < 1 + rng.int(5); i++) {
        const a = rng.int(lines.length), b = rng.int(lines.length);
        if (rng.next() < 0.5) [lines[a], lines[b]] = [lines[b], lines[a]]; else lines.splice(a, 0, lines[b]);
      }
      return { kind: 'lines', text: lines.join('\n') };
    }
    case 9: { // keys renamed to other known keys
      t = t.replace(/("?)(\b[a-z_]+)\1(\s*:)/g, (m, q, _k, c) => (rng.next() < 0.1 ? `${q}${KEYS[rng.int(KEYS.length)]}${q}${c}` : m));
      return { kind: 'keys', text: t };
    }
    case 10: { // a region repeated many times (long lists, duplicate keys)
      const a = pos(); const len = rng.int(200);
      return { kind: 'repeat', text: t.slice(0, a) + t.slice(a, a + len).repeat(1 + rng.int(50)) + t.slice(a) };
    }
    default: { // indentation damage
      return { kind: 'indent', text: t.replace(/\n( +)/g, (m, sp) => (rng.next() < 0.2 ? '\n' + ' '.repeat(Math.max(0, sp.length + rng.int(5) - 2)) : m)) };
    }
  }
}
