/**
 * Starts a run on the engine the config and settings choose, with the callbacks of the core's worker client:
 * the editor's Run calls this one function and shows either engine's run in the same panel.
 */
import { formatProblem, InputError, type EngineName, type NetworkConfig } from '../model';
import { memoryRefusal } from '../core/memory';
import { startRun, type RunCallbacks } from '../worker/client';
import { loadRunInputs } from './inputs';
import { chooseEngineAsync } from './select';
import { startTorchRun } from './torch/run';
import type { PythonCandidate } from './torch/python';

export interface EngineRunArgs {
  config: NetworkConfig; baseDir: string; maxSteps: number; memoryLimitMB: number; workerPath?: string;
  /** Data paths must stay inside it (as the core's worker checks). */
  workspaceRoot?: string;
  /** The setting activationLens.engine (the config's train.engine wins). */
  engine?: EngineName;
  /** Overrides the config and the setting (Verify trains on the engine its run used). */
  engineOverride?: 'core' | 'torch';
  /** The setting activationLens.threads for the core (the config's train.threads wins), already a count for this machine (runThreads); absent: all cores. */
  threads?: number;
  pythonCandidates: () => Promise<PythonCandidate[]>;
  /** Told which engine runs and why (e.g. for a status line). */
  onEngine?: (why: string, engine: 'core' | 'torch') => void;
}

export function startEngineRun(args: EngineRunArgs, on: RunCallbacks): { cancel(): void; done: Promise<void> } {
  let inner: { cancel(): void; done: Promise<void> } | undefined;
  let cancelled = false;
  const done = (async () => {
    let choice;
    try {
      choice = await chooseEngineAsync(args.config, { setting: args.engine, flag: args.engineOverride }, args.pythonCandidates);
    } catch (e) {
      on.error((e as Error).message);
      return;
    }
    args.onEngine?.(choice.why, choice.engine);
    if (cancelled) { on.cancelled({ steps: 0, stopped: 'cancelled', timeline: [], lossCurve: [], final: { trainLoss: NaN, valLoss: NaN }, params: 0, nonTrainableParams: 0, wallMs: 0 }); return; }
    if (choice.engine === 'core') {
      inner = startRun(args, on);
    } else {
      // The core's worker checks this itself; here it is the extension host's own memory: the data is loaded and the
      // initial weights are drawn in this thread before the runner starts.
      const refusal = memoryRefusal(args.config, args.memoryLimitMB, 1);
      if (refusal) { on.error(refusal); return; }
      let data, initialWeights;
      try {
        // init: from-model: the torch runner starts from the model's weights, as the core's worker does.
        ({ data, initialWeights } = loadRunInputs(args.config, args.baseDir, { workspaceRoot: args.workspaceRoot, memoryLimitMB: args.memoryLimitMB }));
      } catch (e) {
        on.error(e instanceof InputError ? formatProblem(e.file ?? args.config.file ?? 'config', e.problem) : (e as Error).message);
        return;
      }
      inner = startTorchRun({ config: args.config, data, python: choice.python.command, cuda: choice.python.cuda, maxSteps: args.maxSteps, initialWeights }, on);
    }
    await inner.done;
  })();
  return { cancel: () => { cancelled = true; inner?.cancel(); }, done };
}
