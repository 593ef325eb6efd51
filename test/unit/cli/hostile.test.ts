/**
 * The CLI in a hostile workspace, run as a user runs it (node dist/cli.js; `npm run build` first): output paths
 * checked before training, bounded --steps/--epochs, configs naming FIFOs and devices, names that carry
 * terminal escapes or collide with Object.prototype.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { safeText } from '../../../src/format';
import { EventFileWriter } from '../../../src/tensorboard/writer';
import { LAYERS_TAG } from '../../../src/tensorboard/run';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const posix = process.platform !== 'win32';

/** Runs the CLI; a hang is killed (the guard, not a timing assertion) and reported as such. */
function cli(args: string[], cwd: string) {
  const p = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(p.signal, null, `killed (${p.signal}): the CLI hung on ${args.join(' ')}`);
  return { code: p.status, out: p.stdout, err: p.stderr };
}
const oneLine = (s: string) => s.trimEnd().split('\n').length === 1 && !/\n\s+at /.test(s);

const NET = 'data: {source: spiral, samples: 200}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: relu}\n    - {type: dense, units: 3, activation: softmax}\ntrain: {loss: cross_entropy, steps: 5}\n';

describe('CLI: hostile workspace', function () {
  this.timeout(120_000);
  let dir: string;
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-cli-hostile-'));
    fs.writeFileSync(path.join(dir, 'victim.nn.yaml'), NET);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--html onto the input config is refused before training; the config is untouched', () => {
    const r = cli(['diagnose', 'victim.nn.yaml', '--html', 'victim.nn.yaml'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.err, 'activation-lens diagnose: cannot write --html victim.nn.yaml: it is the input victim.nn.yaml; refusing to overwrite it\n');
    assert.equal(r.out, '', 'no report: nothing was trained');
    assert.equal(fs.readFileSync(path.join(dir, 'victim.nn.yaml'), 'utf8'), NET);
    if (posix) {
      fs.symlinkSync('victim.nn.yaml', path.join(dir, 'alias.html'));
      const s = cli(['diagnose', 'victim.nn.yaml', '--html', 'alias.html'], dir);
      assert.equal(s.code, 2);
      assert.match(s.err, /cannot write --html alias\.html: it is the input victim\.nn\.yaml; refusing to overwrite it/);
      assert.equal(fs.readFileSync(path.join(dir, 'victim.nn.yaml'), 'utf8'), NET);
    }
  });

  it('--html into a missing directory, onto a directory or a FIFO: one line, exit 2, before training', () => {
    const missing = cli(['diagnose', 'victim.nn.yaml', '--html', '/no/such/dir/x.html'], dir);
    assert.equal(missing.code, 2);
    assert.equal(missing.err, 'activation-lens diagnose: cannot write --html /no/such/dir/x.html: no such directory /no/such/dir\n');
    assert.equal(missing.out, '');
    fs.mkdirSync(path.join(dir, 'out.html'));
    const d = cli(['diagnose', 'victim.nn.yaml', '--html', 'out.html'], dir);
    assert.equal(d.code, 2);
    assert.match(d.err, /^activation-lens diagnose: cannot write --html out\.html: it is a directory\n$/);
    if (posix) {
      execFileSync('mkfifo', [path.join(dir, 'pipe.html')]);
      const f = cli(['diagnose', 'victim.nn.yaml', '--html', 'pipe.html'], dir);
      assert.equal(f.code, 2);
      assert.match(f.err, /cannot write --html pipe\.html: it exists and is not a regular file/);
    }
    // A good path still works.
    const ok = cli(['diagnose', 'victim.nn.yaml', '--html', 'report.html', '--fail-on', 'never'], dir);
    assert.equal(ok.code, 0, ok.err);
    assert.match(fs.readFileSync(path.join(dir, 'report.html'), 'utf8'), /<html/i);
  });

  it('--steps and --epochs are bounded like train.steps and train.epochs', () => {
    for (const [args, msg] of [
      [['--steps', '10000001'], '--steps must be an integer from 1 to 10000000, got "10000001"'],
      [['--steps', '1e3'], '--steps must be an integer from 1 to 10000000, got "1e3"'],
      [['--epochs', '100001'], '--epochs must be an integer from 1 to 100000, got "100001"'],
    ] as const) {
      const r = cli(['diagnose', 'victim.nn.yaml', ...args], dir);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.err, `activation-lens diagnose: ${msg}\n`);
    }
    // 100000 epochs of 160 training samples at batch 1: 16M steps, over the limit.
    fs.writeFileSync(path.join(dir, 'b1.nn.yaml'), NET.replace('steps: 5', 'batch: 1'));
    const r = cli(['diagnose', 'b1.nn.yaml', '--epochs', '100000'], dir);
    assert.equal(r.code, 2);
    assert.ok(oneLine(r.err), r.err);
    assert.match(r.err, /--epochs 100000 is 16000000 steps at batch 1, more than the 10000000 a run may take/);
  });

  it('a config whose data.path or model.keras is a FIFO, /dev/zero through a symlink, or /dev/stdin: one line, exit 2', function () {
    if (!posix || !fs.existsSync('/dev/zero')) this.skip();
    execFileSync('mkfifo', [path.join(dir, 'fifo.csv')]);
    execFileSync('mkfifo', [path.join(dir, 'model.json')]);
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.csv'));
    const csv = (p: string) => `data: {source: csv, path: ${p}}\nmodel:\n  layers:\n    - {type: dense, units: 1, activation: sigmoid}\n`;
    const cases: [string, string, RegExp][] = [
      ['fifo.nn.yaml', csv('fifo.csv'), /^fifo\.nn\.yaml:1:27: cannot read fifo\.csv: a FIFO \(named pipe\), not a regular file$/],
      ['zero.nn.yaml', csv('zero.csv'), /^zero\.nn\.yaml:1:27: cannot read zero\.csv: a character device, not a regular file$/],
      ['stdin.nn.yaml', csv('/dev/stdin'), /^stdin\.nn\.yaml:1:27: cannot read \/dev\/stdin: /],
      ['keras.nn.yaml', 'model:\n  keras: model.json\n', /^keras\.nn\.yaml:2:10: cannot read model\.json: a FIFO \(named pipe\), not a regular file$/],
    ];
    for (const [name, text, re] of cases) {
      fs.writeFileSync(path.join(dir, name), text);
      for (const cmd of ['diagnose', 'lint']) {
        // stdin is a pipe here, as when a tool runs the CLI: it must not be read either.
        const r = cli([cmd, name], dir);
        assert.equal(r.code, 2, `${cmd} ${name}: ${r.err}`);
        assert.match(r.err.trimEnd().split('\n').pop()!, re, `${cmd} ${name}`);
        assert.ok(!/\n\s+at /.test(r.err), r.err);
      }
    }
    execFileSync('mkfifo', [path.join(dir, 'cfg.nn.yaml')]);
    const r = cli(['lint', 'cfg.nn.yaml'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.err, 'cfg.nn.yaml:1:1: cfg.nn.yaml is a FIFO (named pipe), not a regular file: not a config file\n');
  });

  it('escape sequences and bidi overrides in layer names are printed inert; JSON keeps the name', () => {
    const evil = 'x\u001b[2J\u001b]52;c;aGk=\u0007\u009b1m\u202Egnp.exe';
    fs.writeFileSync(path.join(dir, 'evil.nn.json'), JSON.stringify({ data: { source: 'spiral' }, train: { loss: 'cross_entropy' },
      model: { layers: [{ type: 'dense', units: 8, activation: 'sigmoid', name: evil }, { type: 'dense', units: 3, activation: 'sigmoid' }] } }));
    const text = cli(['lint', 'evil.nn.json'], dir);
    const all = text.out + text.err;
    assert.match(all, /x\\u001b\[2J\\u001b\]52;c;aGk=\\u0007\\u009b1m\\u202egnp\.exe/);
    assert.doesNotMatch(all, /[\u001b\u0007\u009b\u202e]/);
    const json = cli(['lint', 'evil.nn.json', '--json'], dir);
    assert.doesNotMatch(json.out, /[\u001b\u0007\u009b\u202e]/);
    assert.equal(JSON.parse(json.out).model.layers[0].name, evil);
  });

  it('TensorBoard layers named constructor, toString and __proto__ are layers like any other', () => {
    const logs = path.join(dir, 'logs');
    const w = new EventFileWriter(logs);
    const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty'];
    w.text(LAYERS_TAG, JSON.stringify(names.map(n => ({ name: n }))), 0);
    for (let s = 0; s < 3; s++) for (const n of names) {
      w.histogram(`${n}/preact`, [-1, -0.5, 0.2, 1, 2], s);
      w.histogram(`${n}/grad_preact`, [0.01, -0.02, 0.03], s);
    }
    w.close();
    const r = cli(['diagnose-run', logs, '--json', '--fail-on', 'never', '--activation', 'constructor=tanh'], dir);
    assert.equal(r.code, 0, r.err);
    const layers = JSON.parse(r.out).model.layers as { name: string; activation: string | null }[];
    assert.deepEqual(layers.map(l => [l.name, l.activation]), [['constructor', 'tanh'], ['toString', null], ['__proto__', null], ['hasOwnProperty', null]]);
  });

  it('--threshold with a key that is no threshold (constructor, a typo) is a usage error (exit 2), not silently ignored', () => {
    const logs = path.join(dir, 'logs');
    for (const [arg, expected] of [['constructor=1', /unknown threshold "constructor"/], ['dead_warnin=0.4', /unknown threshold "dead_warnin" \(did you mean "dead_warning"\?\)/]] as const) {
      const r = cli(['diagnose-run', logs, '--threshold', arg], dir);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err.split('\n')[0], expected);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    }
    const ok = cli(['diagnose-run', logs, '--json', '--fail-on', 'never', '--threshold', 'dead_warning=0.4'], dir);
    assert.equal(ok.code, 0, ok.err);
  });
});

describe('safeText', () => {
  it('escapes C0 (but tab and newline), DEL, C1, bidi controls and line separators; keeps the rest', () => {
    assert.equal(safeText('a\tb\nc\r\u001b[0m\u007f\u0085\u200f\u2028\u2066é–✓'), 'a\tb\nc\\u000d\\u001b[0m\\u007f\\u0085\\u200f\\u2028\\u2066é–✓');
  });
});
