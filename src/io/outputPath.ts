/**
 * Checks a path the CLI is asked to write (--html): the directory exists and is writable, the path is not an
 * existing directory, device or FIFO, and it is none of the inputs (a report written over the config, the
 * data or the event file it came from loses the user's file). An input is the same file by device and inode
 * (a hard link or symbolic link to it is that file); an input directory (a log directory) holds only inputs.
 * Lowest layer: node built-ins and src/format.ts only. Names in its clauses go through safeName (one line each).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { safeName } from '../format';
import { isInsideRoot, type FileRead } from './userFile';

const realOrResolved = (p: string): string => { try { return fs.realpathSync(p); } catch { return path.resolve(p); } };
const statOrNull = (p: string): fs.Stats | null => { try { return fs.statSync(p); } catch { return null; } };
const isSymlink = (p: string): boolean => { try { return fs.lstatSync(p).isSymbolicLink(); } catch { return false; } };
const sameFile = (a: { dev: number; ino: number }, b: { dev: number; ino: number }) => a.ino !== 0 && a.dev === b.dev && a.ino === b.ino;

/**
 * Why `out` cannot be written (a clause: "it is a directory"), or null when it can. `inputs` are paths the command
 * reads (files, or a directory whose every file it may read) and files it has read (FileRead, from recordReads).
 */
/**
 * The absolute path a write to `out` opens: its folder as the kernel resolves it (libc realpath: a symbolic link
 * first, then `..`), not as path.resolve reads the text. `L/../x` with L a link to a/b is a/x, which path.resolve
 * (and fs.realpathSync, which starts with it) took for ./x: the check passed and the write replaced an input.
 */
export function outputTarget(out: string): string {
  try { return path.join(fs.realpathSync.native(path.dirname(out)), path.basename(out)); } catch { return path.resolve(out); }
}

/** Bounds of the walk for a hard link into an input folder: an ImageFolder is two levels, a log directory a few. */
const LINK_WALK_DEPTH = 8, LINK_WALK_ENTRIES = 1_000_000;

/**
 * The path (relative to `dir`) of a file inside `dir` that is `st` (another name for it: a hard link), or null. Only
 * asked of a file with more than one link; folders are not followed through symbolic links (no loops), files are.
 * Past the walk's bounds the folder counts as holding it: refused rather than overwritten unseen.
 */
function linkedInside(st: { dev: number; ino: number; nlink: number }, dir: string): string | null {
  if (st.nlink < 2) return null;
  let entries = 0;
  const walk = (d: string, rel: string, depth: number): string | null => {
    let list: fs.Dirent[];
    try { list = fs.readdirSync(d, { withFileTypes: true }); } catch { return null; }
    for (const e of list) {
      if (++entries > LINK_WALK_ENTRIES) return rel || '.';
      const abs = path.join(d, e.name), r = path.join(rel, e.name);
      if (e.isDirectory()) {
        if (depth < LINK_WALK_DEPTH) { const hit = walk(abs, r, depth + 1); if (hit) return hit; }
        continue;
      }
      const est = e.isSymbolicLink() ? statOrNull(abs) : e.isFile() ? statOrNull(abs) : null;
      if (est && !est.isDirectory() && sameFile(st, est)) return r;
    }
    return null;
  };
  return walk(dir, '', 0);
}

/** Why the file `st` at `real` (st null: not there yet) is an input, or null. */
function inputClash(st: { dev: number; ino: number; nlink: number } | null, real: string, inputs: readonly (string | FileRead)[]): string | null {
  for (const input of inputs) {
    if (typeof input !== 'string') {
      if (input.folder) {
        // Its class folders' files are read (all, the images past data.samples too), a file directly in it never:
        // a report beside the class folders (data.path: . next to the config) is written.
        const rel = path.relative(input.realPath, real);
        if (isInsideRoot(input.realPath, real) && (rel === '' || rel.includes(path.sep))) return `it is inside the data folder ${safeName(input.path)}, which this command reads; refusing to write there`;
        // A hard link elsewhere to a file of the folder (an image not read yet) is that file.
        const twin = st && linkedInside(st, input.realPath);
        if (twin) return `it is a hard link to ${safeName(path.join(input.path, twin))}, inside the data folder ${safeName(input.path)}, which this command reads; refusing to overwrite it`;
      } else if ((st && sameFile(st, input)) || input.realPath === real) {
        return `it is ${safeName(input.path)}, which this command reads; refusing to overwrite it`;
      }
      continue;
    }
    const ist = statOrNull(input);
    if (ist?.isDirectory()) {
      if (isInsideRoot(realOrResolved(input), real)) return `it is inside the input directory ${safeName(input)}; refusing to write there`;
      const twin = st && linkedInside(st, realOrResolved(input));
      if (twin) return `it is a hard link to ${safeName(path.join(input, twin))}, inside the input directory ${safeName(input)}; refusing to overwrite it`;
    } else if ((st && ist && sameFile(st, ist)) || realOrResolved(input) === real) {
      return `it is the input ${safeName(input)}; refusing to overwrite it`;
    }
  }
  return null;
}

/** The real path of an open file (Linux: /proc/self/fd), else of the path it was opened by. */
function realOfFd(fd: number, opened: string): string {
  try { return fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { return realOrResolved(opened); }
}

/**
 * Writes `text` to `out` unless it is an input: checked by path (outputPathProblem), then the file is opened
 * without truncating it and the open file itself (fstat: device and inode, its real path) is checked again, so a
 * link to an input put there between the check and the open is refused, not emptied. Only then is it truncated
 * and written. Returns why it was refused (a clause), or null once written; write errors throw.
 * `afterCheck`: tests swap the file there.
 */
export function writeOutputChecked(out: string, text: string, inputs: readonly (string | FileRead)[], afterCheck?: () => void): string | null {
  const first = outputPathProblem(out, inputs);
  if (first) return first;
  afterCheck?.();
  const target = outputTarget(out);
  let fd: number, created = true;
  try {
    fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o666);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    created = false;
    // O_NONBLOCK: a FIFO put there does not block the open (fstat refuses it below).
    fd = fs.openSync(target, fs.constants.O_WRONLY | (fs.constants.O_NONBLOCK ?? 0));
  }
  try {
    const st = fs.fstatSync(fd);
    const problem = !st.isFile() ? 'it exists and is not a regular file (a device, FIFO or socket)' : inputClash(st, realOfFd(fd, target), inputs);
    if (problem) {
      // A file this call made is removed again, if the name still is that file.
      if (created) { try { const now = fs.lstatSync(target); if (sameFile(now, st)) fs.unlinkSync(target); } catch { /* gone already */ } }
      return problem;
    }
    fs.ftruncateSync(fd, 0);
    const bytes = Buffer.from(text, 'utf8');
    for (let off = 0; off < bytes.length;) off += fs.writeSync(fd, bytes, off, bytes.length - off, off);
  } finally {
    fs.closeSync(fd);
  }
  return null;
}

export function outputPathProblem(out: string, inputs: readonly (string | FileRead)[]): string | null {
  if (!out) return 'the file name is empty';
  const abs = outputTarget(out);
  let st: fs.Stats | undefined;
  try { st = fs.statSync(abs); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'too many levels of symbolic links';
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return safeName((e as Error).message.split('\n')[0]);
  }
  // A dangling symbolic link would be written through to wherever it points: refuse rather than follow it.
  if (!st && isSymlink(abs)) return 'it is a symbolic link to a missing file';
  if (st?.isDirectory()) return 'it is a directory';
  if (st && !st.isFile()) return 'it exists and is not a regular file (a device, FIFO or socket)';
  // Where the file is (or would be), symbolic links in its folder followed.
  const real = st ? realOrResolved(abs) : path.join(realOrResolved(path.dirname(abs)), path.basename(abs));
  const clash = inputClash(st ?? null, real, inputs);
  if (clash) return clash;
  if (st) {
    try { fs.accessSync(abs, fs.constants.W_OK); } catch { return 'it is not writable (permission denied)'; }
    return null;
  }
  const dir = path.dirname(abs);
  let dst: fs.Stats;
  try { dst = fs.statSync(dir); } catch { return `no such directory ${safeName(path.dirname(out))}`; }
  if (!dst.isDirectory()) return `${safeName(path.dirname(out))} is not a directory`;
  try { fs.accessSync(dir, fs.constants.W_OK); } catch { return `the directory ${safeName(path.dirname(out))} is not writable (permission denied)`; }
  return null;
}
