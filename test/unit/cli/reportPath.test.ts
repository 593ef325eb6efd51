/**
 * The CLI never writes a report (--html) over a file the command read: the config (also through a hard link),
 * its data.path, a model and its weight files, the event files of a log directory (nor anything inside that
 * directory). Refusals come before training: stdout is still empty. In-process, with absolute paths.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers';
import { compareVerdict } from '../../../src/diagnosis/trials';

const posix = process.platform !== 'win32';
const EXAMPLE_LOGS = path.join(__dirname, '../../../examples/tensorboard');

/** A TF.js layers-model (one dense layer, 2 -> 2 softmax) and its weights, hand-written: 6 float32 values. */
function writeTfjsModel(dir: string): void {
  const topology = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'out', units: 2, activation: 'softmax', use_bias: true, batch_input_shape: [null, 2], dtype: 'float32' } }] } };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: topology,
    weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'out/kernel', shape: [2, 2], dtype: 'float32' }, { name: 'out/bias', shape: [2], dtype: 'float32' }] }] }));
  fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.from(new Float32Array([0.5, -0.5, 0.25, 0.75, 0, 0.1]).buffer));
}

describe('CLI: a report never overwrites an input', function () {
  this.timeout(120_000);
  let dir: string;
  const p = (name: string) => path.join(dir, name);
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-report-path-'));
    const rows = Array.from({ length: 40 }, (_, i) => `${(i % 7) / 7},${(i % 5) / 5},${i % 2}`);
    fs.writeFileSync(p('data.csv'), `a,b,y\n${rows.join('\n')}\n`);
    fs.writeFileSync(p('csv.nn.yaml'), 'data: {source: csv, path: data.csv, target: y}\nmodel:\n  layers:\n    - {type: dense, units: 4, activation: relu}\n    - {type: dense, units: 2, activation: softmax}\ntrain: {loss: cross_entropy, steps: 3}\n');
    writeTfjsModel(dir);
    fs.writeFileSync(p('tfjs.nn.yaml'), 'data: {source: moons, samples: 100}\nmodel:\n  keras: model.json\n  init: from-model\ntrain: {loss: cross_entropy, steps: 3}\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** diagnose with --html onto `victim`: exit 2 before training (nothing on stdout), one line naming it, the file unchanged. */
  async function refused(config: string, victim: string, re: RegExp) {
    const before = fs.readFileSync(victim);
    const r = await runCli(['diagnose', config, '--html', victim]);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.out, '', 'refused before training: no report on stdout');
    assert.match(r.err, re);
    assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
    assert.ok(fs.readFileSync(victim).equals(before), `${victim} is untouched`);
  }

  it('the csv that data.path names', async () => {
    await refused(p('csv.nn.yaml'), p('data.csv'), /cannot write --html .*data\.csv: it is .*data\.csv, which this command reads; refusing to overwrite it/);
  });

  it('an image of an ImageFolder data set that was not read (samples: 10 of 20), and a new file inside the folder', async () => {
    // Attack review 15: only the images read so far were inputs; --html onto a later one replaced it.
    fs.cpSync(path.join(__dirname, '../../fixtures/data/images'), p('imgs'), { recursive: true });
    // 10 images per class; samples: 10 reads the first 5 of each (classes interleaved), 9-late.png is never read.
    for (const cls of ['cat', 'dog']) for (let k = 5; k < 10; k++) fs.copyFileSync(path.join(p('imgs'), cls, '1-RGB.png'), path.join(p('imgs'), cls, `${k}-late.png`));
    fs.writeFileSync(p('img.nn.yaml'), 'data: {source: images, path: imgs, samples: 10, validation: 0.2}\nmodel:\n  input: [6, 6, 3]\n  layers: [{type: flatten}, {type: dense, units: 2, activation: softmax}]\ntrain: {loss: cross_entropy, steps: 2, batch: 2}\n');
    const unread = path.join(p('imgs'), 'dog', fs.readdirSync(path.join(p('imgs'), 'dog')).sort().pop()!);
    await refused(p('img.nn.yaml'), unread, /it is inside the data folder imgs, which this command reads; refusing to write there/);
    const r = await runCli(['diagnose', p('img.nn.yaml'), '--html', path.join(p('imgs'), 'cat', 'report.html')]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /inside the data folder imgs/);
    assert.ok(!fs.existsSync(path.join(p('imgs'), 'cat', 'report.html')));
  });

  it('a TF.js model.json and the .bin its weights manifest names', async () => {
    await refused(p('tfjs.nn.yaml'), p('model.json'), /model\.json, which this command reads/);
    await refused(p('tfjs.nn.yaml'), p('w.bin'), /w\.bin, which this command reads/);
  });

  it('a hard link to the config (same device and inode, another name)', async function () {
    if (!posix) this.skip();
    fs.linkSync(p('csv.nn.yaml'), p('hard.html'));
    await refused(p('csv.nn.yaml'), p('hard.html'), /it is the input .*csv\.nn\.yaml; refusing to overwrite it/);
  });

  it('a report path that is no input is written', async () => {
    const r = await runCli(['diagnose', p('csv.nn.yaml'), '--html', p('report.html'), '--fail-on', 'never']);
    assert.equal(r.code, 0, r.err);
    assert.match(fs.readFileSync(p('report.html'), 'utf8'), /<html/i);
  });

  it('diagnose-run: an event file in the log directory, or any new file there, directly or through a config naming it', async () => {
    const logs = p('tb');
    fs.cpSync(EXAMPLE_LOGS, logs, { recursive: true });
    const event = path.join(logs, 'dying-relu', fs.readdirSync(path.join(logs, 'dying-relu')).find(f => f.includes('tfevents'))!);
    const before = fs.readFileSync(event);
    for (const out of [event, path.join(logs, 'dying-relu', 'report.html'), path.join(logs, 'report.html')]) {
      const r = await runCli(['diagnose-run', logs, '--html', out]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /it is inside the input directory .*tb; refusing to write there/);
    }
    fs.writeFileSync(p('tb.nn.yaml'), 'data: {source: tensorboard, logdir: tb}\nmodel:\n  input: 2\n  layers:\n    - {type: dense, units: 2, activation: relu}\n');
    const viaConfig = await runCli(['diagnose-run', p('tb.nn.yaml'), '--html', event]);
    assert.equal(viaConfig.code, 2, viaConfig.err);
    assert.match(viaConfig.err, /cannot write --html .*: it is inside the input directory .*tb; refusing to write there/);
    assert.ok(fs.readFileSync(event).equals(before), 'the event file is untouched');
    assert.ok(!fs.existsSync(path.join(logs, 'report.html')) && !fs.existsSync(path.join(logs, 'dying-relu', 'report.html')));
    const ok = await runCli(['diagnose-run', logs, '--run', 'dying-relu', '--html', p('run.html'), '--fail-on', 'never']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(fs.readFileSync(p('run.html'), 'utf8'), /<html/i);
  });
});

describe('CLI: inputs that must not be read, names that must not split a line', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cli-inputs-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('compare --candidates "" or "," is refused (exit 2), not reported as "every candidate diverged"', async () => {
    const file = path.join(dir, 'net.nn.yaml');
    fs.writeFileSync(file, 'data: {source: moons, samples: 100}\nmodel:\n  layers:\n    - {type: dense, units: 4, activation: relu}\n    - {type: dense, units: 2, activation: softmax}\ntrain: {loss: cross_entropy, steps: 3}\n');
    for (const list of ['', ',', ' , ']) {
      const r = await runCli(['compare', file, '--layer', '0', '--candidates', list]);
      assert.equal(r.code, 2, `--candidates "${list}": ${r.err}`);
      assert.equal(r.out, '');
      assert.match(r.err, /--candidates names no activation/);
    }
    // The verdict itself on no trials: no winner, and no advice to lower the learning rate.
    const v = compareVerdict([], 'relu', 'dense_1');
    assert.equal(v.winner, undefined);
    assert.doesNotMatch(v.message, /diverged|learning rate/);
  });

  it('data.path under /proc is refused before it is read; the message quotes none of its contents', async function () {
    if (process.platform !== 'linux') this.skip();
    const file = path.join(dir, 'env.nn.yaml');
    fs.writeFileSync(file, 'data: {source: csv, path: /proc/self/environ, target: y}\nmodel:\n  layers:\n    - {type: dense, units: 2, activation: softmax}\n');
    for (const cmd of ['lint', 'diagnose']) {
      const r = await runCli([cmd, file]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /env\.nn\.yaml:1:27: cannot read \/proc\/self\/environ: a kernel file under \/proc or \/sys/);
      assert.doesNotMatch(r.err, /PATH=|HOME=|not in the CSV header/);
    }
  });

  it('a newline in a config file name is printed as \\n in its file:line:col location', async function () {
    if (!posix) this.skip();
    const file = path.join(dir, 'a\nb.nn.yaml');
    fs.writeFileSync(file, 'model: [\n');
    const r = await runCli(['lint', file]);
    assert.equal(r.code, 2);
    assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
    assert.ok(r.err.startsWith(`${path.join(dir, 'a\\nb.nn.yaml')}:`), r.err);
  });
});
