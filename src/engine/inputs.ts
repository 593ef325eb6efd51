/**
 * What a run reads before it trains, the same for every caller (the editor's Run worker, its Compare worker,
 * a torch run from the editor, the CLI): the data set and, for `init: from-model`, the model's weights.
 * Problems are thrown as they come (an InputError at the config's place); each caller words them for its
 * own output. Memory refusals stay with the callers: they decide before any of this is read.
 */
import type { Dataset, NetworkConfig } from '../model';
import { loadDataset } from '../data';
import { loadModelWeights } from '../config/weights';
import type { LayerWeights } from '../config/onnx';

export interface RunInputs {
  data: Dataset;
  /** The model's weights by layer index; undefined when the config draws its weights. */
  initialWeights: (LayerWeights | undefined)[] | undefined;
}

export interface RunInputOptions {
  /** Files the config names must lie inside it (the editor); absent: anywhere (the CLI). */
  workspaceRoot?: string;
  /** Replaces loadDataset (tests give a data set without files). */
  loadData?: (config: NetworkConfig, baseDir: string) => Dataset;
  /** The run's memory limit (MB): caps the model weights read for `init: from-model`; default 1024. */
  memoryLimitMB?: number;
}

/** The data first, then the weights: a config's paths are relative to `baseDir` (the config's folder). */
export function loadRunInputs(config: NetworkConfig, baseDir: string, opts: RunInputOptions = {}): RunInputs {
  const data = opts.loadData
    ? opts.loadData(config, baseDir)
    : loadDataset(config, baseDir, opts.workspaceRoot ? { workspaceRoot: opts.workspaceRoot } : undefined);
  const initialWeights = loadModelWeights(config, baseDir, opts.workspaceRoot, opts.memoryLimitMB);
  return { data, initialWeights };
}
