/** outputPathProblem: an output path is refused when it is an input by identity (hard link, symlink) or lies in an input directory. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { outputPathProblem, outputTarget, writeOutputChecked } from '../../../src/io/outputPath';
import { noteFolderRead, readUserFile, recordReads } from '../../../src/io/userFile';

const posix = process.platform !== 'win32';

describe('outputPathProblem: never an input', () => {
  let dir: string;
  const p = (name: string) => path.join(dir, name);
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-outpath-'));
    fs.writeFileSync(p('in.nn.yaml'), 'model: {}\n');
    fs.mkdirSync(p('logs'));
    fs.writeFileSync(p('logs/events.out.tfevents.1'), 'x');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the write checks the opened file before truncating it: an input linked in after the path check is left whole', function () {
    if (!posix) this.skip();
    fs.writeFileSync(p('precious.csv'), 'a,y\n1,0\n');
    const rec = recordReads();
    try { readUserFile(p('precious.csv'), { kind: 'csv', label: 'precious.csv' }); } finally { rec.stop(); }
    // The path passes the check (no such file yet); then a hard link to the input takes its place.
    const problem = writeOutputChecked(p('race.html'), '<html>', rec.files, () => fs.linkSync(p('precious.csv'), p('race.html')));
    assert.equal(problem, 'it is precious.csv, which this command reads; refusing to overwrite it');
    assert.equal(fs.readFileSync(p('precious.csv'), 'utf8'), 'a,y\n1,0\n');
    // Same with a symbolic link; and a plain new file is written.
    const problem2 = writeOutputChecked(p('race2.html'), '<html>', rec.files, () => fs.symlinkSync(p('precious.csv'), p('race2.html')));
    assert.equal(problem2, 'it is precious.csv, which this command reads; refusing to overwrite it');
    assert.equal(fs.readFileSync(p('precious.csv'), 'utf8'), 'a,y\n1,0\n');
    assert.equal(writeOutputChecked(p('ok.html'), '<html>', rec.files), null);
    assert.equal(fs.readFileSync(p('ok.html'), 'utf8'), '<html>');
    // An existing longer file is truncated to the new text.
    fs.writeFileSync(p('ok.html'), 'x'.repeat(100));
    assert.equal(writeOutputChecked(p('ok.html'), '<html>', rec.files), null);
    assert.equal(fs.readFileSync(p('ok.html'), 'utf8'), '<html>');
  });

  it('a data folder a reader lists (an image folder) is input as a whole: no output anywhere inside it', () => {
    fs.mkdirSync(p('imgs/cat'), { recursive: true });
    fs.writeFileSync(p('imgs/cat/9.png'), 'png');
    const rec = recordReads();
    try { noteFolderRead(p('imgs'), 'imgs'); } finally { rec.stop(); }
    for (const out of [p('imgs/cat/9.png'), p('imgs/cat/new.html'), p('imgs/dog/new.html')]) {
      assert.equal(outputPathProblem(out, rec.files), 'it is inside the data folder imgs, which this command reads; refusing to write there', out);
    }
    assert.equal(outputPathProblem(p('imgs-report.html'), rec.files), null);
    // Review 15b: a file directly in the data folder is never read (only its class folders' images are): with
    // data.path . beside the config, --html report.html there was refused (a regression of 4e144f6).
    assert.equal(outputPathProblem(p('imgs/x.html'), rec.files), null);
  });

  it('a hard link outside a read data folder to an image in it (not read yet) is refused; a log directory\'s file too', function () {
    if (!posix) this.skip();
    // Review 15b: only paths inside the folder were refused; `--html report.html` with report.html a hard link
    // (a tar archive can carry one) to imgs/dog/9.png replaced the image.
    fs.mkdirSync(p('hl-imgs/dog'), { recursive: true });
    fs.writeFileSync(p('hl-imgs/dog/9.png'), 'png');
    fs.linkSync(p('hl-imgs/dog/9.png'), p('hl-report.html'));
    const rec = recordReads();
    try { noteFolderRead(p('hl-imgs'), 'hl-imgs'); } finally { rec.stop(); }
    assert.equal(outputPathProblem(p('hl-report.html'), rec.files), 'it is a hard link to hl-imgs/dog/9.png, inside the data folder hl-imgs, which this command reads; refusing to overwrite it');
    // The post-open check too: the link made after the path check.
    assert.equal(writeOutputChecked(p('hl-race.html'), '<html>', rec.files, () => fs.linkSync(p('hl-imgs/dog/9.png'), p('hl-race.html'))),
      'it is a hard link to hl-imgs/dog/9.png, inside the data folder hl-imgs, which this command reads; refusing to overwrite it');
    assert.equal(fs.readFileSync(p('hl-imgs/dog/9.png'), 'utf8'), 'png');
    fs.linkSync(p('logs/events.out.tfevents.1'), p('hl-ev.html'));
    assert.equal(outputPathProblem(p('hl-ev.html'), [p('logs')]), `it is a hard link to ${path.join(p('logs'), 'events.out.tfevents.1')}, inside the input directory ${p('logs')}; refusing to overwrite it`);
    // A hard-linked file that is no input is written as before.
    fs.writeFileSync(p('hl-a.html'), 'old');
    fs.linkSync(p('hl-a.html'), p('hl-b.html'));
    assert.equal(outputPathProblem(p('hl-a.html'), [...rec.files, p('logs')]), null);
  });

  it('a hard link to an input path is that input (same device and inode), whatever its name', function () {
    if (!posix) this.skip();
    fs.linkSync(p('in.nn.yaml'), p('hl.html'));
    assert.equal(outputPathProblem(p('hl.html'), [p('in.nn.yaml')]), `it is the input ${p('in.nn.yaml')}; refusing to overwrite it`);
    assert.equal(outputPathProblem(p('other.html'), [p('in.nn.yaml')]), null);
  });

  it('a file the readers opened (recordReads) is refused by identity, also through a hard link or a symlink', function () {
    if (!posix) this.skip();
    fs.writeFileSync(p('data.csv'), 'a,y\n1,0\n');
    fs.linkSync(p('data.csv'), p('data-hl.html'));
    fs.symlinkSync(p('data.csv'), p('data-sl.html'));
    const rec = recordReads();
    try { readUserFile(p('data.csv'), { kind: 'csv', label: 'data.csv' }); } finally { rec.stop(); }
    for (const out of [p('data.csv'), p('data-hl.html'), p('data-sl.html')]) {
      assert.equal(outputPathProblem(out, rec.files), 'it is data.csv, which this command reads; refusing to overwrite it', out);
    }
    assert.equal(outputPathProblem(p('fresh.html'), rec.files), null);
  });

  it('an input directory: nothing inside it, at any depth, existing or new', () => {
    const why = `it is inside the input directory ${p('logs')}; refusing to write there`;
    assert.equal(outputPathProblem(p('logs/events.out.tfevents.1'), [p('logs')]), why);
    assert.equal(outputPathProblem(p('logs/new.html'), [p('logs')]), why);
    assert.equal(outputPathProblem(p('logs/../logs/new.html'), [p('logs')]), why);
    assert.equal(outputPathProblem(p('logs.html'), [p('logs')]), null, 'a sibling whose name starts like the directory is outside it');
  });

  it('`link/..` is where the kernel goes (the link first, then up), not where the text says: an input there is refused, and outputTarget names it', function () {
    if (!posix) this.skip();
    // deep/a/b holds nothing; L -> deep/a/b, so L/../x is deep/a/x, and the text's own reading of it is ./x.
    fs.mkdirSync(p('deep/a/b'), { recursive: true });
    fs.writeFileSync(p('deep/a/data.csv'), 'a,y\n1,0\n');
    fs.symlinkSync(p('deep/a/b'), p('L'));
    const rec = recordReads();
    try { readUserFile(p('deep/a/data.csv'), { kind: 'csv', label: 'data.csv' }); } finally { rec.stop(); }
    const out = `${p('L')}/../data.csv`;
    assert.equal(outputTarget(out), fs.realpathSync(p('deep/a/data.csv')));
    assert.equal(outputPathProblem(out, rec.files), 'it is data.csv, which this command reads; refusing to overwrite it');
    assert.equal(outputPathProblem(out, [p('deep/a/data.csv')]), `it is the input ${p('deep/a/data.csv')}; refusing to overwrite it`);
    fs.mkdirSync(p('deep/logs'));
    assert.match(outputPathProblem(`${p('L')}/../../logs/new.html`, [p('deep/logs')]) ?? '', /inside the input directory/);
    assert.equal(outputPathProblem(`${p('L')}/../../logs/new.html`, [p('logs')]), null, 'another directory is the input');
  });

  it('a dangling symbolic link is refused (the write would create its target, wherever that is)', function () {
    if (!posix) this.skip();
    fs.symlinkSync(p('logs/created-by-write.html'), p('dangling.html'));
    assert.equal(outputPathProblem(p('dangling.html'), []), 'it is a symbolic link to a missing file');
  });
});
