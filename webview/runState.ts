/**
 * How the panel's and the sidebar's run view follows the host's messages, and what they keep with setState.
 * Pure (no DOM) and shared by both apps, so the two cannot drift: test/unit/webview/runState.test.ts.
 */
import type { HostToWebview, RunView } from '../src/protocol';

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
    case 'state': return nextView(view, m.view);
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
