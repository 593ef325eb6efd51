/**
 * Every message that crosses a boundary: extension host <-> training worker, extension host <-> webviews.
 * One module so both sides compile against the same shapes; `isWebviewToHost` validates what a webview sends.
 */
import type { NetworkConfig } from './model';
import type { ProbePoint, RunResult } from './core/types';
import type { Finding, LayerSuggestions, RankedActivation } from './diagnosis/types';
import type { Verification } from './diagnosis/verify';

// ---- host -> worker ----------------------------------------------------------------------------------
export type HostToWorker =
  | { type: 'start'; runId: number; config: NetworkConfig; /** absolute dir of the config (csv paths) */ baseDir: string; maxSteps: number; memoryLimitMB: number;
      /** When set, files the config names must lie inside it (real path, symlinks followed): the editor's workspace folder. */
      workspaceRoot?: string;
      /** Threads the core may use (activationLens.threads; the config's train.threads wins). Default: all cores. */
      threads?: number;
      /** Int32Array(1) flag the host sets to 1 to cancel: the training loop is synchronous and polls it every step. */
      cancelFlag?: SharedArrayBuffer }
  | { type: 'cancel'; runId: number }
  /** Prepare for a run (compile the kernels, warm the JIT) while idle: a worker started ahead of the first Run. */
  | { type: 'warm' };

// ---- worker -> host ----------------------------------------------------------------------------------
export type WorkerToHost =
  /** `threads`: threads the core's run uses (1 for small nets); `note`: why fewer than asked for, if so. */
  | { type: 'started'; runId: number; totalSteps: number; params: number; threads?: number; note?: string }
  /** Batched: at most 20 messages a second. `lossCurve` holds the per-step losses since the last message. */
  | { type: 'stats'; runId: number; step: number; probes: ProbePoint[]; lossCurve: number[] }
  | { type: 'done'; runId: number; result: RunResult }
  | { type: 'error'; runId: number; message: string; partial?: RunResult }
  | { type: 'cancelled'; runId: number; partial: RunResult };

// ---- host <-> compare worker (the editor's Compare Activations) ----------------------------------------------
export interface HostToCompareWorker {
  config: NetworkConfig; baseDir: string; workspaceRoot?: string; layer: number | 'all'; memoryLimitMB: number;
  /** The torch engine's interpreter: the trials then train through PyTorch (src/engine), else on the core. */
  torchPython?: string;
  /** The activations to try (default: every hidden candidate). */
  candidates?: string[];
  /** Where the torch trials' job folders go: the host's folder for this comparison, which it removes. */
  tmpDir?: string;
}
export type CompareWorkerToHost =
  | { type: 'trial'; result: RankedActivation }
  | { type: 'done'; ranked: RankedActivation[] }
  | { type: 'error'; message: string };

// ---- host <-> TensorBoard worker (Diagnose TensorBoard Run) ------------------------------------------------------
export interface HostToTbWorker { dir: string; /** how the directory is named in views */ label: string; thresholds?: Record<string, number>;
  /** Activations chosen in the panel, by logged layer name. */
  activations?: Record<string, string> }
export type TbWorkerToHost =
  | { type: 'update'; names: string[]; views: RunView[] }
  | { type: 'error'; message: string };

// ---- host -> webview ---------------------------------------------------------------------------------
/** What the panel and sidebar render; both keep it with setState for reload, versioned (webview/runState.ts). */
export interface RunView {
  configPath: string;
  /** The config's URI (config runs): the panel sends it back with Run, Compare and Apply. */
  configUri?: string;
  configName: string;
  /** The config's workspace-relative path: the panel and sidebar headers name it (two configs may share a name). */
  configLabel?: string;
  /** A config not run yet that does not parse: how many errors Problems lists for it (layers are then empty). */
  parseErrors?: number;
  /** `params` is absent when unknown (logs without biases); `activationSource` says where a log's activation came from. */
  layers: { index: number; name: string; type: string; activation?: string; outputShape: number[]; params?: number;
    activationSource?: 'given' | 'metadata' | 'inferred'; inferred?: string }[];
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  step: number;
  totalSteps: number;
  timeline: ProbePoint[];
  lossCurve: [number, number][];
  message?: string;
  /** After a run: the findings and per-layer suggestions (SPEC §4, §5). */
  findings?: Finding[];
  suggestions?: LayerSuggestions[];
  /** The latest trials of "Compare Activations" for this config. */
  compare?: CompareView;
  /** The latest Verify of a suggestion: the run with it applied next to this one. */
  verification?: VerificationView;
  /** 'tensorboard' when the view comes from event logs: nothing to apply suggestions to, no trials. */
  source?: 'config' | 'tensorboard';
  /** Said plainly when an imported model trains on synthetic data (report/json.ts dataNote). */
  dataNote?: string;
  /** Config runs: which engine trains and why, e.g. "engine torch (/usr/bin/python3, torch 1.13.1)". */
  engine?: string;
  /** For logs: what could not be measured and why (shown instead of "looks healthy"); empty when all was measured. */
  missing?: string[];
  /** For logs: layers whose outputs are logged but whose activation is not given (the panel offers a choice). */
  needsActivation?: string[];
  /** For logs: what the step axis counts. */
  stepUnit?: 'step' | 'epoch';
  /** Config runs: when the host got the command and heard from the worker (Date.now()), next to the panel's own
   *  marks for bench/ui-first-chart.mjs: where Run -> first chart goes. */
  marks?: HostMark[];
}

export interface HostMark { what: 'command' | 'panel' | 'engine' | 'started' | 'stats' | 'end'; t: number }

/** The runs of a watched TensorBoard log directory, as the sidebar lists them. */
export interface TbRunsView {
  logdir: string;
  runs: { name: string; steps: number; layers: number; errors: number; warnings: number }[];
  shown: number;
}

export interface CompareView {
  layer: number | 'all';
  layerName: string;
  status: 'running' | 'done' | 'cancelled' | 'error';
  results: RankedActivation[];
  message?: string;
  /** The config compared, and the hash of its text then (src/vscode/textHash.ts): Apply is refused once the text differs. */
  uri?: string;
  textHash?: string;
  /** The compared config's workspace-relative path: the trials' title names it (two configs may share a file name). */
  configLabel?: string;
  /** This comparison's identity (RunController.setCompare gives it): a row's Apply names it, and the host applies the
   *  row only while these are the latest trials of their config. */
  id?: string;
  /** The layers each candidate replaces (Apply edits these), and the config's learning rate. */
  layers?: number[];
  configLr?: number;
  /** The ranking rule and the fair-trial rule, stated where the ranking is shown. */
  rule?: string;
  retryRule?: string;
  /** The winner, or that none beats the current activation beyond noise. */
  verdict?: string;
  /** Which engine trained the trials and why (as RunView.engine). */
  engine?: string;
}

export interface VerificationView {
  status: 'running' | 'done' | 'error';
  /** What is being verified, e.g. "init he_normal on dense_1..dense_5 (init-mismatch)". */
  title: string;
  result?: Verification;
  message?: string;
  /** Which engine trained the run with the suggestion applied and why (as RunView.engine). */
  engine?: string;
}

/** Feedback the panel shows in its notice line (src/vscode/feedback.ts): why a Run or an Apply was refused, an error,
 *  or news such as a report written. Cleared when the user dismisses it or a new run starts. */
export interface PanelNotice { kind: 'refusal' | 'error' | 'info'; text: string }

export type HostToWebview =
  | { type: 'state'; view: RunView }
  | { type: 'notice'; notice: PanelNotice }
  | { type: 'stats'; step: number; probes: ProbePoint[]; lossCurve: [number, number][] }
  | { type: 'compare'; compare: CompareView }
  | { type: 'verification'; verification: VerificationView }
  | { type: 'tbRuns'; tb: TbRunsView }
  /** The Activation Explorer: show this activation first and pick this layer of the run (from a hover's link). */
  | { type: 'explorerFocus'; activation?: string; layer?: number }
  | { type: 'theme' }
  /**
   * Whether the config changed since the shown run (its text differs from the run's, by hash): a banner offers
   * Re-run and every Apply is disabled. `trials`: the ids (CompareView.id) of the trials a row of which the host would
   * apply now, the latest of each compared config while its text is the one compared. The page looks up the trials it
   * shows: the host never guesses which those are.
   */
  | { type: 'stale'; stale: boolean; trials: string[] }
  /** The sidebar has no config to show: why (no folder, no config in the workspace, none open); it offers New Network Config. */
  | { type: 'empty'; message: string };

// ---- webview -> host ---------------------------------------------------------------------------------
/**
 * `config`: the URI of the config the panel shows (RunView.configUri). Run, Compare and Apply act on that config,
 * not on whichever editor happens to be active; without it (the sidebar) they act on the active config.
 */
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'run'; config?: string }
  | { type: 'stop' }
  | { type: 'showPanel' }
  /** The sidebar's New Network Config (empty workspace). */
  | { type: 'newConfig' }
  /** Apply suggestion `suggestion` of finding `finding` (indices into the view's findings). */
  | { type: 'applyFinding'; finding: number; suggestion: number; config?: string }
  /** Apply the ranked activation `rank` of layer `layer` from the view's suggestions. */
  | { type: 'applyRanked'; layer: number; rank: number; config?: string }
  | { type: 'compare'; layer: number | 'all'; config?: string }
  /**
   * Apply row `rank` of the trials the page shows (activation + init on their layers, and the lr a trial lowered to),
   * named by what the page knows of them: their config (CompareView.uri) and their identity (CompareView.id). The host
   * applies it only if they are that config's latest trials.
   */
  | { type: 'applyTrial'; rank: number; config: string; trials: string }
  /** Verify suggestion `suggestion` of finding `finding`, or ranked activation `rank` of layer `layer`. */
  | { type: 'verifyFinding'; finding: number; suggestion: number; config?: string }
  | { type: 'verifyRanked'; layer: number; rank: number; config?: string }
  /** Show run `run` of the watched TensorBoard log directory in the panel. */
  | { type: 'showTbRun'; run: number }
  /** Set the activation of a logged layer (by name) for the watched TensorBoard logs; '' clears it. */
  | { type: 'setTbActivation'; layer: string; activation: string };

const isIndex = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) < 1e6;
/** Absent, or a file: URI of sane length (the host still checks it names a config it knows). */
const isConfigRef = (v: unknown): boolean => v === undefined || (typeof v === 'string' && v.length <= 4096 && /^file:\/\//.test(v));
/** A trial set's id as the host makes them (a UUID): short letters, digits and dashes, nothing else. */
const isTrialsId = (v: unknown): boolean => typeof v === 'string' && /^[0-9a-f-]{1,64}$/.test(v);

/**
 * One validator per message type, field by field. The mapped type makes the table exhaustive: a message type added
 * to WebviewToHost without a validator here does not compile.
 */
const VALID: { [K in WebviewToHost['type']]: (r: Record<string, unknown>) => boolean } = {
  ready: () => true,
  stop: () => true,
  showPanel: () => true,
  newConfig: () => true,
  run: r => isConfigRef(r.config),
  applyFinding: r => isIndex(r.finding) && isIndex(r.suggestion) && isConfigRef(r.config),
  applyRanked: r => isIndex(r.layer) && isIndex(r.rank) && isConfigRef(r.config),
  compare: r => (r.layer === 'all' || isIndex(r.layer)) && isConfigRef(r.config),
  applyTrial: r => isIndex(r.rank) && r.config !== undefined && isConfigRef(r.config) && isTrialsId(r.trials),
  verifyFinding: r => isIndex(r.finding) && isIndex(r.suggestion) && isConfigRef(r.config),
  verifyRanked: r => isIndex(r.layer) && isIndex(r.rank) && isConfigRef(r.config),
  showTbRun: r => isIndex(r.run),
  setTbActivation: r => typeof r.layer === 'string' && r.layer.length > 0 && r.layer.length <= 500
    && typeof r.activation === 'string' && r.activation.length <= 50,
};

/**
 * Webviews are untrusted input: accept only well-formed messages. The type must be a string (an array ['ready'] would
 * name the key 'ready') and the table's own key: 'toString', '__proto__' and 'constructor' are inherited, not types.
 */
export function isWebviewToHost(m: unknown): m is WebviewToHost {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return typeof r.type === 'string' && Object.hasOwn(VALID, r.type) && VALID[r.type as WebviewToHost['type']](r);
}
