import * as vscode from 'vscode';
import type { EngineName, Thresholds } from '../model';
import { runThreads } from '../core/parallel';

/** The `activationLens.*` settings, read in one place. */
export interface Settings {
  lintOnType: boolean;
  runOnSave: 'auto' | 'always' | 'never';
  probeEvery: number | null;
  maxSteps: number;
  memoryLimitMB: number;
  thresholds: Thresholds;
  /** Which engine trains when the config does not say (train.engine). */
  engine: EngineName;
  /** Interpreter for the torch engine; empty: ACTIVATION_LENS_PYTHON, the Python extension's, PATH. */
  pythonPath: string;
  /** Threads one core run may use: the setting made a count for this machine (runThreads). */
  threads: number;
}

export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration('activationLens', scope);
  const thresholds: Thresholds = {};
  for (const [k, v] of Object.entries(c.get<Record<string, unknown>>('thresholds') ?? {})) {
    if (typeof v === 'number' && Number.isFinite(v)) thresholds[k] = v;
  }
  return {
    lintOnType: c.get('lintOnType', true),
    runOnSave: (['auto', 'always', 'never'] as const).find(v => v === c.get('runOnSave')) ?? 'auto',
    probeEvery: c.get<number | null>('probeEvery', null),
    maxSteps: c.get('maxSteps', 20000),
    memoryLimitMB: c.get('memoryLimitMB', 1024),
    thresholds,
    engine: (['core', 'torch', 'auto'] as const).find(e => e === c.get('engine')) ?? 'core',
    pythonPath: c.get('pythonPath', ''),
    // settings.json may hold anything ("abc", -1, 1e9): runThreads makes it a thread count for this machine
    threads: runThreads(c.get<unknown>('threads', 0)),
  };
}
