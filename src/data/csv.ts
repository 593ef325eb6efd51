/**
 * CSV reading for `source: csv`: a header row, numeric feature columns, one target column. Every error names
 * the row (1-based, as a spreadsheet shows it; the header is row 1) and the column, and carries the span in
 * the CSV file.
 */
import { InputError, type InputProblem, type Span } from '../model';
import { safeName } from '../format';

/** A cell longer than any header name, number or class label: refused, never copied. */
export const MAX_CELL_CHARS = 65_536;

/**
 * A cell that cannot be read: past MAX_CELL_CHARS, or a quote never closed on its line (cells do not span
 * lines). Where it starts (character), which cell of the line it is (0-based, quoted delimiters not counted).
 */
class LongCell {
  constructor(readonly start: number, readonly index: number, readonly quoted: boolean, readonly closed: boolean, readonly long = true) {}
  get message(): string {
    if (!this.long) return 'a quoted cell whose quote, opened here, is never closed on its line';
    return this.quoted && !this.closed ? `a quoted cell of more than ${MAX_CELL_CHARS} characters: its quote, opened here, is never closed`
      : `a ${this.quoted ? 'quoted ' : ''}cell of more than ${MAX_CELL_CHARS} characters`;
  }
}

/** The cells of one line and where each starts; cells are slices (never built char by char); throws LongCell. */
function splitLine(line: string, delimiter: string): { cells: string[]; starts: number[] } {
  const cells: string[] = []; const starts: number[] = [];
  let i = 0;
  while (i <= line.length) {
    starts.push(i);
    if (line[i] === '"') {
      const open = i;
      const parts: string[] = [];
      let length = 0, closed = false;
      i++;
      while (!closed) {
        const q = line.indexOf('"', i);
        const stop = q < 0 ? line.length : q;
        length += stop - i;
        if (length > MAX_CELL_CHARS) throw new LongCell(open, cells.length, true, q >= 0);
        parts.push(line.slice(i, stop));
        if (q < 0) throw new LongCell(open, cells.length, true, false, false);
        if (line[q + 1] === '"') { parts.push('"'); length++; i = q + 2; } else { i = q + 1; closed = true; }
      }
      const j = line.indexOf(delimiter, i);
      i = j < 0 ? line.length : j;
      cells.push(parts.join(''));
    } else {
      const j = line.indexOf(delimiter, i);
      const end = j < 0 ? line.length : j;
      if (end - i > MAX_CELL_CHARS) throw new LongCell(i, cells.length, false, true);
      cells.push(line.slice(i, end).trim());
      i = end;
    }
    if (i >= line.length) break;
    i++; // delimiter
    if (i === line.length) { starts.push(i); cells.push(''); break; }
  }
  return { cells, starts };
}

function cellSpan(line: number, start: number, length: number): Span {
  return { start: { line, character: start, offset: 0 }, end: { line, character: start + Math.max(1, length), offset: 0 } };
}

function fail(file: string, message: string, span?: Span): never {
  const p: InputProblem = { severity: 'error', message, span };
  throw new InputError(p, file);
}

/** Columns beyond this are not a table we can train on; a one-line 64 MB file would otherwise be 16M strings. */
export const MAX_CSV_COLUMNS = 100_000;

function countOf(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/** The delimiter the header uses most (',' on a tie). */
function detectDelimiter(headerLine: string): string {
  return [',', ';', '\t'].map(d => [d, countOf(headerLine, d)] as const).sort((a, b) => b[1] - a[1])[0][0];
}

/** The header's cells; throws when it has more than MAX_CSV_COLUMNS, or a cell past MAX_CELL_CHARS. */
function headerCells(headerLine: string, onTooMany: (n: number) => never, onLongCell: (c: LongCell) => never): string[] {
  const d = detectDelimiter(headerLine);
  const n = countOf(headerLine, d) + 1;
  if (n > MAX_CSV_COLUMNS) onTooMany(n);
  try { return splitLine(headerLine, d).cells; } catch (e) {
    if (e instanceof LongCell) return onLongCell(e);
    throw e;
  }
}

/** A CSV that can never be read as data (too many columns, an endless cell), found by csvOutline. */
export class CsvShapeError extends Error {}
const tooMany = (n: number) => `the header has ${n} columns, more than the ${MAX_CSV_COLUMNS} a CSV may have`;

/** Index just past the line starting at pos (its '\n' excluded) and the index after its line break. */
function lineEnd(text: string, pos: number): { end: number; next: number } {
  const nl = text.indexOf('\n', pos);
  const brk = nl < 0 ? text.length : nl;
  return { end: brk > pos && text.charCodeAt(brk - 1) === 13 ? brk - 1 : brk, next: nl < 0 ? text.length : nl + 1 };
}

function isBlank(text: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) { const c = text.charCodeAt(i); if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff && c !== 0xa0) return false; }
  return true;
}

/**
 * How messages name columns: a CSV may be anyone's file, so messages quote at most its column names, each shortened
 * and without control characters, and never the contents of a cell (the error's range points at the cell).
 */
export function columnName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return `"${clean.length > 32 ? `${clean.slice(0, 31)}…` : clean}"`;
}
export function columnList(header: string[]): string {
  const shown = header.slice(0, 8).map(columnName).join(', ');
  return header.length > 8 ? `${shown}, … (${header.length} columns)` : shown;
}

/** Column index of the target: a header name, a 0-based index, or the last column by default. */
export function targetColumn(header: string[], target: string | undefined, file: string): number {
  if (target === undefined) return header.length - 1;
  const byName = header.indexOf(target);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(target) && Number(target) < header.length) return Number(target);
  return fail(file, `target column ${columnName(target)} is not in the header (${columnList(header)})`);
}

export interface CsvData {
  header: string[];
  /** Index of the target column in the header. */
  target: number;
  x: Float32Array; features: number; n: number;
  featureNames: string[];
  /** targets 'numbers': the target of each row. */
  numbers?: Float32Array;
  /** targets 'classes': each row's index into classValues (first-seen order). */
  classIds?: Int32Array;
  classValues?: string[];
  /** More distinct target values than maxClasses: classIds is incomplete. */
  tooManyClasses?: boolean;
}

export interface CsvParseOptions {
  target?: string;
  /** 'numbers': the target must be numeric (mse); 'classes': target strings become class ids. */
  targets: 'numbers' | 'classes';
  /** Stop collecting classes beyond this many (default 1000). */
  maxClasses?: number;
}

/**
 * Parses a CSV text straight into typed arrays: numeric features (every column but the target) and the
 * target as numbers or class ids. Memory is the text plus 4 bytes per cell; no per-row objects or strings
 * are kept, so a file of millions of short rows costs what the estimate says. A non-number, a short row or a
 * bad target names its row and column.
 */
export function parseCsvData(text: string, file: string, opts: CsvParseOptions): CsvData {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 0;
  let header: string[] | undefined, headerLine = '', hLine = 0;
  while (pos < text.length) {
    const { end, next } = lineEnd(text, pos);
    const blank = isBlank(text, pos, end);
    if (!blank) { headerLine = text.slice(pos, end); hLine = line; header = headerCells(headerLine, n => fail(file, tooMany(n), cellSpan(line, 0, 1)), c => fail(file, `row ${line + 1}, column ${c.index + 1}: ${c.message}`, cellSpan(line, c.start, 1))); }
    pos = next; line++;
    if (!blank) break;
  }
  if (!header) return fail(file, `${safeName(file)} is empty: expected a header row and data rows`);
  const delimiter = detectDelimiter(headerLine);
  const ncols = header.length;
  const ti = targetColumn(header, opts.target, file);
  const cols = header.map((_, i) => i).filter(i => i !== ti);
  if (!cols.length) fail(file, 'the CSV has only the target column: no features');
  const f = cols.length;
  // featureOf[c]: position of column c among the features, -1 for the target.
  const featureOf = header.map((_, c) => c === ti ? -1 : c < ti ? c : c - 1);

  // Rows are at most the remaining line breaks + 1.
  let bound = 1;
  for (let i = text.indexOf('\n', pos); i >= 0; i = text.indexOf('\n', i + 1)) bound++;
  let x = new Float32Array(bound * f);
  const numbers = opts.targets === 'numbers' ? new Float32Array(bound) : undefined;
  const classIds = opts.targets === 'classes' ? new Int32Array(bound) : undefined;
  const classIndex = new Map<string, number>();
  const classValues: string[] = [];
  const maxClasses = opts.maxClasses ?? 1000;
  let tooManyClasses = false;
  const delimCode = delimiter.charCodeAt(0);
  let nextQuote = text.indexOf('"', pos);
  let n = 0;

  const classOf = (s: string): number => {
    const id = classIndex.get(s);
    if (id !== undefined) return id;
    if (classValues.length >= maxClasses) { tooManyClasses = true; return -1; }
    classIndex.set(s, classValues.length);
    classValues.push(s);
    return classValues.length - 1;
  };
  const targetNumber = (s: string, lineNo: number, start: number): number => {
    const v = s === '' ? NaN : Number(s);
    if (!Number.isFinite(v)) {
      fail(file, `row ${lineNo + 1}, column ${columnName(header[ti])} (${ti + 1}): the target is not a number (mse needs numeric targets; for classes use cross_entropy)`,
        cellSpan(lineNo, start, s.length));
    }
    return v;
  };

  /** The general path (quoted cells, and every row with a problem, so the message is exact). */
  const slowRow = (a: number, b: number) => {
    const l = text.slice(a, b);
    // A row of millions of cells is refused by counting, before it is split into strings.
    if (!l.includes('"')) {
      const count = countOf(l, delimiter) + 1;
      if (count !== ncols) fail(file, `row ${line + 1}: ${count} columns, but the header has ${ncols}`, cellSpan(line, 0, l.length));
    }
    let split: ReturnType<typeof splitLine>;
    try { split = splitLine(l, delimiter); } catch (e) {
      if (!(e instanceof LongCell)) throw e;
      return fail(file, `row ${line + 1}, column ${e.index + 1}: ${e.message}`, cellSpan(line, e.start, 1));
    }
    const { cells, starts } = split;
    if (cells.length !== ncols) fail(file, `row ${line + 1}: ${cells.length} columns, but the header has ${ncols}`, cellSpan(line, 0, l.length));
    for (let c = 0; c < ncols; c++) {
      const s = cells[c];
      if (c === ti) {
        if (numbers) numbers[n] = targetNumber(s, line, starts[c]);
        else classIds![n] = classOf(s);
        continue;
      }
      const v = s === '' ? NaN : Number(s);
      if (!Number.isFinite(v)) {
        fail(file, `row ${line + 1}, column ${columnName(header[c])} (${c + 1}): ${s === '' ? 'empty cell' : 'not a number'}`, cellSpan(line, starts[c], s.length));
      }
      x[n * f + featureOf[c]] = v;
    }
  };

  /** The common row: no quotes, every cell a number; false sends the row to slowRow. */
  const fastRow = (a: number, b: number): boolean => {
    let p = a, c = 0;
    const base = n * f;
    for (;;) {
      let q = p;
      while (q < b && text.charCodeAt(q) !== delimCode) q++;
      // Too many cells, or one past the cap: slowRow says which.
      if (c >= ncols || q - p > MAX_CELL_CHARS) return false;
      const s = text.slice(p, q);
      if (c === ti) {
        if (numbers) {
          const v = Number(s);
          if (!Number.isFinite(v) || (v === 0 && s.trim() === '')) return false;
          numbers[n] = v;
        } else classIds![n] = classOf(s.trim());
      } else {
        const v = Number(s);
        if (!Number.isFinite(v) || (v === 0 && s.trim() === '')) return false;
        x[base + featureOf[c]] = v;
      }
      c++;
      if (q >= b) break;
      p = q + 1;
      if (p === b) return false; // a trailing delimiter: an empty last cell
    }
    return c === ncols;
  };

  while (pos < text.length) {
    const { end, next } = lineEnd(text, pos);
    if (!isBlank(text, pos, end)) {
      if (nextQuote >= 0 && nextQuote < pos) nextQuote = text.indexOf('"', pos);
      if ((nextQuote >= 0 && nextQuote < end) || !fastRow(pos, end)) slowRow(pos, end);
      n++;
    }
    pos = next; line++;
  }
  if (!n) fail(file, `${safeName(file)} has a header but no data rows`, cellSpan(hLine, 0, headerLine.length));
  if (n < bound) x = x.slice(0, n * f);
  return {
    header, target: ti, x, features: f, n, featureNames: cols.map(c => header[c]),
    ...(numbers ? { numbers: n < bound ? numbers.slice(0, n) : numbers } : {}),
    ...(classIds ? { classIds: n < bound ? classIds.slice(0, n) : classIds, classValues, tooManyClasses } : {}),
  };
}

export interface CsvOutline { columns: string[]; rows: number; /** UTF-8 size of the text */ bytes: number }

/** Header-only look at a CSV text: its columns and the number of data rows (for the parser's defaults). */
export function csvOutline(text: string): CsvOutline {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let columns: string[] | undefined;
  let rows = 0, line = 0;
  while (pos < text.length) {
    const { end, next } = lineEnd(text, pos);
    if (!isBlank(text, pos, end)) {
      if (columns) rows++;
      else {
        columns = headerCells(text.slice(pos, end), n => { throw new CsvShapeError(tooMany(n)); }, c => {
          throw new CsvShapeError(`line ${line + 1}:${c.start + 1}: ${c.message}`);
        });
      }
    }
    pos = next; line++;
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  return columns ? { columns, rows, bytes } : { columns: [], rows: 0, bytes };
}
