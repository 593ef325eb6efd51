/** Data sources (SPEC §2.1): seeded generators, encoding for the loss, csv errors with row and column, iris. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { loadDataset } from '../../../src/data';
import { InputError, type Dataset, type NetworkConfig } from '../../../src/model';

function config(yaml: string, file = '/tmp/net.nn.yaml'): NetworkConfig {
  const r = parseConfigText(yaml, file);
  assert.deepEqual(r.problems.filter(p => p.severity === 'error').map(p => p.message), []);
  return r.config!;
}
const net = (data: string, out: string, extra = '') => `seed: 11\ndata: ${data}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: tanh}\n    - ${out}\n${extra}`;

function classCounts(d: Dataset): number[] {
  const counts = new Array(d.targetDim).fill(0);
  for (const v of d.train.y) counts[v]++;
  for (const v of d.val.y) counts[v]++;
  return counts;
}

describe('data: synthetic sources', () => {
  const sources: [string, number, number][] = [['spiral', 3, 2], ['circles', 2, 2], ['xor', 2, 2], ['moons', 2, 2], ['checkerboard', 2, 2], ['gaussians', 4, 5]];
  for (const [src, classes, features] of sources) {
    it(`${src}: ${classes} balanced classes of ${features}-feature samples, split 80/20`, () => {
      const c = config(net(`{source: ${src}, samples: 1000${src === 'gaussians' ? ', classes: 4, features: 5' : src === 'spiral' ? ', classes: 3' : ''}}`, `{type: dense, units: ${classes}, activation: softmax}`));
      const d = loadDataset(c, '/tmp');
      assert.deepEqual([d.task, d.targetDim, d.train.n, d.val.n], ['classification', classes, 800, 200]);
      assert.deepEqual(d.inputShape, [features]);
      assert.equal(d.train.x.length, 800 * features);
      assert.equal(d.train.y.length, 800, 'class indices: one number per sample');
      const counts = classCounts(d);
      assert.equal(counts.reduce((a, b) => a + b, 0), 1000);
      for (const n of counts) assert.ok(Math.abs(n - 1000 / classes) <= 1000 / classes * 0.1, `balanced: ${counts}`);
      assert.ok(d.train.x.every(Number.isFinite));
    });
  }

  it('the same seed gives identical data, another seed different data', () => {
    const a = loadDataset(config(net('{source: spiral}', '{type: dense, units: 3, activation: softmax}')), '/tmp');
    const b = loadDataset(config(net('{source: spiral}', '{type: dense, units: 3, activation: softmax}')), '/tmp');
    const c = loadDataset(config(net('{source: spiral}', '{type: dense, units: 3, activation: softmax}').replace('seed: 11', 'seed: 12')), '/tmp');
    assert.deepEqual(a.train.x, b.train.x);
    assert.deepEqual(a.val.y, b.val.y);
    assert.notDeepEqual(a.train.x, c.train.x);
  });

  it('circles: points at radius 1 and 0.5 by class without noise', () => {
    const circ = loadDataset(config(net('{source: circles, noise: 0}', '{type: dense, units: 2, activation: softmax}')), '/tmp');
    for (let i = 0; i < circ.train.n; i++) {
      const r = Math.hypot(circ.train.x[2 * i], circ.train.x[2 * i + 1]);
      assert.ok(Math.abs(r - (circ.train.y[i] === 0 ? 1 : 0.5)) < 1e-5, `r=${r}`);
    }
  });

  it('xor: the label is the sign of x*y without noise', () => {
    const d = loadDataset(config(net('{source: xor, noise: 0}', '{type: dense, units: 1, activation: sigmoid}')), '/tmp');
    assert.equal(d.task, 'binary');
    for (let i = 0; i < d.train.n; i++) assert.equal(d.train.y[i], d.train.x[2 * i] * d.train.x[2 * i + 1] > 0 ? 0 : 1);
  });

  it('sine: regression targets sin(x) without noise', () => {
    const d = loadDataset(config(net('{source: sine, noise: 0, samples: 200}', '{type: dense, units: 1}')), '/tmp');
    assert.deepEqual([d.task, d.targetDim, d.inputShape], ['regression', 1, [1]]);
    for (let i = 0; i < d.train.n; i++) assert.ok(Math.abs(d.train.y[i] - Math.sin(d.train.x[i])) < 1e-6);
  });

  it('teacher: inputs N(0,1) of any shape, classes or regression targets of the output width', () => {
    const cls = loadDataset(config(net('{source: teacher, shape: [4, 4, 2], classes: 3, samples: 600}', '{type: dense, units: 3, activation: softmax}').replace('layers:\n', 'layers:\n    - {type: flatten}\n')), '/tmp');
    assert.deepEqual([cls.task, cls.targetDim, cls.inputShape], ['classification', 3, [4, 4, 2]]);
    const xs = Array.from(cls.train.x);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    assert.ok(Math.abs(mean) < 0.05 && Math.abs(sd - 1) < 0.05, `${mean} ${sd}`);
    for (const n of classCounts(cls)) assert.ok(n > 30, `every class occurs: ${classCounts(cls)}`);
    const reg = loadDataset(config(net('{source: teacher, features: 6, samples: 300}', '{type: dense, units: 2}')), '/tmp');
    assert.deepEqual([reg.task, reg.targetDim, reg.train.y.length], ['regression', 2, 240 * 2]);
  });

  it('shapes: [size, size, 1] images of three classes whose shapes are visible', () => {
    const c = config(net('{source: shapes, size: 12, samples: 300, noise: 0}', '{type: dense, units: 3, activation: softmax}').replace('layers:\n', 'layers:\n    - {type: flatten}\n'));
    const d = loadDataset(c, '/tmp');
    assert.deepEqual([d.inputShape, d.targetDim, d.classNames], [[12, 12, 1], 3, ['triangle', 'square', 'ellipse']]);
    for (let i = 0; i < d.train.n; i++) {
      const img = d.train.x.subarray(i * 144, (i + 1) * 144);
      const lit = img.filter(v => v > 0.3).length;
      assert.ok(lit >= 6 && lit < 144 * 0.9, `image ${i}: ${lit} lit pixels`);
      assert.ok(img.every(v => v >= 0 && v <= 1));
    }
  });

  it('iris from its registry package: 150 flowers, 4 standardized features, 3 classes of 50', () => {
    const d = loadDataset(config(net('{source: iris}', '{type: dense, units: 3, activation: softmax}')), '/tmp');
    assert.deepEqual([d.train.n, d.val.n, d.inputShape, d.classNames], [120, 30, [4], ['setosa', 'versicolor', 'virginica']]);
    assert.deepEqual(classCounts(d), [50, 50, 50]);
  });
});

describe('data: targets follow the loss', () => {
  it('mse on class data: one-hot targets; binary_cross_entropy: 0/1', () => {
    const onehot = loadDataset(config(net('{source: spiral, classes: 3}', '{type: dense, units: 3}')), '/tmp');
    assert.deepEqual([onehot.task, onehot.targetDim], ['regression', 3]);
    for (let i = 0; i < onehot.train.n; i++) assert.equal(onehot.train.y.subarray(3 * i, 3 * i + 3).reduce((a, b) => a + b, 0), 1);
    const bin = loadDataset(config(net('{source: moons}', '{type: dense, units: 1, activation: sigmoid}')), '/tmp');
    assert.deepEqual([bin.task, bin.targetDim], ['binary', 1]);
    assert.ok(bin.train.y.every(v => v === 0 || v === 1));
  });
});

describe('data: csv', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-csv-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'net.nn.yaml');
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  const csvNet = (csv: string, out = '{type: dense, units: 1, activation: sigmoid}', extra = '') => config(net(`{source: csv, path: ${csv}, target: y${extra}}`, out), file);

  it('numeric features standardized, the target column anywhere, class labels as strings', () => {
    write('a.csv', 'x1,y,x2\n1,yes,10\n2,no,20\n3,yes,30\n4,no,40\n5,yes,50\n');
    const d = loadDataset(csvNet('a.csv'), dir);
    assert.deepEqual([d.task, d.inputShape, d.train.n + d.val.n], ['binary', [2], 5]);
    const all = [...d.train.x, ...d.val.x];
    const x1 = all.filter((_, i) => i % 2 === 0);
    assert.ok(Math.abs(x1.reduce((a, b) => a + b, 0)) < 1e-5, 'mean 0');
    assert.ok(Math.abs(Math.sqrt(x1.reduce((a, b) => a + b * b, 0) / 5) - 1) < 1e-5, 'std 1');
    assert.deepEqual(d.classNames, ['no', 'yes']);
  });

  it('minmax normalization and a regression target', () => {
    write('r.csv', 'a,b,y\n0,5,1.5\n10,5,2.5\n5,5,3.5\n');
    const d = loadDataset(csvNet('r.csv', '{type: dense, units: 1}', ', normalize: minmax'), dir);
    const all = [...d.train.x, ...d.val.x];
    assert.deepEqual([Math.min(...all), Math.max(...all)], [0, 1]);
    assert.equal(d.task, 'regression');
    assert.deepEqual([...d.train.y, ...d.val.y].sort(), [1.5, 2.5, 3.5]);
  });

  it('a non-number names its row and column, with the span of the cell in the csv', () => {
    write('bad.csv', 'x1,x2,y\n1,2,0\n3,abc,1\n');
    assert.throws(() => loadDataset(csvNet('bad.csv'), dir), (e: unknown) => {
      assert.ok(e instanceof InputError);
      // The cell's text is not quoted (a CSV may be anyone's file): its range points at it.
      assert.equal(e.message, 'row 3, column "x2" (2): not a number');
      assert.equal(e.file, path.join(dir, 'bad.csv'));
      assert.deepEqual([e.problem.span!.start.line, e.problem.span!.start.character, e.problem.span!.end.character], [2, 2, 5]);
      return true;
    });
    write('ragged.csv', 'x1,x2,y\n1,2,0\n3,1\n');
    assert.throws(() => loadDataset(csvNet('ragged.csv'), dir), /row 3: 2 columns, but the header has 3/);
    write('empty.csv', 'x1,x2,y\n1,,0\n');
    assert.throws(() => loadDataset(csvNet('empty.csv'), dir), /row 2, column "x2" \(2\): empty cell/);
  });

  it('stays inside the workspace', () => {
    write('in.csv', 'x,y\n1,0\n2,1\n');
    const c = csvNet('in.csv');
    c.data.path = '../outside.csv';
    assert.throws(() => loadDataset(c, dir, { workspaceRoot: dir }), (e: unknown) => e instanceof InputError && /outside the workspace/.test(e.message) && e.problem.span !== undefined);
    c.data.path = 'missing.csv';
    assert.throws(() => loadDataset(c, dir), /cannot read missing\.csv: no such file/);
  });

  it('the bundled csv example loads: 400 pump readings, 5 features', () => {
    const ex = path.join(__dirname, '../../../examples/csv-pump-failure.nn.yaml');
    const r = parseConfigText(fs.readFileSync(ex, 'utf8'), ex);
    const d = loadDataset(r.config!, path.dirname(ex));
    assert.deepEqual([d.train.n, d.val.n, d.inputShape, d.task], [300, 100, [5], 'binary']);
  });
});

describe('data: mismatches are InputErrors with a place', () => {
  it('an output width that does not fit the data', () => {
    const c = config(net('{source: spiral, classes: 3}', '{type: dense, units: 3, activation: softmax}'));
    (c.model.layers[1] as { units: number }).units = 4;
    assert.throws(() => loadDataset(c, '/tmp'), (e: unknown) => e instanceof InputError && /4 units but the spiral data has 3 classes/.test(e.message) && !!e.problem.span);
  });
  it('tensorboard logs are not training data', () => {
    const c = config('data: {source: tensorboard, logdir: runs}\nmodel:\n  input: 2\n  layers:\n    - {type: dense, units: 1}\n');
    assert.throws(() => loadDataset(c, '/tmp'), /no samples to train on/);
  });
});

describe('csv messages quote at most column names, shortened', () => {
  it('a wrong target in a 500-column header with a long, escape-laden name stays one short line', () => {
    const long = `\u001b]52;c;${'A'.repeat(300)}\u0007`;   // an OSC 52 "set clipboard" sequence as a column name
    const header = [long, ...Array.from({ length: 499 }, (_, i) => `c${i}`)];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cols-'));
    fs.writeFileSync(path.join(dir, 'wide.csv'), `${header.join(',')}\n${header.map(() => '1').join(',')}\n${header.map(() => '2').join(',')}\n`);
    const text = 'data: {source: csv, path: wide.csv, target: nope}\nmodel:\n  layers:\n    - {type: dense, units: 1}\ntrain: {loss: mse}\n';
    const msg = parseConfigText(text, path.join(dir, 'w.nn.yaml')).problems.find(p => /target column/.test(p.message))?.message ?? '';
    assert.match(msg, /target column "nope" is not in the CSV header \("\?\]52;c;A+…", "c0", .*"c6", … \(500 columns\)\)/);
    assert.ok(msg.length < 200, `${msg.length} characters`);
    assert.ok(!/[\u0000-\u001f]/.test(msg), 'no control characters');
  });
});
