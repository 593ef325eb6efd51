/**
 * CSV reading for `source: csv`: a header row, numeric feature columns, one target column. Every error names
 * the row (1-based, as a spreadsheet shows it; the header is row 1) and the column, and carries the span in
 * the CSV file.
 */
import { InputError, type InputProblem, type Span } from '../model';

export interface CsvTable {
  header: string[];
  /** Data rows (header excluded), each with its 0-based line in the file and its cells' start columns. */
  rows: { line: number; cells: string[]; starts: number[] }[];
  delimiter: string;
}

export const MAX_CSV_BYTES = 64 * 1024 * 1024;

function splitLine(line: string, delimiter: string): { cells: string[]; starts: number[] } {
  const cells: string[] = []; const starts: number[] = [];
  let i = 0;
  while (i <= line.length) {
    starts.push(i);
    if (line[i] === '"') {
      let v = ''; i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') { v += '"'; i += 2; } else if (line[i] === '"') { i++; break; } else v += line[i++];
      }
      while (i < line.length && line[i] !== delimiter) i++;
      cells.push(v);
    } else {
      const j = line.indexOf(delimiter, i);
      const end = j < 0 ? line.length : j;
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

export function parseCsv(text: string, file: string): CsvTable {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let h = 0;
  while (h < lines.length && lines[h].trim() === '') h++;
  if (h >= lines.length) fail(file, `${file} is empty: expected a header row and data rows`);
  const headerLine = lines[h];
  const delimiter = [',', ';', '\t'].map(d => [d, headerLine.split(d).length] as const).sort((a, b) => b[1] - a[1])[0][0];
  const header = splitLine(headerLine, delimiter).cells;
  const rows: CsvTable['rows'] = [];
  for (let i = h + 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const { cells, starts } = splitLine(lines[i], delimiter);
    if (cells.length !== header.length) {
      fail(file, `row ${i + 1}: ${cells.length} columns, but the header has ${header.length}`, cellSpan(i, 0, lines[i].length));
    }
    rows.push({ line: i, cells, starts });
  }
  if (!rows.length) fail(file, `${file} has a header but no data rows`, cellSpan(h, 0, headerLine.length));
  return { header, rows, delimiter };
}

/** Column index of the target: a header name, a 0-based index, or the last column by default. */
export function targetColumn(table: CsvTable, target: string | undefined, file: string): number {
  if (target === undefined) return table.header.length - 1;
  const byName = table.header.indexOf(target);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(target) && Number(target) < table.header.length) return Number(target);
  return fail(file, `target column "${target}" is not in the header (${table.header.join(', ')})`);
}

export interface CsvData {
  x: Float32Array; features: number; n: number;
  /** Raw target strings, one per row. */
  targets: string[];
  featureNames: string[];
}

/** Numeric features (every column but the target); a non-number names its row and column. */
export function csvFeatures(table: CsvTable, targetIdx: number, file: string): CsvData {
  const cols = table.header.map((_, i) => i).filter(i => i !== targetIdx);
  if (!cols.length) fail(file, 'the CSV has only the target column: no features');
  const n = table.rows.length;
  const x = new Float32Array(n * cols.length);
  const targets: string[] = [];
  table.rows.forEach((r, ri) => {
    cols.forEach((c, j) => {
      const s = r.cells[c];
      const v = s === '' ? NaN : Number(s);
      if (!Number.isFinite(v)) {
        fail(file, `row ${r.line + 1}, column "${table.header[c]}" (${c + 1}): ${s === '' ? 'empty cell' : `"${s.slice(0, 40)}" is not a number`}`,
          cellSpan(r.line, r.starts[c], s.length));
      }
      x[ri * cols.length + j] = v;
    });
    targets.push(r.cells[targetIdx]);
  });
  return { x, features: cols.length, n, targets, featureNames: cols.map(c => table.header[c]) };
}

/** Header-only look at a CSV text: number of feature columns and data rows (for the parser's defaults). */
export function csvOutline(text: string): { columns: string[]; rows: number } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter(l => l.trim() !== '');
  if (!lines.length) return { columns: [], rows: 0 };
  const delimiter = [',', ';', '\t'].map(d => [d, lines[0].split(d).length] as const).sort((a, b) => b[1] - a[1])[0][0];
  return { columns: splitLine(lines[0], delimiter).cells, rows: lines.length - 1 };
}
