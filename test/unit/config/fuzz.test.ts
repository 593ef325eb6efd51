/**
 * Seeded fuzzing of the parser and the Keras importer (SPEC §8): mutations of the bundled examples and the
 * Keras corpus (truncation, byte flips, type swaps, huge and negative numbers, YAML alias bombs, deep
 * nesting, __proto__ keys, binary junk, a 10 MB file). Every input gets an answer, never an exception, with
 * problems that have a place; bombs and huge files are refused by their counts. The time per input (200 ms of
 * CPU) and the bounded memory are promises of bench/fuzz.ts (`npm run bench:fuzz`), not assertions here:
 * on a shared machine they measure the neighbours.
 */
import { strict as assert } from 'node:assert';
import { parseConfigText } from '../../../src/config';
import { inferShapes } from '../../../src/config/shapes';
import { Rng } from '../../../src/core/rng';

import { INPUTS, aliasBomb, mutate, seeds } from './fuzzInputs';

function check(text: string, name: string, label: string): void {
  let result: ReturnType<typeof parseConfigText> | undefined;
  try {
    result = parseConfigText(text, name);
  } catch (e) {
    assert.fail(`${label}: threw ${(e as Error).stack}`);
  }
  assert.ok(Array.isArray(result.problems), label);
  for (const p of result.problems) {
    assert.ok(p.severity === 'error' || p.severity === 'warning', label);
    assert.ok(typeof p.message === 'string' && p.message.length > 0 && p.message.length < 2000, `${label}: message`);
    if (p.span) assert.ok(p.span.start.line >= 0 && p.span.start.character >= 0 && p.span.end.line >= p.span.start.line, `${label}: span`);
  }
  if (result.config) {
    assert.ok(!result.problems.some(p => p.severity === 'error'), `${label}: config despite errors`);
    const c = result.config;
    assert.ok(c.model.layers.length > 0 && c.model.input.every(d => Number.isInteger(d) && d > 0), `${label}: sane model`);
    assert.ok(Number.isFinite(c.train.lr) && c.train.lr > 0 && Number.isInteger(c.train.steps) && c.train.steps > 0, `${label}: sane train`);
    const shapes = inferShapes(c.model.input, c.model.layers);
    assert.equal(shapes.shapes.length, c.model.layers.length);
  }
}

describe('fuzz: parser and importer on mutated inputs', function () {
  this.timeout(300_000);

  it(`${INPUTS} seeded mutations: an answer for each, never an exception, problems with a place`, () => {
    const rng = new Rng(20251129);
    const kinds = new Map<string, number>();
    for (let i = 0; i < INPUTS; i++) {
      const seed = seeds[rng.int(seeds.length)];
      const { text, kind } = mutate(rng, seed);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      const names = seed.name.endsWith('.json') ? [seed.name, 'net.nn.json'] : [seed.name, 'net.nn.json'];
      const name = names[rng.int(names.length)];
      check(text, name, `#${i} ${kind} of ${seed.name}`);
    }
    assert.equal(kinds.size, 12, 'every mutation kind ran');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  });

  it('the classic billion-laughs alias bomb is refused by its count of values, never expanded', () => {
    const r = parseConfigText(aliasBomb(9, 9), 'bomb.nn.yaml');
    assert.equal(r.config, undefined);
    assert.match(r.problems.map(p => p.message).join('\n'), /more than \d+ values|alias/i);
  });

  it('a 10 MB file is refused by its size with a clear message', () => {
    const big = 'model:\n  layers:\n' + '    - {type: dense, units: 8}\n'.repeat(Math.ceil(10e6 / 30));
    assert.ok(big.length >= 10e6);
    for (const name of ['big.nn.yaml', 'big.json']) {
      const r = parseConfigText(big, name);
      assert.equal(r.problems.length, 1, 'refused before parsing, so no other problem');
      assert.match(r.problems[0].message, /the file has 10\.0 M characters: a network config (or Keras model JSON )?is at most 1 M/);
    }
  });

  it('deep nesting is refused, in JSON and in YAML', () => {
    for (const [text, name] of [['['.repeat(100000), 'x.json'], ['- '.repeat(100000) + '1', 'x.nn.yaml'], ['{a: '.repeat(20000), 'x.nn.yaml'], ['model:\n' + '  '.repeat(1).concat('a:\n').repeat(3000), 'x.nn.yaml']]) {
      const r = parseConfigText(text, name);
      assert.equal(r.config, undefined);
      assert.ok(r.problems.some(p => p.severity === 'error'));
    }
  });

  it('__proto__ keys are plain unknown keys, never pollution', () => {
    const r = parseConfigText('__proto__: {polluted: 1}\nmodel:\n  layers:\n    - {type: dense, units: 1, __proto__: {units: 5}}\n', 'p.nn.yaml');
    assert.deepEqual(r.problems.map(p => p.message).slice(0, 2), ['unknown key "__proto__" in the config', 'unknown key "__proto__" in a dense layer']);
    const j = parseConfigText('{"model": {"layers": [{"type": "dense", "units": 1}]}, "__proto__": {"polluted": 1}}', 'p.nn.json');
    assert.ok(j.problems.some(p => /unknown key "__proto__" in the config/.test(p.message)));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
