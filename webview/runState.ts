/** How the panel's view follows the host's 'state' messages. Pure (no DOM): test/unit/webview/runState.test.ts. */
import type { RunView } from '../src/protocol';

export interface NextView {
  view: RunView;
  /** A run starts: what the previous one showed (charts, notices) is no longer news. */
  newRun: boolean;
  /** The charts start over: a new run, another config, or a timeline that went back. */
  resetCharts: boolean;
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
