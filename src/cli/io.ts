/** Where the CLI writes: process streams, or buffers in tests. */
export interface OutStream { write(s: string): unknown; isTTY?: boolean }
export interface Io { stdout: OutStream; stderr: OutStream }

/** An Io that collects everything (for tests and in-process callers). */
export function bufferIo(): Io & { out(): string; err(): string } {
  let o = '', e = '';
  return {
    stdout: { write: (s: string) => { o += s; return true; } },
    stderr: { write: (s: string) => { e += s; return true; } },
    out: () => o, err: () => e,
  };
}
