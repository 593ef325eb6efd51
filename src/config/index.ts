/**
 * The config API: *.nn.yaml / *.nn.yml / *.nn.json, or a Keras / TF.js model JSON given directly (told apart
 * by content), to the one NetworkConfig that core, rules, CLI and editor read. Never throws: every problem
 * is an InputProblem at its range.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as jsonc from 'jsonc-parser';
import { displayPos, type InputProblem, type LayerSpec, type NetworkConfig, type Span } from '../model';
import { locationName, safeName } from '../format';
import { finishConfig } from './finish';
import { importKeras, looksLikeKeras, readKeras } from './keras';
import { readConfigTree } from './parse';
import { Reporter } from './read';
import { schemaCheck } from './schema';
import { bomAsSpace, jsonDepthProblem, jsonTree, LineIndex, MAX_TEXT_CHARS, yamlTree, type TreeResult } from './tree';
import type { ParseResult } from './result';
import { csvOutline, type CsvOutline } from '../data/csv';
import { readUserFile, readUserFileText, statUserFile, UserFileError, USER_FILE_LIMITS, type UserFileKind } from '../io/userFile';
import { isOnnxName, loadOnnxFile, readOnnx } from './onnx';
import { isKerasZipName, kerasZipConfig, KerasZipError } from './kerasZip';
import { lintModelWeights } from './weights';

export type { ParseResult } from './result';
export { inferShapes, type LayerShape } from './shapes';
export { importKeras, toConfigYaml } from './keras';
export { importOnnx, isOnnxName, loadOnnxFile } from './onnx';

export interface ParseOptions {
  /** Reads a file the config refers to (model.keras, the csv header); default: the file system through src/io/userFile. */
  readFile?: (absPath: string, kind: UserFileKind) => string;
  /** When given, files the config names must lie inside it (real path, symlinks followed). */
  workspaceRoot?: string;
  /** Reads a binary model the config refers to (model.onnx); default: src/io/userFile's reader. */
  readBytes?: (absPath: string) => Uint8Array;
}

/** The default reader: regular files only, capped per kind, inside the workspace root when there is one. */
function fileReader(root: string | undefined): (absPath: string, kind: UserFileKind) => string {
  return (absPath, kind) => readUserFileText(absPath, { kind, root });
}

/** The csv header and row count by path, size and mtime: the parser runs on every keystroke, the csv rarely changes. */
const outlines = new Map<string, { key: string; outline: CsvOutline }>();
function cachedCsvOutline(absPath: string, root: string | undefined): CsvOutline {
  const st = statUserFile(absPath, { kind: 'csv', root });
  const key = `${st.realPath}:${st.size}:${st.mtimeMs}`;
  const hit = outlines.get(absPath);
  if (hit && hit.key === key) return hit.outline;
  const outline = csvOutline(readUserFileText(absPath, { kind: 'csv', root }));
  if (outlines.size >= 16) outlines.delete(outlines.keys().next().value!);
  outlines.set(absPath, { key, outline });
  return outline;
}

const isJsonName = (f: string) => /\.json$/i.test(f);
const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v);
const CONFIG_KEYS = ['model', 'data', 'train', 'probe', 'diagnostics', 'seed'];

/** Problems in reading order, so the first one printed is the first one in the file. */
function sorted(r: ParseResult): ParseResult {
  const key = (p: InputProblem) => p.span ? p.span.start.line * 1e6 + p.span.start.character : -1;
  r.problems = r.problems.map((p, i) => [p, i] as const).sort((a, b) => key(a[0]) - key(b[0]) || a[1] - b[1]).map(x => x[0]);
  return r;
}

export function parseConfigText(text: string, fileName: string, opts?: ParseOptions): ParseResult {
  try {
    return sorted(parseUnsafe(text, fileName, opts ?? {}));
  } catch (e) {
    // Last line of defence: a bug or an exhausted stack is still an answer, not a crash.
    const msg = e instanceof RangeError ? 'the file is nested too deeply to read' : `could not read the config: ${(e as Error).message}`;
    return { problems: [{ severity: 'error', message: msg, span: { start: { line: 0, character: 0, offset: 0 }, end: { line: 0, character: 0, offset: 0 } } }] };
  }
}

function parseUnsafe(text: string, fileName: string, opts: ParseOptions): ParseResult {
  text = bomAsSpace(text);
  const lines = new LineIndex(text.length > MAX_TEXT_CHARS ? '' : text);
  if (text.length > MAX_TEXT_CHARS) {
    const what = /^\s*[{[]/.test(text.slice(0, 100)) ? 'a network config or Keras model JSON' : 'a network config';
    return { problems: [{ severity: 'error', message: `the file has ${(text.length / 1e6).toFixed(1)} M characters: ${what} is at most ${MAX_TEXT_CHARS / 1e6} M`, span: lines.span(0, 0) }] };
  }
  if (/[\u0000-\u0008\u000e-\u001f]/.test(text.slice(0, 4096))) {
    const i = text.search(/[\u0000-\u0008\u000e-\u001f]/);
    return { problems: [{ severity: 'error', message: 'the file contains binary data (control characters): not a network config', span: lines.span(i, i + 1) }] };
  }
  const looksJson = /^\s*[{[]/.test(text);
  const yamlName = /\.ya?ml$/i.test(fileName);
  if (looksJson && !yamlName) {
    const deep = jsonDepthProblem(text, lines);
    if (deep) return { problems: [deep] };
    // A Keras/TF.js model given directly: tell it apart from a *.nn.json config by its keys.
    const value: unknown = jsonc.parse(text, [], { allowTrailingComma: true });
    const isConfig = isObject(value) && CONFIG_KEYS.some(k => Object.prototype.hasOwnProperty.call(value, k));
    if (!isConfig && (looksLikeKeras(value) || !/\.nn\.json$/i.test(fileName))) {
      const syntax = jsonTree(text, lines).problems;
      if (syntax.some(p => p.severity === 'error')) return { problems: syntax };
      return importKeras(value, text, fileName, { readFile: opts.readFile ?? fileReader(opts.workspaceRoot), workspaceRoot: opts.workspaceRoot });
    }
  }
  const json = !yamlName && (isJsonName(fileName) || looksJson);
  const tree: TreeResult = json ? jsonTree(text, lines) : yamlTree(text, lines);
  if (!tree.root) {
    if (!tree.problems.some(p => p.severity === 'error')) tree.problems.push({ severity: 'error', message: 'the file is empty: a network config needs a model section (see New Network Config)', span: lines.span(0, 0) });
    return { problems: tree.problems };
  }
  const rep = new Reporter();
  rep.problems.push(...tree.problems);
  const { draft, kerasPath, onnxPath } = readConfigTree(tree.root, fileName, rep);
  schemaCheck(tree.root, rep);
  if (!draft) return { problems: rep.problems };
  const readFile = opts.readFile ?? fileReader(opts.workspaceRoot);
  if (kerasPath) mergeKeras(draft, kerasPath, fileName, readFile, rep, opts.workspaceRoot);
  if (onnxPath) mergeOnnx(draft, onnxPath, fileName, rep, opts);
  if (!draft.layers.length) return { problems: rep.problems };
  const hadErrors = rep.hasErrors;
  const config = finishConfig(draft, rep, { readFile, workspaceRoot: opts.workspaceRoot, csvOutline: opts.readFile ? undefined : (p: string) => cachedCsvOutline(p, opts.workspaceRoot) });
  if (!config) return { problems: rep.problems };
  // init: from-model: the model's tensor dims against the layers' shapes (a config with errors has no shapes to trust).
  if (!hadErrors && !rep.hasErrors) {
    const readText = opts.readFile ? (abs: string) => opts.readFile!(abs, 'keras') : undefined;
    for (const p of lintModelWeights(config, path.dirname(path.resolve(fileName)), { root: opts.workspaceRoot, readBytes: opts.readBytes, readText })) rep.error(p.span, p.message, undefined, p.layer);
  }
  return hadErrors || rep.hasErrors ? { problems: rep.problems, partial: config } : { config, problems: rep.problems };
}

/** `model.keras: path`: import the layers (and training settings the file does not set) from a Keras JSON. */
function mergeKeras(draft: import('./finish').Draft, ref: { path: string; span: Span }, fileName: string, readFile: (p: string, kind: UserFileKind) => string, rep: Reporter, workspaceRoot?: string): void {
  const abs = path.resolve(path.dirname(path.resolve(fileName)), ref.path);
  if (workspaceRoot && path.relative(path.resolve(workspaceRoot), abs).split(path.sep)[0] === '..') {
    rep.error(ref.span, `model.keras "${safeName(ref.path)}" is outside the workspace`, '/model/keras');
    return;
  }
  let text: string;
  const zip = isKerasZipName(ref.path);
  try { text = zip ? kerasZipConfig(readUserFile(abs, { kind: 'keras', root: workspaceRoot })) : readFile(abs, 'keras'); } catch (e) {
    rep.error(ref.span, e instanceof KerasZipError ? `${safeName(ref.path)}: ${e.message}` : `cannot read ${safeName(ref.path)}: ${whyUnreadable(e)}`, '/model/keras');
    return;
  }
  text = bomAsSpace(text);
  const errors: jsonc.ParseError[] = [];
  const value = text.length > MAX_TEXT_CHARS * 8 ? undefined : jsonc.parse(text, errors);
  if (value === undefined || errors.length) { rep.error(ref.span, `${ref.path} is not valid JSON${errors.length ? ` (${jsonc.printParseErrorCode(errors[0].error)} at offset ${errors[0].offset})` : ''}`, '/model/keras'); return; }
  const inner = new Reporter();
  const kd = readKeras(value, text, inner);
  // Problems of the Keras file are shown at the `keras:` value, naming their place in that file.
  for (const p of inner.problems) {
    const inFile = zip ? `${ref.path}: config.json` : ref.path;
    const at = p.span ? `${locationName(inFile)}:${displayPos(p.span.start).line}:${displayPos(p.span.start).column}: ` : `${locationName(ref.path)}: `;
    const q: InputProblem = { ...p, message: at + p.message, span: ref.span };
    rep.problems.push(q);
  }
  if (inner.hasErrors) rep.claimed.add('/model/keras');
  // The layers live in the other file: their ranges here are the `keras:` value.
  draft.layers = kd.layers.map(l => ({ ...l, span: ref.span, spans: Object.fromEntries(Object.keys(l.spans ?? {}).map(k => [k, ref.span])) }));
  draft.keras = ref.path;
  draft.input ??= kd.input;
  if (!draft.input && kd.layers.length) rep.error(ref.span, `${ref.path} does not say its input shape: set model.input`, '/model/keras');
  draft.train = { ...kd.train, ...draft.train };
  draft.name ??= kd.name;
}

/** Why a referenced file could not be read, without its path (the caller names it). */
export function whyUnreadable(e: unknown): string {
  if (e instanceof UserFileError) return e.reason;
  return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : safeName(String((e as Error).message ?? e).split('\n')[0]);
}

/** What a config takes from an ONNX model: its layers, input, name and problems (not the weights' loaders, which hold the file's bytes). */
type OnnxImport = { layers: LayerSpec[]; input?: number[]; name?: string; problems: InputProblem[] };
function importOnnxLayers(bytes: Uint8Array, abs: string): OnnxImport {
  const inner = new Reporter();
  const od = readOnnx(bytes, abs, inner);
  return { layers: od.layers, input: od.input, name: od.name, problems: inner.problems };
}

/**
 * The editor parses a config on every change: an ONNX model it names is imported once per (real path, device,
 * inode, size, mtime, ctime) and folder, not once per keystroke. The stat goes through the same checks as the read (regular file,
 * inside the folder). A few entries: each holds layers and problems, not the file's bytes.
 */
const onnxCache = new Map<string, OnnxImport>();
const ONNX_CACHE_ENTRIES = 8;
function cachedOnnx(abs: string, root: string | undefined): OnnxImport {
  const info = statUserFile(abs, { kind: 'onnx', root });
  // ctime and the inode too: a file rewritten with its size and mtime set back (utimes) keeps neither.
  const key = JSON.stringify([info.realPath, info.dev, info.ino, info.size, info.mtimeMs, info.ctimeMs, root ?? '']);
  const hit = onnxCache.get(key);
  if (hit) { onnxCache.delete(key); onnxCache.set(key, hit); return hit; }
  const got = importOnnxLayers(readUserFile(abs, { kind: 'onnx', root }), abs);
  onnxCache.set(key, got);
  if (onnxCache.size > ONNX_CACHE_ENTRIES) onnxCache.delete(onnxCache.keys().next().value!);
  return got;
}

/** `model.onnx: path`: import the layers from an ONNX model; its problems are shown at the `onnx:` value. */
function mergeOnnx(draft: import('./finish').Draft, ref: { path: string; span: Span }, fileName: string, rep: Reporter, opts: ParseOptions): void {
  const abs = path.resolve(path.dirname(path.resolve(fileName)), ref.path);
  if (opts.workspaceRoot && path.relative(path.resolve(opts.workspaceRoot), abs).split(path.sep)[0] === '..') {
    rep.error(ref.span, `model.onnx "${safeName(ref.path)}" is outside the workspace`, '/model/onnx');
    return;
  }
  let od: OnnxImport;
  try { od = opts.readBytes ? importOnnxLayers(opts.readBytes(abs), abs) : cachedOnnx(abs, opts.workspaceRoot); } catch (e) {
    rep.error(ref.span, `cannot read ${safeName(ref.path)}: ${whyUnreadable(e)}`, '/model/onnx');
    return;
  }
  for (const p of od.problems) rep.problems.push({ ...p, message: `${safeName(ref.path)}: ${p.message}`, span: ref.span });
  if (od.problems.some(p => p.severity === 'error')) rep.claimed.add('/model/onnx');
  draft.layers = od.layers.map(l => ({ ...l, span: ref.span, spans: {} }));
  draft.onnx = ref.path;
  draft.input ??= od.input;
  draft.name ??= od.name;
}

/** Reads and parses a config file; never throws. */
export function loadConfigFile(file: string, opts?: ParseOptions): ParseResult {
  const zero: Span = { start: { line: 0, character: 0, offset: 0 }, end: { line: 0, character: 0, offset: 0 } };
  if (isOnnxName(file)) return loadOnnxFile(file);
  if (isKerasZipName(file)) return loadKerasZipFile(file);
  let text: string;
  try {
    text = readUserFileText(file, { kind: 'config', maxBytes: Math.min(USER_FILE_LIMITS.config, MAX_TEXT_CHARS * 4) });
  } catch (e) {
    const ue = e instanceof UserFileError ? e : undefined;
    if (ue?.code === 'TOO_LARGE') return { problems: [{ severity: 'error', message: `the file has ${(fs.statSync(file).size / 1e6).toFixed(1)} MB: a network config is at most ${MAX_TEXT_CHARS / 1e6} MB`, span: zero }] };
    if (ue?.code === 'NOT_REGULAR') return { problems: [{ severity: 'error', message: `${safeName(file)} is ${ue.reason}: not a config file`, span: zero }] };
    const why = whyUnreadable(e);
    return { problems: [{ severity: 'error', message: ue?.code === 'ENOENT' || ue?.code === 'EACCES' ? why : `cannot read the file: ${why}`, span: zero }] };
  }
  return parseConfigText(text, file, opts);
}

/** A Keras 3 `.keras` archive given directly: its config.json imported like a Keras JSON. */
function loadKerasZipFile(file: string): ParseResult {
  let text: string;
  try { text = kerasZipConfig(readUserFile(file, { kind: 'keras' })); } catch (e) {
    const ue = e instanceof UserFileError ? e : undefined;
    return { problems: [{ severity: 'error', message: e instanceof KerasZipError ? e.message : ue && (ue.code === 'ENOENT' || ue.code === 'EACCES') ? ue.reason : `cannot read the file: ${whyUnreadable(e)}` }] };
  }
  const errors: jsonc.ParseError[] = [];
  const value: unknown = jsonc.parse(text, errors);
  if (errors.length) return { problems: [{ severity: 'error', message: `config.json in the archive is not valid JSON (${jsonc.printParseErrorCode(errors[0].error)} at offset ${errors[0].offset})` }] };
  const r = importKeras(value, text, file, { readFile: fileReader(undefined) });
  // The spans point into config.json, not into the zip: say so in the message and drop them.
  const move = (p: InputProblem): InputProblem => {
    if (!p.span) return p;
    const { line, column } = displayPos(p.span.start);
    const { span: _span, ...rest } = p;
    return { ...rest, message: `config.json:${line}:${column}: ${p.message}` };
  };
  const strip = (c: NetworkConfig | undefined) => c && { ...c, spans: {}, model: { ...c.model, layers: c.model.layers.map(l => ({ ...l, span: undefined, spans: {} })) } };
  return { ...r, problems: r.problems.map(move), ...(r.config ? { config: strip(r.config) } : {}), ...(r.partial ? { partial: strip(r.partial) } : {}) };
}
