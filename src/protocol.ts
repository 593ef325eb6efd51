/**
 * Every message that crosses a boundary: extension host <-> training worker, extension host <-> webviews.
 * One module so both sides compile against the same shapes; `isWebviewToHost` validates what a webview sends.
 */
import type { NetworkConfig } from './model';
import type { ProbePoint, RunResult } from './core/types';

// ---- host -> worker ----------------------------------------------------------------------------------
export type HostToWorker =
  | { type: 'start'; runId: number; config: NetworkConfig; /** absolute dir of the config (csv paths) */ baseDir: string; maxSteps: number; memoryLimitMB: number }
  | { type: 'cancel'; runId: number };

// ---- worker -> host ----------------------------------------------------------------------------------
export type WorkerToHost =
  | { type: 'started'; runId: number; totalSteps: number; params: number }
  /** Batched: at most 20 messages a second. `lossCurve` holds the per-step losses since the last message. */
  | { type: 'stats'; runId: number; step: number; probes: ProbePoint[]; lossCurve: number[] }
  | { type: 'done'; runId: number; result: RunResult }
  | { type: 'error'; runId: number; message: string; partial?: RunResult }
  | { type: 'cancelled'; runId: number; partial: RunResult };

// ---- host -> webview ---------------------------------------------------------------------------------
/** What the panel and sidebar render; the panel persists the last `state` with setState for reload. */
export interface RunView {
  configPath: string;
  configName: string;
  layers: { index: number; name: string; type: string; activation?: string; outputShape: number[]; params: number }[];
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  step: number;
  totalSteps: number;
  timeline: ProbePoint[];
  lossCurve: [number, number][];
  message?: string;
}

export type HostToWebview =
  | { type: 'state'; view: RunView }
  | { type: 'stats'; step: number; probes: ProbePoint[]; lossCurve: [number, number][] }
  | { type: 'theme' };

// ---- webview -> host ---------------------------------------------------------------------------------
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'run' }
  | { type: 'stop' }
  | { type: 'showPanel' };

const WEBVIEW_TO_HOST_TYPES = new Set(['ready', 'run', 'stop', 'showPanel']);

/** Webviews are untrusted input: accept only well-formed messages. */
export function isWebviewToHost(m: unknown): m is WebviewToHost {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string'
    && WEBVIEW_TO_HOST_TYPES.has((m as { type: string }).type);
}
