import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openUserFile, readUserFile, readUserFileAsync, readUserFileText, recordReads, statUserFile, UserFileError } from '../../../src/io/userFile';

const posix = process.platform !== 'win32';

describe('userFile: the reader for files a config names', function () {
  this.timeout(20000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-userfile-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const refuses = (code: string, re: RegExp) => (e: unknown) => e instanceof UserFileError && e.code === code && re.test(e.message) && !e.message.includes('\n');

  it('reads a regular file, and the same file through a symlink', () => {
    const f = path.join(dir, 'a.csv');
    fs.writeFileSync(f, 'x,y\n1,2\n');
    assert.equal(readUserFileText(f, { kind: 'csv' }), 'x,y\n1,2\n');
    if (posix) {
      fs.symlinkSync(f, path.join(dir, 'link.csv'));
      assert.equal(readUserFileText(path.join(dir, 'link.csv'), { kind: 'csv' }), 'x,y\n1,2\n');
      assert.equal(statUserFile(path.join(dir, 'link.csv')).realPath, fs.realpathSync(f));
    }
  });

  it('a FIFO is refused at once, without a writer (it would block forever)', function () {
    if (!posix) this.skip();
    const fifo = path.join(dir, 'pipe.csv');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => readUserFileText(fifo, { kind: 'csv', label: 'pipe.csv' }), refuses('NOT_REGULAR', /^cannot read pipe\.csv: a FIFO \(named pipe\), not a regular file$/));
    assert.throws(() => openUserFile(fifo), refuses('NOT_REGULAR', /FIFO/));
  });

  it('a FIFO is refused by the async reader too', async function () {
    if (!posix) this.skip();
    const fifo = path.join(dir, 'pipe2.json');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(readUserFileAsync(fifo, { kind: 'keras' }), refuses('NOT_REGULAR', /FIFO/));
  });

  it('/dev/zero and a committed symlink to it are refused as devices', function () {
    if (!fs.existsSync('/dev/zero')) this.skip();
    assert.throws(() => readUserFile('/dev/zero', { kind: 'csv' }), refuses('NOT_REGULAR', /\/dev\/zero: a character device, not a regular file/));
    const link = path.join(dir, 'zero.csv');
    fs.symlinkSync('/dev/zero', link);
    assert.throws(() => readUserFile(link, { kind: 'csv', label: 'zero.csv' }), refuses('NOT_REGULAR', /^cannot read zero\.csv: a character device/));
  });

  it('a directory, a missing file', () => {
    assert.throws(() => readUserFile(dir), refuses('NOT_REGULAR', /a directory, not a regular file/));
    assert.throws(() => readUserFile(path.join(dir, 'nope.csv'), { label: 'nope.csv' }), refuses('ENOENT', /^cannot read nope\.csv: no such file$/));
  });

  it('the size cap names the kind and the limit', () => {
    const f = path.join(dir, 'big.json');
    fs.writeFileSync(f, Buffer.alloc(3000, 32));
    assert.throws(() => readUserFile(f, { kind: 'keras', maxBytes: 2048 }), refuses('TOO_LARGE', /3 KB is larger than the 2 KB allowed for a keras file/));
    assert.equal(readUserFile(f, { kind: 'keras', maxBytes: 3000 }).length, 3000);
  });

  it('root: the real path must lie inside it; a symlink out of the workspace is refused', function () {
    if (!posix) this.skip();
    const ws = path.join(dir, 'ws'); fs.mkdirSync(ws);
    const outside = path.join(dir, 'secret.csv'); fs.writeFileSync(outside, 'a,b\n1,2\n');
    fs.writeFileSync(path.join(ws, 'in.csv'), 'a,b\n1,2\n');
    fs.symlinkSync(outside, path.join(ws, 'escape.csv'));
    assert.equal(readUserFileText(path.join(ws, 'in.csv'), { root: ws }), 'a,b\n1,2\n');
    assert.throws(() => readUserFile(path.join(ws, 'escape.csv'), { root: ws, label: 'escape.csv' }), refuses('OUTSIDE_ROOT', /^cannot read escape\.csv: outside the workspace folder/));
    assert.throws(() => readUserFile(outside, { root: ws }), refuses('OUTSIDE_ROOT', /outside the workspace/));
    // A sibling folder whose name starts like the root is not inside it.
    const sib = path.join(dir, 'ws2'); fs.mkdirSync(sib); fs.writeFileSync(path.join(sib, 'x.csv'), 'a\n');
    assert.throws(() => readUserFile(path.join(sib, 'x.csv'), { root: ws }), refuses('OUTSIDE_ROOT', /outside/));
  });

  it('kernel files under /proc and /sys (regular files of size 0 that hold the environment) are refused, also through a symlink', async function () {
    if (process.platform !== 'linux') this.skip();
    const kernel = /a kernel file under \/proc or \/sys, not a data or model file/;
    assert.throws(() => readUserFile('/proc/self/environ', { kind: 'csv' }), refuses('NOT_REGULAR', kernel));
    assert.throws(() => statUserFile('/proc/self/environ', { kind: 'csv' }), refuses('NOT_REGULAR', kernel));
    await assert.rejects(readUserFileAsync('/proc/self/environ', { kind: 'csv' }), refuses('NOT_REGULAR', kernel));
    if (fs.existsSync('/sys/kernel/mm/transparent_hugepage/enabled')) {
      assert.throws(() => readUserFile('/sys/kernel/mm/transparent_hugepage/enabled'), refuses('NOT_REGULAR', kernel));
    }
    const link = path.join(dir, 'env.csv');
    fs.symlinkSync('/proc/self/environ', link);
    assert.throws(() => readUserFile(link, { kind: 'csv', label: 'env.csv' }), refuses('NOT_REGULAR', /^cannot read env\.csv: a kernel file/));
  });

  it('a file whose stat says size 0 but which reads on is refused as not data (a kernel file mounted elsewhere)', () => {
    // Such files exist only on kernel file systems; the stat of an ordinary file is made to say 0 instead (on the
    // module object itself: the reader's import sees it).
    const f = path.join(dir, 'liar.csv'); fs.writeFileSync(f, 'a,b\n1,2\n');
    const nodeFs = require('node:fs') as { fstatSync: typeof fs.fstatSync };
    const fstatSync = nodeFs.fstatSync;
    nodeFs.fstatSync = ((...a: Parameters<typeof fs.fstatSync>) => Object.assign(fstatSync(...a) as fs.Stats, { size: 0 })) as typeof fs.fstatSync;
    try {
      assert.throws(() => readUserFile(f, { kind: 'csv' }), refuses('NOT_REGULAR', /its size is 0 yet it has content/));
    } finally {
      nodeFs.fstatSync = fstatSync;
    }
    const empty = path.join(dir, 'empty.csv'); fs.writeFileSync(empty, '');
    assert.equal(readUserFile(empty, { kind: 'csv' }).length, 0, 'a truly empty file still reads as empty');
  });

  it('recordReads: every file opened while recording, by path and identity (device, inode); nothing after stop', async () => {
    const a = path.join(dir, 'ra.csv'), b = path.join(dir, 'rb.json');
    fs.writeFileSync(a, 'x\n'); fs.writeFileSync(b, '{}');
    const rec = recordReads();
    readUserFile(a, { kind: 'csv', label: 'ra.csv' });
    await readUserFileAsync(b);
    rec.stop();
    readUserFile(a);
    const ids = (f: string) => { const st = fs.statSync(f); return { dev: st.dev, ino: st.ino }; };
    assert.deepEqual(rec.files, [
      { path: 'ra.csv', realPath: fs.realpathSync(a), ...ids(a) },
      { path: b, realPath: fs.realpathSync(b), ...ids(b) },
    ]);
  });

  it('async read of a regular file inside root', async () => {
    const f = path.join(dir, 'ok.json'); fs.writeFileSync(f, '{"a":1}');
    assert.equal((await readUserFileAsync(f, { root: dir })).toString(), '{"a":1}');
    await assert.rejects(readUserFileAsync(f, { maxBytes: 3 }), refuses('TOO_LARGE', /larger than/));
  });
});

describe('userFile: configs that name hostile files', function () {
  this.timeout(20000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-hostile-cfg-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Imported here so the reader tests above run even if the config layer fails to load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadConfigFile, parseConfigText } = require('../../../src/config') as typeof import('../../../src/config');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { formatProblem } = require('../../../src/model') as typeof import('../../../src/model');
  const errorsOf = (text: string, file: string, root?: string) =>
    parseConfigText(text, file, { workspaceRoot: root }).problems.filter(p => p.severity === 'error').map(p => formatProblem(file, p));
  const csvCfg = (p: string) => `data: {source: csv, path: ${p}}\nmodel:\n  layers:\n    - {type: dense, units: 1}\n`;

  it('data.path at a FIFO or a symlink to /dev/zero is an error at data.path, not a hang', function () {
    if (!posix || !fs.existsSync('/dev/zero')) this.skip();
    execFileSync('mkfifo', [path.join(dir, 'fifo.csv')]);
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.csv'));
    const cfg = path.join(dir, 'c.nn.yaml');
    assert.equal(errorsOf(csvCfg('fifo.csv'), cfg)[0], `${cfg}:1:27: cannot read fifo.csv: a FIFO (named pipe), not a regular file`);
    assert.equal(errorsOf(csvCfg('zero.csv'), cfg)[0], `${cfg}:1:27: cannot read zero.csv: a character device, not a regular file`);
  });

  it('model.keras at a FIFO is an error at the keras value', function () {
    if (!posix) this.skip();
    execFileSync('mkfifo', [path.join(dir, 'm.json')]);
    const cfg = path.join(dir, 'k.nn.yaml');
    assert.deepEqual(errorsOf('model:\n  keras: m.json\n', cfg), [`${cfg}:2:10: cannot read m.json: a FIFO (named pipe), not a regular file`]);
  });

  it('a csv symlinked out of the workspace is refused when a root is given (the path text alone looks inside)', function () {
    if (!posix) this.skip();
    const ws = path.join(dir, 'ws'); fs.mkdirSync(ws);
    fs.writeFileSync(path.join(dir, 'secret.csv'), 'a,b\n1,0\n2,1\n');
    fs.symlinkSync(path.join(dir, 'secret.csv'), path.join(ws, 'd.csv'));
    const cfg = path.join(ws, 'c.nn.yaml');
    assert.match(errorsOf(csvCfg('d.csv'), cfg, ws)[0], /c\.nn\.yaml:1:27: cannot read d\.csv: outside the workspace folder/);
    assert.deepEqual(errorsOf(csvCfg('d.csv'), cfg), [], 'without a root (the CLI) the link is followed');
  });

  it('the config file itself being a FIFO is one problem', function () {
    if (!posix) this.skip();
    const f = path.join(dir, 'p.nn.yaml');
    execFileSync('mkfifo', [f]);
    assert.deepEqual(loadConfigFile(f).problems.map(p => p.message), [`${f} is a FIFO (named pipe), not a regular file: not a config file`]);
  });
});
