/**
 * A TensorBoard log directory: every directory holding event files is a run (TensorBoard's rule). Reading is
 * incremental: poll() reads only what was appended since the last call (new files, grown files), so the same
 * reader serves a one-shot diagnosis and a live watch of a run that another process is writing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, type NetworkConfig } from '../model';
import { safeName } from '../format';
import { decodeEvent } from './events';
import { TbRun, TbRunBuilder } from './run';
import { tagRules, TagRule } from './tags';
import { RecordFileCursor, RecordIssue } from './tfrecord';

export interface LogdirOptions {
  /** Tag overrides, quantity -> template (config `data.tags:`, settings). */
  tags?: Record<string, string>;
  /** Activation per layer name, e.g. {fc1: 'relu'}. */
  activations?: Record<string, string>;
  /** Steps kept per run (default 2000). */
  maxPoints?: number;
}

const MAX_DEPTH = 8;
export const isEventFile = (name: string) => name.includes('tfevents');

interface FileState { cursor: RecordFileCursor; plugins: Map<string, string>; decodeErrors: RecordIssue[] }
interface RunState { builder: TbRunBuilder; files: Map<string, FileState> }

export class LogdirReader {
  private readonly runs = new Map<string, RunState>();
  private readonly rules: TagRule[];
  private readonly root: string;
  private readonly singleFile: boolean;

  /** Throws InputError when the path does not exist or a tag override is invalid. */
  constructor(logdir: string, private readonly opts: LogdirOptions = {}) {
    const { rules, problems } = tagRules(opts.tags);
    if (problems.length) throw new InputError(problems[0], logdir);
    this.rules = rules;
    let st: fs.Stats;
    try { st = fs.statSync(logdir); } catch {
      throw new InputError({ severity: 'error', message: `log directory not found: ${safeName(logdir)}` }, logdir);
    }
    this.root = logdir;
    this.singleFile = st.isFile();
  }

  /** Reads everything new. Returns true when any run changed. */
  poll(): boolean {
    let changed = false;
    for (const file of this.eventFiles()) {
      const runDir = path.dirname(file);
      const name = this.singleFile ? '.' : path.relative(this.root, runDir) || '.';
      let run = this.runs.get(name);
      if (!run) {
        run = { builder: new TbRunBuilder(name, runDir, { rules: this.rules, activations: this.opts.activations, maxPoints: this.opts.maxPoints }), files: new Map() };
        this.runs.set(name, run);
      }
      let fstate = run.files.get(file);
      if (!fstate) {
        fstate = { cursor: new RecordFileCursor(file), plugins: new Map(), decodeErrors: [] };
        run.files.set(file, fstate);
      }
      const { builder } = run, fs_ = fstate;
      const issuesBefore = fs_.cursor.issues.length;
      const n = fs_.cursor.read((data, offset) => {
        try {
          builder.add(decodeEvent(data, fs_.plugins));
        } catch (e) {
          fs_.decodeErrors.push({ kind: 'bad-data-crc', offset, skipped: data.length,
            message: `record at byte ${offset} has a valid CRC but is not an Event (${(e as Error).message}); skipped` });
        }
      });
      if (n > 0 || fs_.cursor.issues.length > issuesBefore) changed = true;
    }
    return changed;
  }

  /**
   * The runs as they stand, in name order. `final` reports incomplete tails as truncation (for a one-shot
   * read of finished logs); a live watch leaves them pending, to be read once the writer appends the rest.
   */
  snapshot(final = false): TbRun[] {
    return [...this.runs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, r]) => {
      const files = [...r.files.entries()].map(([p, f]) => ({ path: p, records: f.cursor.records, issues: [...f.cursor.issues, ...f.decodeErrors] }));
      const tails = final ? [...r.files.entries()].flatMap(([p, f]) => { const t = f.cursor.tailIssue(); return t ? [{ ...t, file: p }] : []; }) : [];
      const run = r.builder.snapshot(files, tails);
      const notes = r.builder.limitNotes();
      return notes.length ? { ...run, notes } : run;
    });
  }

  private eventFiles(): string[] {
    if (this.singleFile) return [this.root];
    const out: string[] = [];
    const walk = (dir: string, depth: number) => {
      let entries: fs.Dirent[];
      try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        if (e.isFile() && isEventFile(e.name)) out.push(path.join(dir, e.name));
        else if (e.isDirectory() && depth < MAX_DEPTH && !e.name.startsWith('.') && e.name !== 'node_modules') walk(path.join(dir, e.name), depth + 1);
      }
    };
    walk(this.root, 0);
    return out;
  }
}

/**
 * What a config with `data.source: tensorboard` says about its logs: the directory (relative to the config's
 * directory), tag overrides, and each layer's activation by layer name (the config's model.layers).
 */
export function logdirFromConfig(config: NetworkConfig, configDir: string): { logdir: string; options: LogdirOptions } {
  const activations: Record<string, string> = {};
  for (const l of config.model.layers) if ('activation' in l) activations[l.name] = l.activation.name;
  return { logdir: path.resolve(configDir, config.data.logdir ?? '.'), options: { tags: config.data.tags, activations } };
}

/** Reads a finished log directory once. Throws InputError for a missing directory or bad overrides. */
export function readLogdir(logdir: string, opts: LogdirOptions = {}): TbRun[] {
  const r = new LogdirReader(logdir, opts);
  r.poll();
  return r.snapshot(true);
}

export interface WatchOptions extends LogdirOptions {
  /** Poll interval in ms (default 500); fs.watch events trigger an earlier read where the platform has them. */
  intervalMs?: number;
  onError?: (e: Error) => void;
}

/**
 * Watches a log directory while another process writes it: calls onUpdate(runs) after the first read and
 * whenever records were appended. Node fs only (no vscode). The first read happens asynchronously.
 */
export function watchLogdir(dir: string, onUpdate: (runs: TbRun[]) => void, opts: WatchOptions = {}): { close(): void } {
  let reader: LogdirReader | null = null;
  let closed = false;
  let first = true;
  let lastError = '';
  const tick = () => {
    if (closed) return;
    try {
      reader ??= new LogdirReader(dir, opts);
      if (reader.poll() || first) { first = false; onUpdate(reader.snapshot(false)); }
    } catch (e) {
      // Reported once per distinct problem (a directory that does not exist yet fails on every tick).
      const message = (e as Error).message;
      if (message !== lastError) { lastError = message; opts.onError?.(e as Error); }
    }
  };
  const timer = setInterval(tick, opts.intervalMs ?? 500);
  let watcher: fs.FSWatcher | null = null;
  let pending: NodeJS.Timeout | null = null;
  try {
    watcher = fs.watch(dir, { recursive: true }, () => {
      if (!pending) pending = setTimeout(() => { pending = null; tick(); }, 50);
    });
    watcher.on('error', () => { watcher?.close(); watcher = null; });
  } catch { watcher = null; }
  const firstRead = setImmediate(tick);
  return {
    close() {
      closed = true;
      clearInterval(timer);
      clearImmediate(firstRead);
      if (pending) clearTimeout(pending);
      watcher?.close();
    },
  };
}
