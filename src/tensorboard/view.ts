/**
 * A TensorBoard run as the panel and sidebar render it (protocol.ts RunView), so the editor command shows logs
 * with the same charts as a run of the in-editor trainer.
 */
import type { RunView } from '../protocol';
import type { Finding } from '../diagnosis/types';
import type { TbRun } from './run';

/** `logdir` names the log directory (shown where a config path would be); status 'running' while watching. */
export function tbRunView(logdir: string, run: TbRun, findings: Finding[], status: RunView['status'] = 'done'): RunView {
  const last = run.timeline[run.timeline.length - 1];
  return {
    configPath: run.dir,
    configName: run.name === '.' ? logdir : `${logdir} / ${run.name}`,
    layers: run.layers.map(l => ({ index: l.index, name: l.name, type: l.type, activation: l.activation?.name, outputShape: [], params: 0 })),
    status,
    step: last?.step ?? 0,
    totalSteps: last?.step ?? 0,
    timeline: run.timeline,
    lossCurve: run.lossCurve,
    message: run.issues.length ? `${run.issues.length} corrupt or truncated record(s) skipped: ${run.issues[0].message}` : undefined,
    findings,
    suggestions: [],
  };
}
