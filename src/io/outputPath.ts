/**
 * Checks a path the CLI is asked to write (--html) before any work is done: the directory exists and is
 * writable, the path is not an existing directory, device or FIFO, and it is not one of the inputs (a report
 * written over the config it came from loses the user's file). Lowest layer: node built-ins only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const realOrResolved = (p: string): string => { try { return fs.realpathSync(p); } catch { return path.resolve(p); } };

/** Why `out` cannot be written (a clause: "it is a directory"), or null when it can. `inputs` are files the command reads. */
export function outputPathProblem(out: string, inputs: string[]): string | null {
  if (!out) return 'the file name is empty';
  const abs = path.resolve(out);
  let st: fs.Stats | undefined;
  try { st = fs.statSync(abs); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'too many levels of symbolic links';
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return (e as Error).message.split('\n')[0];
  }
  if (st) {
    if (st.isDirectory()) return 'it is a directory';
    if (!st.isFile()) return 'it exists and is not a regular file (a device, FIFO or socket)';
    const real = realOrResolved(abs);
    const input = inputs.find(i => realOrResolved(i) === real);
    if (input !== undefined) return `it is the input ${input}; refusing to overwrite it`;
    try { fs.accessSync(abs, fs.constants.W_OK); } catch { return 'it is not writable (permission denied)'; }
    return null;
  }
  const dir = path.dirname(abs);
  let dst: fs.Stats;
  try { dst = fs.statSync(dir); } catch { return `no such directory ${path.dirname(out)}`; }
  if (!dst.isDirectory()) return `${path.dirname(out)} is not a directory`;
  try { fs.accessSync(dir, fs.constants.W_OK); } catch { return `the directory ${path.dirname(out)} is not writable (permission denied)`; }
  return null;
}
