/**
 * Starts an editor comparison (Compare Activations) on the engine the config and settings choose, as
 * startEngineRun does for Run: the trials run in the compare worker either way (data loading and ranking stay
 * off the extension host thread); with torch the worker trains each trial through the PyTorch runner.
 */
import type { EngineName, NetworkConfig } from '../model';
import type { RankedActivation } from '../diagnosis/types';
import { startCompare, type CompareOutcome } from '../worker/compareClient';
import { chooseEngineAsync } from './select';
import type { PythonCandidate } from './torch/python';

export interface EngineCompareArgs {
  config: NetworkConfig; baseDir: string; workspaceRoot?: string; layer: number | 'all'; memoryLimitMB: number; workerPath: string;
  /** The activations to try (default: every hidden candidate). */
  candidates?: string[];
  /** The setting activationLens.engine (the config's train.engine wins). */
  engine?: EngineName;
  /** Overrides the config and the setting (Verify trains on the engine its run used). */
  engineOverride?: 'core' | 'torch';
  pythonCandidates: () => Promise<PythonCandidate[]>;
  /** Told which engine trains the trials and why. */
  onEngine?: (why: string, engine: 'core' | 'torch') => void;
}

export function startEngineCompare(args: EngineCompareArgs, onTrial?: (r: RankedActivation) => void): { cancel(): void; outcome: Promise<CompareOutcome> } {
  let inner: { cancel(): void } | undefined;
  let cancelled = false;
  const outcome = (async (): Promise<CompareOutcome> => {
    let choice;
    try {
      choice = await chooseEngineAsync(args.config, { setting: args.engine, flag: args.engineOverride }, args.pythonCandidates);
    } catch (e) {
      return { status: 'error', results: [], message: (e as Error).message };
    }
    args.onEngine?.(choice.why, choice.engine);
    if (cancelled) return { status: 'cancelled', results: [] };
    const job = startCompare({ ...args, ...(choice.engine === 'torch' ? { torchPython: choice.python.command } : {}) }, onTrial);
    inner = job;
    return job.outcome;
  })();
  return { cancel: () => { cancelled = true; inner?.cancel(); }, outcome };
}
