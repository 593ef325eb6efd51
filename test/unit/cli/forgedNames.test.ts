/**
 * A file or folder name from an attacker's repo must not split a message line: "a\nFORGED ..." would print a
 * second line that looks like another finding. Each entry point a name comes in by (data.path, --html, a weight
 * file a TF.js manifest lists, an image folder and its files, a TensorBoard run directory), run as a user runs
 * it (node dist/cli.js; `npm run build` first): no output line starts with the forged text, and the name is
 * shown with its newline escaped (safeName, src/format.ts).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { locationName, safeName } from '../../../src/format';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const posix = process.platform !== 'win32';
const EXAMPLE_RUN = path.join(__dirname, '../../../examples/tensorboard/dying-relu');

/** The forged second line a name tries to print. */
const FORGED = 'error   x.nn.yaml:1:1 dead-units FORGED';
/** A name part carrying it: a newline, then the forged line (and a carriage return, a bidi override). */
const EVIL = `n\n${FORGED}\r\u202e`;
/** How the name part is printed: \n and \r escaped by safeName, U+202E too. */
const SHOWN = `n\\n${FORGED}\\r\\u202e`;

function cli(args: string[], cwd: string) {
  const p = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(p.signal, null, `killed (${p.signal}): the CLI hung on ${args.join(' ')}`);
  return { code: p.status, out: p.stdout, err: p.stderr };
}

/** No line of stdout or stderr begins with the forged text; `shown` (the message naming it, escaped) is there. */
function assertNotForged(r: { out: string; err: string }, shown: RegExp | string) {
  const all = `${r.out}\n${r.err}`;
  for (const line of all.split('\n')) assert.ok(!line.startsWith('error   x.nn.yaml'), `a forged line: ${JSON.stringify(line)}\n${all}`);
  if (typeof shown === 'string') assert.ok(all.includes(shown), `${JSON.stringify(shown)} not in:\n${all}`);
  else assert.match(all, shown);
}

const NET = 'model:\n  layers:\n    - {type: dense, units: 4, activation: relu}\n    - {type: dense, units: 2, activation: softmax}\ntrain: {loss: cross_entropy, steps: 3}\n';

describe('CLI: a name with a newline cannot forge an output line', function () {
  this.timeout(120_000);
  let dir: string;
  const p = (...names: string[]) => path.join(dir, ...names);
  before(function () {
    if (!posix) this.skip();
    if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-forged-names-'));
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('config data.path (a missing CSV): "cannot read" stays one line', () => {
    fs.writeFileSync(p('csv.nn.json'), JSON.stringify({ data: { source: 'csv', path: `${EVIL}.csv`, target: 'y' }, ...NET_JSON }));
    const r = cli(['diagnose', 'csv.nn.json'], dir);
    assert.equal(r.code, 2, r.err);
    // The lint warning (the CSV may be made later) and the error when it is read: each its own location line.
    for (const line of r.err.trimEnd().split('\n')) assert.ok(line.startsWith('csv.nn.json:1:'), `${JSON.stringify(line)} in\n${r.err}`);
    assertNotForged(r, `cannot read ${SHOWN}.csv: no such file`);
  });

  it('--html into a missing folder: "cannot write --html" stays one line', () => {
    fs.writeFileSync(p('net.nn.yaml'), `data: {source: moons, samples: 100}\n${NET}`);
    const r = cli(['diagnose', 'net.nn.yaml', '--html', `${EVIL}/x\ny.html`], dir);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
    assertNotForged(r, `cannot write --html ${SHOWN}/x\\ny.html: no such directory ${SHOWN}`);
  });

  it('a weight file name in a TF.js model.json manifest', () => {
    const topology = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'out', units: 2, activation: 'softmax', use_bias: true, batch_input_shape: [null, 2], dtype: 'float32' } }] } };
    fs.writeFileSync(p('model.json'), JSON.stringify({ format: 'layers-model', modelTopology: topology,
      weightsManifest: [{ paths: [`${EVIL}.bin`], weights: [{ name: 'out/kernel', shape: [2, 2], dtype: 'float32' }, { name: 'out/bias', shape: [2], dtype: 'float32' }] }] }));
    fs.writeFileSync(p('tfjs.nn.yaml'), 'data: {source: moons, samples: 100}\nmodel:\n  keras: model.json\n  init: from-model\ntrain: {loss: cross_entropy, steps: 3}\n');
    const r = cli(['diagnose', 'tfjs.nn.yaml'], dir);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
    assertNotForged(r, `${SHOWN}.bin`);
  });

  it('an image folder name and an image file name in it', () => {
    const imgs = `${EVIL}imgs`;
    for (const cls of ['cat', 'dog']) {
      fs.mkdirSync(p(imgs, cls), { recursive: true });
      fs.writeFileSync(p(imgs, cls, `${EVIL}.png`), 'not a png');
    }
    fs.writeFileSync(p('img.nn.json'), JSON.stringify({ data: { source: 'images', path: imgs, validation: 0.5 },
      model: { input: [4, 4, 3], layers: [{ type: 'flatten' }, { type: 'dense', units: 2, activation: 'softmax' }] }, train: { loss: 'cross_entropy', steps: 2, batch: 1 } }));
    const r = cli(['diagnose', 'img.nn.json'], dir);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
    assertNotForged(r, `${SHOWN}imgs/cat/${SHOWN}.png is neither a PNG nor a JPEG image`);
    // A folder with one class: the folder is named in the message.
    fs.rmSync(p(imgs, 'dog'), { recursive: true });
    const one = cli(['diagnose', 'img.nn.json'], dir);
    assert.equal(one.code, 2, one.err);
    assert.equal(one.err.trimEnd().split('\n').length, 1, one.err);
    assertNotForged(one, `${SHOWN}imgs has 1 class folder`);
  });

  it('a TensorBoard run directory name', () => {
    const logdir = p('logs');
    fs.mkdirSync(p('logs', `run${EVIL}`), { recursive: true });
    for (const f of fs.readdirSync(EXAMPLE_RUN)) fs.copyFileSync(path.join(EXAMPLE_RUN, f), p('logs', `run${EVIL}`, f));
    const r = cli(['diagnose-run', logdir, '--fail-on', 'never'], dir);
    assert.equal(r.code, 0, r.err);
    assertNotForged(r, `TensorBoard run "run${SHOWN}"`);
  });
});

const NET_JSON = { model: { input: [2], layers: [{ type: 'dense', units: 4, activation: 'relu' }, { type: 'dense', units: 2, activation: 'softmax' }] }, train: { loss: 'cross_entropy', steps: 3 } };

describe('safeName: a name as message text', () => {
  it('escapes newline, carriage return, tab, other C0/C1 controls, bidi overrides and line separators; keeps the rest', () => {
    assert.equal(safeName('a\nb\rc\td'), 'a\\nb\\rc\\td');
    assert.equal(safeName('x\u0007\u001b[2J\u007f\u009by'), 'x\\u0007\\u001b[2J\\u007f\\u009by');
    assert.equal(safeName('evil\u202egpj.csv\u2066\u2028'), 'evil\\u202egpj.csv\\u2066\\u2028');
    assert.equal(safeName('données/été 2024 ✓.csv'), 'données/été 2024 ✓.csv');
    assert.equal(safeName('C:\\data\\x.csv'), 'C:\\data\\x.csv', 'Windows separators stay');
    assert.equal(locationName('a\u202eb\nc'), 'a\\u202eb\\nc', 'a location escapes as much as a message');
  });
});
