/**
 * The one reader for files a config (or a log directory) names: a CSV, a Keras/TF.js model JSON, weights, an
 * ONNX model, a TensorBoard event file. Such paths come from files the user did not write, so the reader
 * refuses anything but a regular file (a FIFO or /dev/stdin would block forever, /dev/zero never ends), caps
 * the size per kind, bounds the time, and optionally keeps the real path (symlinks followed) inside a root.
 * Failures are a UserFileError whose message is one line naming the path and the reason. Kernel files (/proc,
 * /sys) are refused too: they stat as regular files of size 0 and hold the process's environment, memory maps
 * and the like, which a message quoting the file's first line would print.
 *
 * Every file it opens can be recorded (recordReads): the CLI refuses to write a report over any of them.
 *
 * The lowest layer: imports only node built-ins and src/format.ts (which imports nothing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { safeName } from '../format';

export type UserFileKind = 'csv' | 'keras' | 'config' | 'weights' | 'onnx' | 'tfevents';

/** Size caps per kind, in bytes. */
export const USER_FILE_LIMITS: Readonly<Record<UserFileKind, number>> = {
  csv: 64 * 1024 * 1024,
  keras: 64 * 1024 * 1024,
  config: 4 * 1024 * 1024,
  weights: 512 * 1024 * 1024,
  onnx: 512 * 1024 * 1024,
  tfevents: 1024 * 1024 * 1024,
};

/** Time a whole read may take before it is abandoned (a stalled network drive). */
export const DEFAULT_READ_TIMEOUT_MS = 10_000;

export type UserFileErrorCode = 'ENOENT' | 'EACCES' | 'NOT_REGULAR' | 'TOO_LARGE' | 'OUTSIDE_ROOT' | 'TIMEOUT' | 'IO';

export class UserFileError extends Error {
  constructor(
    readonly code: UserFileErrorCode,
    /** The path as the caller named it (label) or the absolute path. */
    readonly file: string,
    /** Why, without the path: "a FIFO (named pipe), not a regular file". */
    readonly reason: string,
  ) {
    // The name is escaped (safeName): a newline in it would split this one-line message.
    super(`cannot read ${safeName(file)}: ${reason}`);
    this.name = 'UserFileError';
  }
}

export interface UserFileOptions {
  /** Which cap applies (USER_FILE_LIMITS); default 'config'. */
  kind?: UserFileKind;
  /** Overrides the kind's cap. */
  maxBytes?: number;
  /** When given, the real path of the file (symlinks followed) must lie inside the real path of root. */
  root?: string;
  /** Default DEFAULT_READ_TIMEOUT_MS. */
  timeoutMs?: number;
  /** How the path is named in messages (e.g. the text of data.path); default: the path given. */
  label?: string;
}

export interface UserFileInfo {
  /** The real path (symlinks resolved). */
  realPath: string;
  size: number;
  mtimeMs: number;
  /** Change time: moves on every write or rename, and unlike mtime cannot be set back (utimes). */
  ctimeMs: number;
  /** Which file it is: a symbolic or hard link to it has the same device and inode. */
  dev: number;
  ino: number;
}

const MB = 1024 * 1024;
const fmtBytes = (b: number) => b >= MB ? `${Math.round(b / MB)} MB` : b >= 1024 ? `${Math.round(b / 1024)} KB` : `${b} bytes`;

/** What a non-regular file is, for the message. */
function describe(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a plain file';
}

/** True when target is root or lies below it (both already resolved). */
export function isInsideRoot(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel));
}

function errnoError(e: unknown, label: string): UserFileError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new UserFileError('ENOENT', label, 'no such file');
  if (code === 'EACCES' || code === 'EPERM') return new UserFileError('EACCES', label, 'permission denied');
  if (code === 'ELOOP') return new UserFileError('IO', label, 'too many levels of symbolic links');
  if (code === 'ENXIO' || code === 'ENODEV') return new UserFileError('NOT_REGULAR', label, 'a device, not a regular file');
  const msg = (e as Error).message ?? String(e);
  return new UserFileError('IO', label, safeName(msg.split('\n')[0]));
}

/**
 * A file a reader opened: the path it was named by, its real path, and which file it is (a hard link is the same
 * device and inode). `folder`: a data folder the reader lists (an image folder): all of it is input, the
 * images it has not read yet too.
 */
export interface FileRead { path: string; realPath: string; dev: number; ino: number; folder?: true }

const recorders = new Set<FileRead[]>();

/**
 * Records every file this module opens from now until stop(): what a command read, by identity, so that it
 * cannot be overwritten by the command's own output whatever named it (the config, its data.path, a model's
 * weight manifest, an event file in a log directory).
 */
export function recordReads(): { files: FileRead[]; stop(): void } {
  const files: FileRead[] = [];
  recorders.add(files);
  return { files, stop: () => { recorders.delete(files); } };
}

function noteRead(file: string, realPath: string, st: { dev: number; ino: number }): void {
  for (const r of recorders) r.push({ path: file, realPath, dev: st.dev, ino: st.ino });
}

/** Records a data folder a reader lists (recordReads): no output may be written anywhere inside it. */
export function noteFolderRead(dir: string, label: string): void {
  if (!recorders.size) return;
  let real: string, st: fs.Stats;
  try { real = fs.realpathSync(dir); st = fs.statSync(real); } catch { real = path.resolve(dir); st = { dev: 0, ino: 0 } as fs.Stats; }
  for (const r of recorders) r.push({ path: label, realPath: real, dev: st.dev, ino: st.ino, folder: true });
}

const KERNEL_DIRS = ['/proc', '/sys'];

/** True for a path under /proc or /sys (Linux's kernel files: no data set or model lives there). */
export function isKernelPath(p: string): boolean {
  return KERNEL_DIRS.some(d => p === d || p.startsWith(`${d}/`));
}

const KERNEL_FILE = 'a kernel file under /proc or /sys, not a data or model file';
const NOT_DATA = 'its size is 0 yet it has content: a kernel or special file, not a regular data file';

function limitOf(o: UserFileOptions): number { return o.maxBytes ?? USER_FILE_LIMITS[o.kind ?? 'config']; }

function checkRegular(st: fs.Stats, label: string, o: UserFileOptions): void {
  if (!st.isFile()) throw new UserFileError('NOT_REGULAR', label, `${describe(st)}, not a regular file`);
  const max = limitOf(o);
  if (st.size > max) throw new UserFileError('TOO_LARGE', label, `${fmtBytes(st.size)} is larger than the ${fmtBytes(max)} allowed for a ${o.kind ?? 'config'} file`);
}

/** Resolves symlinks and checks root; refuses non-regular targets before opening them (opening a device can have effects). */
function resolveChecked(absPath: string, o: UserFileOptions): { real: string; label: string } {
  const label = o.label ?? absPath;
  // stat first: it follows /proc's magic links (/dev/stdin -> a pipe), whose realpath names nothing.
  let st: fs.Stats;
  try { st = fs.statSync(absPath); } catch (e) { throw errnoError(e, label); }
  checkRegular(st, label, o);
  let real: string;
  try { real = fs.realpathSync(absPath); } catch (e) { throw errnoError(e, label); }
  if (isKernelPath(path.resolve(absPath)) || isKernelPath(real)) throw new UserFileError('NOT_REGULAR', label, KERNEL_FILE);
  if (o.root !== undefined) {
    let root: string;
    try { root = fs.realpathSync(o.root); } catch { root = path.resolve(o.root); }
    if (!isInsideRoot(root, real)) throw new UserFileError('OUTSIDE_ROOT', label, 'outside the workspace folder (symbolic links followed)');
  }
  return { real, label };
}

// O_NONBLOCK: should the file be swapped for a FIFO between stat and open, open returns at once and fstat refuses it.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/**
 * Opens a user file for incremental reading (the caller closes fd). The fstat after open decides: regular
 * file, within the size cap, inside root.
 */
export function openUserFile(absPath: string, opts: UserFileOptions = {}): UserFileInfo & { fd: number } {
  const { real, label } = resolveChecked(absPath, opts);
  let fd: number;
  try { fd = fs.openSync(real, OPEN_FLAGS); } catch (e) { throw errnoError(e, label); }
  try {
    const st = fs.fstatSync(fd);
    checkRegular(st, label, opts);
    noteRead(label, real, st);
    return { fd, realPath: real, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, dev: st.dev, ino: st.ino };
  } catch (e) {
    fs.closeSync(fd);
    throw e instanceof UserFileError ? e : errnoError(e, label);
  }
}

/** Size, mtime and real path of a user file, with the same checks as reading it (for cache keys). */
export function statUserFile(absPath: string, opts: UserFileOptions = {}): UserFileInfo {
  const { fd, ...info } = openUserFile(absPath, opts);
  fs.closeSync(fd);
  return info;
}

const CHUNK = 1024 * 1024;

/** The whole file as bytes; throws UserFileError. */
export function readUserFile(absPath: string, opts: UserFileOptions = {}): Buffer {
  const label = opts.label ?? absPath;
  const { fd, size } = openUserFile(absPath, opts);
  const max = limitOf(opts);
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS);
  try {
    // The file may grow after fstat: read at most max + 1 bytes, and refuse if there were more.
    let buf = Buffer.allocUnsafe(Math.min(size, max) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > max) throw new UserFileError('TOO_LARGE', label, `grew past the ${fmtBytes(max)} allowed for a ${opts.kind ?? 'config'} file while being read`);
        const bigger = Buffer.allocUnsafe(Math.min(max + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      let n: number;
      try { n = fs.readSync(fd, buf, got, Math.min(CHUNK, buf.length - got), got); } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') throw new UserFileError('NOT_REGULAR', label, 'would block: not a regular file');
        throw errnoError(e, label);
      }
      if (n === 0) break;
      // A file that says it is empty but reads on generates its content (a kernel file): not data.
      if (size === 0) throw new UserFileError('NOT_REGULAR', label, NOT_DATA);
      got += n;
      if (got > max) throw new UserFileError('TOO_LARGE', label, `grew past the ${fmtBytes(max)} allowed for a ${opts.kind ?? 'config'} file while being read`);
      if (Date.now() > deadline) throw new UserFileError('TIMEOUT', label, `reading took longer than ${Math.round((opts.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS) / 1000)} s`);
    }
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** The whole file as UTF-8 text; throws UserFileError. */
export function readUserFileText(absPath: string, opts: UserFileOptions = {}): string {
  return readUserFile(absPath, opts).toString('utf8');
}

/** Async twin of readUserFile, for callers that must not block their thread (the extension host). */
export async function readUserFileAsync(absPath: string, opts: UserFileOptions = {}): Promise<Buffer> {
  const label = opts.label ?? absPath;
  try { checkRegular(await fs.promises.stat(absPath), label, opts); } catch (e) { throw e instanceof UserFileError ? e : errnoError(e, label); }
  let real: string;
  try { real = await fs.promises.realpath(absPath); } catch (e) { throw errnoError(e, label); }
  if (isKernelPath(path.resolve(absPath)) || isKernelPath(real)) throw new UserFileError('NOT_REGULAR', label, KERNEL_FILE);
  if (opts.root !== undefined) {
    let root: string;
    try { root = await fs.promises.realpath(opts.root); } catch { root = path.resolve(opts.root); }
    if (!isInsideRoot(root, real)) throw new UserFileError('OUTSIDE_ROOT', label, 'outside the workspace folder (symbolic links followed)');
  }
  let fh: fs.promises.FileHandle;
  try { fh = await fs.promises.open(real, OPEN_FLAGS); } catch (e) { throw errnoError(e, label); }
  const max = limitOf(opts);
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS);
  try {
    const st = await fh.stat();
    checkRegular(st, label, opts);
    noteRead(label, real, st);
    const chunks: Buffer[] = [];
    let got = 0;
    for (;;) {
      const b = Buffer.allocUnsafe(Math.min(CHUNK, max + 1 - got));
      let n: number;
      try { ({ bytesRead: n } = await fh.read(b, 0, b.length, got)); } catch (e) { throw errnoError(e, label); }
      if (n === 0) break;
      if (st.size === 0) throw new UserFileError('NOT_REGULAR', label, NOT_DATA);
      chunks.push(b.subarray(0, n));
      got += n;
      if (got > max) throw new UserFileError('TOO_LARGE', label, `grew past the ${fmtBytes(max)} allowed for a ${opts.kind ?? 'config'} file while being read`);
      if (Date.now() > deadline) throw new UserFileError('TIMEOUT', label, `reading took longer than ${Math.round((opts.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS) / 1000)} s`);
    }
    return Buffer.concat(chunks, got);
  } finally {
    await fh.close();
  }
}

export async function readUserFileTextAsync(absPath: string, opts: UserFileOptions = {}): Promise<string> {
  return (await readUserFileAsync(absPath, opts)).toString('utf8');
}
