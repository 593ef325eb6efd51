import * as vscode from 'vscode';
import { tell } from './feedback';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { NetworkConfig } from '../model';
import { formatProblem } from '../model';
import type { ProbePoint, RunResult } from '../core/types';
import type { CompareView, HostMark, RunView, VerificationView } from '../protocol';
import type { Finding } from '../diagnosis/types';
import { inferShapes } from '../config/shapes';
import { startEngineRun } from '../engine/start';
import { disposeIdleWorker, prewarmWorker } from '../worker/client';
import { editorPythonCandidates } from './engine';
import { dataNote } from '../report/json';
import { diagnose } from '../diagnosis/rules';
import { suggestActivations } from '../diagnosis/suggestions';
import { readSettings } from './settings';
import { parseDocument, workspaceRootFor } from './documents';
import { requireTrust } from './trust';
import { documentHash } from './textHash';

/** What the editor knows about one config file's latest run. */
export interface RunRecord {
  uri: string;
  /** The hash of the text the run started from (textHash.ts): quick fixes are refused once the text differs. */
  textHash: string;
  config: NetworkConfig;
  view: RunView;
  result?: RunResult;
  findings: Finding[];
  /** The engine that trained it (Verify trains the changed config on the same one). */
  engine?: 'core' | 'torch';
}

interface ActiveRun { record: RunRecord; cancel(): void; /** a run on save */ quiet?: boolean; ended?: Promise<void> }

export type RunEvent =
  | { kind: 'state'; record: RunRecord }
  | { kind: 'stats'; record: RunRecord; step: number; probes: ProbePoint[]; lossCurve: [number, number][] }
  /** Trials of Compare Activations, started or updated; `record` is the compared config's latest run, if it has one. */
  | { kind: 'compare'; record?: RunRecord; compare: CompareView }
  /** A Verify of a suggestion of `record`'s run, started or updated (kept in the record's view). */
  | { kind: 'verification'; record: RunRecord; verification: VerificationView };

/**
 * Owns the training runs: one at a time, in a worker thread, with a progress notification that can cancel,
 * a status bar item while running, and the latest record per config file for the panel, sidebar, hovers,
 * CodeLens and Problems to read.
 */
export class RunController implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<RunEvent>();
  readonly onDidChange = this.emitter.event;
  private readonly records = new Map<string, RunRecord>();
  /** The latest trials of each compared config (also of one never run: a Keras model.json, a config outside a folder). */
  private readonly compares = new Map<string, CompareView>();
  private active?: ActiveRun;
  private readonly status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  private statusShown = false;

  constructor(private readonly extensionUri: vscode.Uri) {
    this.status.name = 'Activation Lens';
    this.status.command = 'activationLens.showPanel';
  }

  get running(): RunRecord | undefined { return this.active?.record; }
  latest(uri: vscode.Uri | string): RunRecord | undefined { return this.records.get(uri.toString()); }
  /** The record shown when nothing is more specific: the running one, else the most recent. */
  current(): RunRecord | undefined {
    return this.active?.record ?? [...this.records.values()].pop();
  }

  /**
   * Starts a run on the document; resolves when it ends. Refuses (with a message) while another run is active.
   * Everything up to starting the worker is synchronous: two Run commands in one tick cannot both pass the check,
   * and a Stop that arrives at any point after this returns reaches the worker.
   * `quiet` (run on save): progress in the status bar instead of a notification, and no message on refusal; a run
   * that is asked for supersedes a quiet one (stops it, waits for it to end, then checks again).
   */
  async run(doc: vscode.TextDocument, opts: { quiet?: boolean; /** Date.now() as the command arrived */ requestedAt?: number } = {}): Promise<RunRecord | undefined> {
    if (this.active?.quiet && !opts.quiet) {
      const ended = this.active.ended;
      this.active.cancel();
      await ended;
    }
    if (this.active) {
      if (opts.quiet) return undefined;
      tell('refusal', `a run of ${path.basename(this.active.record.view.configPath)} is in progress. Stop it first.`);
      return undefined;
    }
    if (!requireTrust('run')) return undefined;
    const parsed = parseDocument(doc);
    if (!parsed.config) {
      const first = parsed.problems.find(p => p.severity === 'error') ?? parsed.problems[0];
      tell('refusal', `cannot run: ${first ? formatProblem(vscode.workspace.asRelativePath(doc.uri), first) : 'the config could not be read.'}`);
      return undefined;
    }
    // The worker gets its own copy (postMessage clones); the record keeps this one for the rules and quick fixes.
    const config = parsed.config;
    const settings = readSettings(doc.uri);
    const runConfig: NetworkConfig = settings.probeEvery ? { ...config, probe: { ...config.probe, every: settings.probeEvery } } : config;
    const record: RunRecord = {
      uri: doc.uri.toString(), textHash: documentHash(doc), config: runConfig, findings: [],
      view: { ...initialView(doc.uri.fsPath, runConfig), configUri: doc.uri.toString(), configLabel: vscode.workspace.asRelativePath(doc.uri),
        marks: [{ what: 'command', t: opts.requestedAt ?? Date.now() }] },
    };
    record.view.status = 'running';
    // The config's latest trials stay with its latest run: a panel reopened on this run shows them (marked out of date
    // when the text changed since they ran).
    const trials = this.compares.get(record.uri);
    if (trials) record.view.compare = trials;
    let statsMarked = false;
    this.records.delete(record.uri);
    this.records.set(record.uri, record);
    let resolveEnded!: () => void;
    const ended = new Promise<void>(resolve => { resolveEnded = resolve; });
    let handle: { cancel(): void };
    try {
      handle = startEngineRun({
        config: runConfig, baseDir: path.dirname(doc.uri.fsPath), workspaceRoot: workspaceRootFor(doc.uri),
        maxSteps: settings.maxSteps, memoryLimitMB: settings.memoryLimitMB, threads: settings.threads,
        workerPath: vscode.Uri.joinPath(this.extensionUri, 'dist', 'worker.js').fsPath,
        engine: settings.engine, pythonCandidates: () => editorPythonCandidates(doc.uri, settings.pythonPath),
        onEngine: (why, engine) => {
          mark(record, 'engine');
          record.engine = engine;
          record.view.engine = why;
          this.emitter.fire({ kind: 'state', record });
        },
      }, {
        started: () => mark(record, 'started'),
        stats: m => {
          if (record.view.status !== 'running') return;
          if (!statsMarked) { statsMarked = true; mark(record, 'stats'); }
          const losses: [number, number][] = m.lossCurve.map((l, i) => [record.view.step + i + 1, l]);
          record.view.step = m.step;
          record.view.timeline.push(...m.probes);
          record.view.lossCurve.push(...losses);
          this.status.text = `$(sync~spin) ${record.view.configName}: ${m.step}/${record.view.totalSteps}`;
          this.emitter.fire({ kind: 'stats', record, step: m.step, probes: m.probes, lossCurve: losses });
        },
        done: r => { this.finish(record, r, 'done'); resolveEnded(); },
        cancelled: r => { this.finish(record, r, 'cancelled'); resolveEnded(); },
        error: (msg, partial) => { this.finish(record, partial, 'error', msg); resolveEnded(); },
      });
    } catch (e) {
      this.finish(record, undefined, 'error', `the training worker could not start: ${(e as Error).message}`);
      return record;
    }
    this.active = { record, cancel: handle.cancel, quiet: opts.quiet, ended };
    this.status.text = `$(sync~spin) ${record.view.configName}: 0/${runConfig.train.steps}`;
    this.status.show();
    this.statusShown = true;
    void vscode.commands.executeCommand('setContext', 'activationLens.running', true);
    this.emitter.fire({ kind: 'state', record });
    void vscode.window.withProgress({
      location: opts.quiet ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification, cancellable: !opts.quiet,
      title: `Activation Lens: training ${record.view.configName}`,
    }, async (progress, token) => {
      token.onCancellationRequested(() => this.stop());
      let reported = 0;
      const sub = this.onDidChange(e => {
        if (e.record !== record || e.kind !== 'stats') return;
        const pct = (100 * e.step) / Math.max(1, record.view.totalSteps);
        progress.report({ increment: pct - reported, message: `step ${e.step}/${record.view.totalSteps}` });
        reported = pct;
      });
      await ended;
      sub.dispose();
    });
    await ended;
    return record;
  }

  stop(): void { this.active?.cancel(); }

  /**
   * Compare Activations' trials (the same object again as they fill in): the latest of their config, kept here (a
   * config never run has no record) and in the config's latest run, so the panel restores them with that run; announced
   * for the panel to show. The first call gives them their identity, which a row's Apply must name (trialsOf).
   */
  setCompare(compare: CompareView): void {
    compare.id ??= randomUUID();
    if (compare.uri) {
      compare.configLabel ??= vscode.workspace.asRelativePath(vscode.Uri.parse(compare.uri));
      // Most recently compared last; trials of files that are gone, and beyond the newest MAX_COMPARED configs, dropped.
      this.compares.delete(compare.uri);
      this.compares.set(compare.uri, compare);
      for (const uri of this.compares.keys()) if (uri !== compare.uri && fileGone(uri)) this.compares.delete(uri);
      for (const uri of this.compares.keys()) { if (this.compares.size <= MAX_COMPARED) break; this.compares.delete(uri); }
    }
    const record = compare.uri ? this.latest(compare.uri) : this.current();
    if (record) record.view.compare = compare;
    this.emitter.fire({ kind: 'compare', record, compare });
  }

  /**
   * A Verify of a suggestion of `record`'s run (the same object again as it ends): kept in the record's view, so the
   * panel restores it with the run, and announced for the panel to show. The controller owns the record's writes.
   */
  setVerification(record: RunRecord, verification: VerificationView): void {
    record.view.verification = verification;
    this.emitter.fire({ kind: 'verification', record, verification });
  }

  /** The trials named `id` of the config at `uri`, if they are its latest: the only trials a row's Apply may apply. */
  trialsOf(uri: vscode.Uri | string, id: string): CompareView | undefined {
    const c = this.compares.get(uri.toString());
    return c && c.id === id ? c : undefined;
  }

  /** Whether `uri` is a config compared in this session (its edits change which trials may be applied). */
  compared(uri: vscode.Uri | string): boolean { return this.compares.has(uri.toString()); }

  /**
   * The ids of the trials a row of which may be applied now: each compared config's latest, while its open document has
   * the text compared (a closed one is not read here: Apply compares the text when it opens it).
   */
  applicableTrials(): string[] {
    return [...this.compares.values()].filter(c => {
      const h = openHash(c.uri!);
      return c.id && (h === undefined || h === c.textHash);
    }).map(c => c.id!);
  }

  /**
   * Starts the training worker ahead of a Run on `doc` (a config is open): the first Run then skips the thread's
   * start and the kernels' compilation. Not while a run is going (its worker comes back warm when it ends).
   */
  prewarm(doc: vscode.TextDocument): void {
    if (this.active || !vscode.workspace.isTrusted) return;
    const settings = readSettings(doc.uri);
    if (settings.engine === 'torch') return;
    try { prewarmWorker(vscode.Uri.joinPath(this.extensionUri, 'dist', 'worker.js').fsPath, settings.memoryLimitMB); } catch { /* the run starts one */ }
  }

  /** Ends a run once; the UI leaves "running" only for the run that is active (never for an older one). */
  private finish(record: RunRecord, result: RunResult | undefined, status: 'done' | 'cancelled' | 'error', message?: string): void {
    if (record.view.status !== 'running') return;
    mark(record, 'end');
    record.result = result;
    record.view.status = status;
    record.view.message = message;
    if (result) {
      // The worker batches stats; the final result is authoritative for the timeline.
      record.view.timeline = result.timeline;
      record.view.step = result.steps;
      // The same diagnosis as the CLI's: static and run findings, the config's thresholds over the settings'.
      record.findings = diagnose(record.config, result, readSettings(vscode.Uri.parse(record.uri)).thresholds);
      record.view.findings = record.findings;
      record.view.suggestions = suggestActivations(record.config, record.findings);
    }
    if (this.active?.record === record) {
      this.active = undefined;
      this.status.hide();
      this.statusShown = false;
      void vscode.commands.executeCommand('setContext', 'activationLens.running', false);
    }
    // The panel's status line says it when the panel shows this run; the status bar always.
    if (status === 'error') tell('error', message ?? 'the run failed', { panelShowsIt: true });
    this.emitter.fire({ kind: 'state', record });
  }

  /**
   * Whether the config changed since the record's run: its open document's text is not the text the run used (by
   * hash: an undo back to that text is fresh again, and closing and reopening the file changes nothing). A closed
   * document is not read here; Apply compares the text again when it opens it.
   */
  isStale(record: RunRecord): boolean {
    const h = openHash(record.uri);
    return h !== undefined && h !== record.textHash;
  }

  /** For tests: whether the status bar shows a run. */
  get statusVisible(): boolean { return this.statusShown; }

  dispose(): void { this.stop(); disposeIdleWorker(); this.status.dispose(); this.emitter.dispose(); }
}

/**
 * Why row `rank` of trials `c` must not be applied, if it must not: the comparison has not finished (its ranking can
 * still change, and a cancelled or failed one is incomplete), or the row's trial diverged or has no finite loss (it
 * ranks last for that reason: its activation is no improvement). The page shows no Apply on such rows; a message can
 * still name them.
 */
export function trialRowRefusal(c: CompareView, rank: number): string | undefined {
  const r = c.results[rank];
  if (!r) return `the trials have no row ${rank + 1}.`;
  const name = `${r.activation} + ${r.init}`;
  if (c.status !== 'done') return `the comparison of ${c.layerName} has not finished (${c.status}): its ranking is not final, so no row is applied. Compare again${c.status === 'running' ? ' or wait for it to end' : ''}.`;
  if (!r.trial || r.trial.diverged || !Number.isFinite(r.trial.valLoss))
    return `row ${rank + 1} (${name}) ${r.trial?.diverged ? 'diverged' : 'has no finite loss'} in its trial: it ranks last for that, and is not applied.`;
  return undefined;
}

/** How many configs' latest trials the controller keeps (setCompare drops the least recently compared beyond it). */
export const MAX_COMPARED = 32;

/** A file: URI whose file no longer exists and that no open document holds (untitled and other schemes are kept). */
function fileGone(uri: string): boolean {
  const u = vscode.Uri.parse(uri);
  return u.scheme === 'file' && !fs.existsSync(u.fsPath) && !vscode.workspace.textDocuments.some(d => d.uri.toString() === uri);
}

/** A host-side timing of the run, shown next to the panel's own (bench/ui-first-chart.mjs). */
export function mark(record: RunRecord, what: HostMark['what']): void {
  (record.view.marks ??= []).push({ what, t: Date.now() });
}

/** The text hash of the open document at `uri`, if it is open. */
export function openHash(uri: string): string | undefined {
  const doc = vscode.workspace.textDocuments.find(d => d.uri.toString() === uri);
  return doc && documentHash(doc);
}

/**
 * What the sidebar shows for a config that has no run yet: its layers from the parsed text, or (when it does not
 * parse) no layers and the number of errors Problems lists for it.
 */
export function configView(doc: vscode.TextDocument): RunView {
  const parsed = parseDocument(doc);
  const ref = { configUri: doc.uri.toString(), configLabel: vscode.workspace.asRelativePath(doc.uri) };
  if (parsed.config) return { ...initialView(doc.uri.fsPath, parsed.config), ...ref };
  return {
    configPath: doc.uri.fsPath, configName: path.basename(doc.uri.fsPath), ...ref, layers: [], status: 'idle', step: 0, totalSteps: 0,
    timeline: [], lossCurve: [], parseErrors: Math.max(1, parsed.problems.filter(p => p.severity === 'error').length),
  };
}

export function initialView(configPath: string, config: NetworkConfig): RunView {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  return {
    configPath,
    configName: config.name ?? path.basename(configPath),
    layers: config.model.layers.map((l, i) => ({
      index: l.index, name: l.name, type: l.type,
      activation: 'activation' in l ? l.activation.name : undefined,
      outputShape: shapes[i]?.outputShape ?? [], params: shapes[i]?.params ?? 0,
    })),
    status: 'idle', step: 0, totalSteps: config.train.steps, timeline: [], lossCurve: [],
    ...(dataNote(config) ? { dataNote: dataNote(config) } : {}),
  };
}
