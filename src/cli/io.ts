import { safeText } from '../format';

/** Where the CLI writes: process streams, or buffers in tests. */
export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
  /** The stream itself, for the progress line's own control codes (everything else goes through safeText). */
  raw?: OutStream;
}
export interface Io { stdout: OutStream; stderr: OutStream }

/**
 * The streams every command writes to: names from configs and logs are user text, so control characters in
 * them (an escape sequence that clears the screen or sets the clipboard) are printed as \uXXXX escapes.
 */
export function safeIo(io: Io): Io {
  const wrap = (s: OutStream): OutStream => s.raw ? s : { write: (t: string) => s.write(safeText(t)), isTTY: s.isTTY, raw: s };
  return { stdout: wrap(io.stdout), stderr: wrap(io.stderr) };
}

/** An Io that collects everything (for tests and in-process callers). */
export function bufferIo(): Io & { out(): string; err(): string } {
  let o = '', e = '';
  return {
    stdout: { write: (s: string) => { o += s; return true; } },
    stderr: { write: (s: string) => { e += s; return true; } },
    out: () => o, err: () => e,
  };
}
