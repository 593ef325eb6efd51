/**
 * Large and odd CSV files: the parser agrees with Python's csv module, keeps no per-row objects (a CSV of
 * millions of short rows runs in the V8 heap its memory estimate gives it), the estimate counts the text, and
 * the training worker's heap is capped by memoryLimitMB.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { csvOutline, CsvShapeError, MAX_CELL_CHARS, MAX_CSV_COLUMNS, parseCsvData } from '../../../src/data/csv';
import { loadConfigFile } from '../../../src/config';
import { estimateMemory, memoryRefusal } from '../../../src/core/memory';
import { startRun } from '../../../src/worker/client';
import { makeConfig } from '../core/helpers';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const PY = '/usr/bin/python3';

describe('csv: large and odd files', function () {
  this.timeout(120000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-csv-large-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses quoted cells, CRLF, blank lines, a BOM and ";" as Python\'s csv module does', function () {
    if (!fs.existsSync(PY)) this.skip();
    const text = '\uFEFFa;"b";label\r\n1.5;2;cat\r\n\r\n"3";-4e-2;"dog"\r\n  7 ; 8 ;cat\r\n0x10;.5;bird\n';
    const f = path.join(dir, 'odd.csv');
    fs.writeFileSync(f, text);
    // Python: the oracle for cells; numbers through float() except the hex cell, which JS Number reads as 16.
    const py = execFileSync(PY, ['-c', `import csv,sys,json
rows=[r for r in csv.reader(open(sys.argv[1],encoding='utf-8-sig',newline=''),delimiter=';') if any(c.strip() for c in r)]
print(json.dumps({'header':rows[0],'rows':[[c.strip() for c in r] for r in rows[1:]]}))`, f], { encoding: 'utf8' });
    const want = JSON.parse(py) as { header: string[]; rows: string[][] };
    const d = parseCsvData(text, f, { targets: 'classes' });
    assert.deepEqual(d.header, want.header);
    assert.equal(d.n, want.rows.length);
    const num = (s: string) => s.startsWith('0x') ? parseInt(s, 16) : parseFloat(s);
    assert.deepEqual([...d.x], want.rows.flatMap(r => [Math.fround(num(r[0])), Math.fround(num(r[1]))]));
    assert.deepEqual([...d.classIds!].map(i => d.classValues![i]), want.rows.map(r => r[2]));
  });

  it('a header of millions of columns and a row of millions of cells are refused by counting', () => {
    const wide = '1,'.repeat(2_000_000) + '1\n1,2\n';
    assert.throws(() => parseCsvData(wide, 'w.csv', { targets: 'classes' }), new RegExp(`^InputError: the header has 2000001 columns, more than the ${MAX_CSV_COLUMNS} a CSV may have$`));
    assert.throws(() => csvOutline(wide), /the header has 2000001 columns/);
    const long = 'a,b,y\n1,2,0\n' + '1,'.repeat(1_000_000) + '1\n';
    assert.throws(() => parseCsvData(long, 'l.csv', { targets: 'classes' }), /^InputError: row 3: 1000001 columns, but the header has 3$/);
  });

  it(`a cell past ${MAX_CELL_CHARS} characters (an open quote that never closes) is refused where it starts`, () => {
    // Attack review finding 3: a 60 MB header `"xxxx…` was copied char by char (2 GB) before any check.
    const endless = 'x'.repeat(MAX_CELL_CHARS + 1);
    assert.throws(() => csvOutline(`\n\na,"${endless}\n1,2\n`), (e: Error) => e instanceof CsvShapeError
      && e.message === `line 3:3: a quoted cell of more than ${MAX_CELL_CHARS} characters: its quote, opened here, is never closed`);
    assert.throws(() => parseCsvData(`a,b,y\n1,"${endless},0\n`, 'q.csv', { targets: 'classes' }), (e: Error & { problem?: { span?: { start: { line: number; character: number } } } }) =>
      e.message === `row 2, column 2: a quoted cell of more than ${MAX_CELL_CHARS} characters: its quote, opened here, is never closed`
      && e.problem?.span?.start.line === 1 && e.problem.span.start.character === 2);
    assert.throws(() => csvOutline(`a,"${endless}",y\n`), /^Error: line 1:3: a quoted cell of more than 65536 characters$/);
    assert.throws(() => csvOutline(`a,${endless},y\n`), /^Error: line 1:3: a cell of more than 65536 characters$/);
    // Attack review 15: the column counted the commas inside an earlier quoted cell ("column 4"); an unquoted
    // cell of zeros past the cap read as 0 on the fast path; a short quote never closed read as a cell.
    type Located = Error & { problem?: { span?: { start: { line: number; character: number } } } };
    const at = (re: RegExp, line: number, character: number) => (e: Located) => re.test(e.message) && e.problem?.span?.start.line === line && e.problem.span.start.character === character;
    assert.throws(() => parseCsvData(`a,b,y\n"1,2,3",${endless},0\n`, 'q.csv', { targets: 'classes' }), at(/^row 2, column 2: a cell of more than 65536 characters$/, 1, 8));
    assert.throws(() => parseCsvData(`a,b,y\n1,2,0\n1,${'0'.repeat(MAX_CELL_CHARS + 1)},0\n`, 'z.csv', { targets: 'classes' }), at(/^row 3, column 2: a cell of more than 65536 characters$/, 2, 2));
    assert.throws(() => parseCsvData(`a,b,y\n1,"2,0\n`, 'o.csv', { targets: 'classes' }), at(/^row 2, column 2: a quoted cell whose quote, opened here, is never closed on its line$/, 1, 2));
    assert.throws(() => parseCsvData(`a,"b,c",y\n1,2,0\n`.replace('"b,c"', '"b,c'), 'h.csv', { targets: 'classes' }), at(/^row 1, column 2: a quoted cell whose quote, opened here, is never closed on its line$/, 0, 2));
    assert.throws(() => csvOutline(`a,"b,y\n1,2\n`), /^Error: line 1:3: a quoted cell whose quote, opened here, is never closed on its line$/);
    assert.equal(parseCsvData(`a,b,y\n"1,5",2,0\n`.replace('"1,5"', '1'), 'ok.csv', { targets: 'classes' }).n, 1);
    // At the bound, and with doubled quotes, cells are what they say.
    const atBound = 'x'.repeat(MAX_CELL_CHARS - 2);
    assert.deepEqual(csvOutline(`"${atBound}""""",y\n1,2\n`).columns, [`${atBound}""`, 'y']);
    // In a config: an error at data.path, not a warning.
    fs.writeFileSync(path.join(dir, 'openq.csv'), `"${endless}\n`);
    fs.writeFileSync(path.join(dir, 'openq.nn.yaml'), 'data: {source: csv, path: openq.csv, target: y}\nmodel:\n  layers:\n    - {type: dense, units: 2, activation: softmax}\n');
    const err = loadConfigFile(path.join(dir, 'openq.nn.yaml')).problems.find(p => /openq\.csv/.test(p.message))!;
    assert.equal(err.severity, 'error');
    assert.equal(err.message, `cannot read openq.csv: line 1:1: a quoted cell of more than ${MAX_CELL_CHARS} characters: its quote, opened here, is never closed`);
    assert.deepEqual([err.span!.start.line, err.span!.start.character], [0, 26]);
  });

  it('the memory estimate counts the csv text: a file of few, long rows is refused before it is read', () => {
    const f = path.join(dir, 'wide.csv');
    const pad = ' '.repeat(100_000);
    fs.writeFileSync(f, 'x,y\n' + Array.from({ length: 80 }, (_, i) => `${i}${pad},${i % 2}`).join('\n') + '\n');
    const cfg = path.join(dir, 'wide.nn.yaml');
    fs.writeFileSync(cfg, 'data: {source: csv, path: wide.csv}\nmodel:\n  layers:\n    - {type: dense, units: 1, activation: sigmoid}\n');
    const r = loadConfigFile(cfg);
    assert.ok(r.config, r.problems.map(p => p.message).join('; '));
    const bytes = fs.statSync(f).size;
    // The file is read (its bytes) and decoded (a string of at least as many bytes for ASCII).
    assert.ok(estimateMemory(r.config).bytes >= 2 * bytes, `estimate ${estimateMemory(r.config).bytes} for a ${bytes}-byte csv`);
    assert.match(memoryRefusal(r.config, 16) ?? 'accepted', /exceeds the limit of 16 MB; the data takes \d+ MB while it is loaded \(80 samples, read from a 8 MB csv\)/);
  });

  it('2M short rows run in the V8 heap the memory estimate gives them (no per-row objects)', function () {
    if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
    const rows = 2_000_000;
    const f = path.join(dir, 'long.csv');
    const lines: string[] = ['x,y'];
    for (let i = 0; i < rows; i++) lines.push(`${i % 10},${(i * 7) % 3 === 0 ? 1 : 0}`);
    fs.writeFileSync(f, lines.join('\n') + '\n');
    const cfg = path.join(dir, 'long.nn.yaml');
    fs.writeFileSync(cfg, 'data: {source: csv, path: long.csv}\nmodel:\n  layers:\n    - {type: dense, units: 1, activation: sigmoid}\ntrain: {steps: 2, batch: 32}\nprobe: {every: 1, samples: 64}\n');
    const r = loadConfigFile(cfg);
    assert.equal(r.config?.data.samples, rows);
    const mb = Math.ceil(estimateMemory(r.config).bytes / 2 ** 20);
    // An array of rows of cell strings needs several hundred bytes a row: it cannot fit this heap.
    const p = spawnSync(process.execPath, [`--max-old-space-size=${mb}`, CLI, 'diagnose', cfg, '--json', '--fail-on', 'never'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(p.status, 0, `exit ${p.status} ${p.signal ?? ''} with a ${mb} MB heap: ${p.stderr.slice(-600)}`);
    assert.equal(JSON.parse(p.stdout).config?.data?.samples ?? rows, rows);
  });

  it('the training worker\'s V8 heap is capped by memoryLimitMB: a runaway is an error, not the machine\'s memory', async () => {
    const fake = path.join(dir, 'hog.js');
    // Grows the JS heap by about 500 MB when asked to start, then reports done (only if nothing stopped it).
    fs.writeFileSync(fake, `const { parentPort } = require('node:worker_threads');
parentPort.on('message', m => { if (m.type !== 'start') return; const keep = [];
  for (let i = 0; i < 400; i++) keep.push(Array.from({ length: 1 << 15 }, (_, j) => ({ j })));
  parentPort.postMessage({ type: 'error', runId: m.runId, message: 'allocated ' + keep.length + ' MB unchecked' }); });`);
    const msg = await new Promise<string>(resolve => {
      startRun({ config: makeConfig([2], [{ type: 'dense', units: 1 }]), baseDir: dir, maxSteps: 1, memoryLimitMB: 64, workerPath: fake }, {
        stats() { /* none */ }, done: () => resolve('done'), cancelled: () => resolve('cancelled'), error: m => resolve(m),
      });
    });
    assert.equal(msg, 'the training worker ran out of memory: its heap is capped by activationLens.memoryLimitMB (64 MB)');
  });
});
