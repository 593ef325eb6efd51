/**
 * How the panel's and the sidebar's run view follows the host's messages, and what they keep with setState.
 * Pure (no DOM) and shared by both apps, so the two cannot drift: test/unit/webview/runState.test.ts.
 */
import type { CompareView, HostToWebview, RunView, TbRunsView, WebviewToHost } from '../src/protocol';

export interface Applied {
  /** The view to draw; undefined when there is none (yet, or the sidebar has no config to show). */
  view?: RunView;
  /** A run starts: what the previous one showed (charts, notices) is no longer news. */
  newRun: boolean;
  /** The charts start over: a new run, another config, or a timeline that went back. */
  resetCharts: boolean;
}

/** After a state message there is always a view. */
export interface NextView extends Applied { view: RunView }

/**
 * The view after message `m`. The view passed in may be extended in place (a stats message appends to a long run's
 * timeline 20 times a second: copying it each time would cost more than the draw); keep only the returned one.
 * Messages that are not about the run (notice, stale, theme, tbRuns, explorerFocus) leave it as it is.
 */
export function applyMessage(view: RunView | undefined, m: HostToWebview): Applied {
  const same = { view, newRun: false, resetCharts: false };
  switch (m.type) {
    // The host's view may come from workspaceState, written by an older version: one that would crash draw() is
    // ignored, as the initial view and the saved state are (a state message is rare, the check cheap).
    case 'state': return isRunView(m.view) ? nextView(view, m.view) : same;
    case 'empty': return { view: undefined, newRun: false, resetCharts: false };
    // Stats, trials and a verification before any state belong to no view the page knows: the host re-sends the
    // whole view after 'ready'.
    case 'stats':
      if (view) { view.step = m.step; view.timeline.push(...m.probes); view.lossCurve.push(...m.lossCurve); }
      return same;
    case 'compare': if (view) view.compare = m.compare; return same;
    case 'verification': if (view) view.verification = m.verification; return same;
    case 'notice': case 'stale': case 'theme': case 'tbRuns': case 'explorerFocus': return same;
    // A new message type must be placed above (compile error here); at run time an unknown one changes nothing.
    default: { const unhandled: never = m; void unhandled; return same; }
  }
}

/**
 * The config a message from the panel names (the host acts on that file, never on the active editor's), or undefined:
 * Run, Compare, Apply and Verify name the shown run's config; a trial row's Apply names its trials' own (the button
 * carries it, with the trials' identity: trialApply). A TensorBoard run has no config to edit.
 */
export function configNamed(m: WebviewToHost, view: RunView | undefined): string | undefined {
  if (m.type === 'applyTrial') return m.config;
  if (!view || view.source === 'tensorboard') return undefined;
  const names = m.type === 'run' || m.type === 'compare' || m.type === 'applyFinding' || m.type === 'applyRanked'
    || m.type === 'verifyFinding' || m.type === 'verifyRanked';
  return names ? view.configUri : undefined;
}

/**
 * The Apply message of row `rank` of trials `c`, naming what the page shows: the trials' config and identity (the host
 * applies the row only if they are that config's latest trials); undefined for trials that cannot name themselves (a
 * view saved before trials had an identity).
 */
export function trialApply(c: CompareView, rank: number): WebviewToHost | undefined {
  return c.uri && c.id ? { type: 'applyTrial', rank, config: c.uri, trials: c.id } : undefined;
}

/**
 * Whether the trials shown are out of date: not among those the host last said it would apply (`applicable`, the
 * stale message's `trials`: each compared config's latest, of its current text). Before the host said anything
 * (`undefined`), trials that name themselves are taken as current.
 */
export function trialsStale(c: CompareView, applicable: readonly string[] | undefined): boolean {
  if (!c.uri || !c.id) return true;
  return applicable !== undefined && !applicable.includes(c.id);
}

/** The trials' title: their layer and config (workspace-relative path: two configs may share a file name), status, engine. */
export function trialsTitle(c: CompareView): string {
  const file = c.configLabel ?? (c.uri ? decodeURIComponent(c.uri.slice(c.uri.lastIndexOf('/') + 1)) : undefined);
  return `Activation trials for ${c.layerName}${file ? ` of ${file}` : ''}: ${c.status}${c.message ? ` (${c.message})` : ''}${c.engine ? ` · ${c.engine}` : ''}`;
}

/**
 * The view after the host sends `next`. A run starts when a state turns 'running' (the host sends 'running' again
 * once the engine is chosen: that is the same run, not a new one), or names another run (another config, or another
 * command time in its marks). Trials and a verification are kept for the same config until the host sends new ones.
 */
export function nextView(prev: RunView | undefined, next: RunView): NextView {
  const sameConfig = prev?.configPath === next.configPath;
  const newRun = next.status === 'running' && (prev?.status !== 'running' || !sameConfig || runStart(prev) !== runStart(next));
  // A run with no probes left its charts on the page (empty, and for its own layers): the next run of the same config
  // kept them, as its timeline could not shrink below nothing.
  const resetCharts = newRun || !sameConfig || next.timeline.length < (prev?.timeline.length ?? 0);
  return {
    view: { ...next, compare: next.compare ?? (sameConfig ? prev?.compare : undefined), verification: next.verification ?? (sameConfig ? prev?.verification : undefined) },
    newRun, resetCharts,
  };
}

/** When the host got the command of this run (its first mark), if it says. */
const runStart = (v: RunView | undefined) => v?.marks?.[0]?.t;

/**
 * What a webview keeps with setState. It outlives the code that wrote it: a webview restored after an extension
 * update reads the old version's state. Raise SAVED_VERSION when RunView or this changes shape incompatibly; an older
 * state is then dropped, and the page waits for the host's view (sent after 'ready') instead of crashing on it.
 */
export const SAVED_VERSION = 1;
export interface SavedState { v: typeof SAVED_VERSION; view: RunView; tb?: TbRunsView }

export function toSaved(view: RunView, tb?: TbRunsView): SavedState {
  return tb ? { v: SAVED_VERSION, view, tb } : { v: SAVED_VERSION, view };
}

/** The saved state to start from, or undefined when it is of another version or malformed. A malformed tb list
 *  alone is dropped: the host re-sends it. */
export function fromSaved(s: unknown): SavedState | undefined {
  // The state before versions ({ view, tb? }) has version 1's shape, and is read as version 1: dropping it would leave
  // a panel that showed a TensorBoard run blank after the update, as the host has no view of its own to send then.
  if (!isObj(s) || (s.v !== SAVED_VERSION && s.v !== undefined) || !isRunView(s.view)) return undefined;
  return toSaved(s.view, isTbRuns(s.tb) ? s.tb : undefined);
}

const STATUSES: readonly unknown[] = ['idle', 'running', 'done', 'cancelled', 'error'] satisfies RunView['status'][];
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number';
const isStr = (v: unknown): v is string => typeof v === 'string';
const arrayOf = (v: unknown, each: (x: unknown) => boolean): boolean => Array.isArray(v) && v.every(each);
const optional = (v: unknown, ok: (x: unknown) => boolean): boolean => v === undefined || ok(v);

/** The fields the apps read without a guard, and the shape of the optional ones they walk (not every number in a probe). */
export function isRunView(v: unknown): v is RunView {
  return isObj(v) && isStr(v.configPath) && isStr(v.configName) && STATUSES.includes(v.status) && isNum(v.step) && isNum(v.totalSteps)
    && arrayOf(v.layers, l => isObj(l) && isNum(l.index) && isStr(l.name) && isStr(l.type) && Array.isArray(l.outputShape))
    && arrayOf(v.timeline, p => isObj(p) && isNum(p.step) && Array.isArray(p.layers))
    // Entries are not checked: a diverged run's NaN losses come back from JSON as null, and charts skip them.
    && arrayOf(v.lossCurve, Array.isArray)
    && optional(v.findings, f => arrayOf(f, x => isObj(x) && Array.isArray(x.suggestions)))
    && optional(v.suggestions, s => arrayOf(s, x => isObj(x) && Array.isArray(x.ranked)))
    && optional(v.missing, m => arrayOf(m, isStr)) && optional(v.needsActivation, m => arrayOf(m, isStr))
    && optional(v.marks, m => arrayOf(m, x => isObj(x) && isNum(x.t)))
    && optional(v.compare, c => isObj(c) && isStr(c.layerName) && isStr(c.status) && Array.isArray(c.results))
    && optional(v.verification, x => isObj(x) && isStr(x.status) && isStr(x.title) && optional(x.result, isObj));
}

function isTbRuns(v: unknown): v is TbRunsView {
  return isObj(v) && isStr(v.logdir) && isNum(v.shown)
    && arrayOf(v.runs, r => isObj(r) && isStr(r.name) && isNum(r.steps) && isNum(r.layers) && isNum(r.errors) && isNum(r.warnings));
}
