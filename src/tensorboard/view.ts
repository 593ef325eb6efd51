/**
 * A TensorBoard run as the panel and sidebar render it (protocol.ts RunView), so the editor command shows logs
 * with the same charts as a run of the in-editor trainer, and says what the log could not show.
 */
import type { RunView } from '../protocol';
import type { Finding } from '../diagnosis/types';
import type { TbRun } from './run';

/**
 * `logdir` names the log directory (shown where a config path would be). Logs are written by another process
 * that the editor cannot stop or know the end of, so the status is 'done' (what was read so far), never 'running'.
 */
export function tbRunView(logdir: string, run: TbRun, findings: Finding[], status: RunView['status'] = 'done'): RunView {
  const last = run.timeline[run.timeline.length - 1];
  const { missing, needsActivation } = whatIsMissing(run);
  return {
    configPath: run.dir,
    configName: run.name === '.' ? logdir : `${logdir} / ${run.name}`,
    layers: run.layers.map(l => ({ index: l.index, name: l.name, type: l.type, activation: l.activation?.name, outputShape: [],
      ...(l.weightCount !== undefined ? { params: l.weightCount + (l.biasCount ?? 0) } : {}),
      ...(l.activationSource ? { activationSource: l.activationSource } : {}),
      ...(l.inferred ? { inferred: `${l.inferred.family}: ${l.inferred.evidence}` } : {}) })),
    status,
    step: last?.step ?? 0,
    totalSteps: last?.step ?? 0,
    timeline: run.timeline,
    lossCurve: run.lossCurve,
    message: run.issues.length ? `${run.issues.length} corrupt or truncated record(s) skipped: ${run.issues[0].message}` : undefined,
    findings,
    suggestions: [],
    missing, needsActivation, stepUnit: run.stepUnit,
  };
}

/** What the log does not hold, in words a user can act on. */
export function whatIsMissing(run: TbRun): { missing: string[]; needsActivation: string[] } {
  const has = (q: string, layer?: string) => run.tags.some(t => t.quantity === q && (layer === undefined || t.layer === layer));
  const missing: string[] = [];
  if (!run.layers.length) missing.push('no histogram maps to a layer: log "<layer>/weight", "<layer>/activation" and "<layer>/grad_preact" histograms, or map tags in the settings');
  if (run.layers.length && !has('preact') && !has('activation')) {
    missing.push('no activation or pre-activation histograms: dead and saturated units cannot be measured (log "<layer>/activation")');
  }
  if (run.layers.length && !has('grad')) missing.push('no gradient histograms: gradient flow (vanishing/exploding) cannot be measured (log "<layer>/grad_preact")');
  if (run.layers.length && !has('weight')) missing.push('no weight histograms: update ratios and weight growth cannot be measured');
  if (!run.lossCurve.length) missing.push('no loss scalar: the loss curve and loss-based checks are unavailable');
  const needsActivation = run.layers.filter(l => (has('preact', l.name) || has('activation', l.name)) && l.activationSource !== 'metadata')
    .map(l => l.name);
  const unknown = needsActivation.filter(n => !run.layers.find(l => l.name === n)?.activation);
  if (unknown.length) missing.push(`activation unknown for ${unknown.join(', ')}: dead and saturated fractions are not computed there; choose it below`);
  return { missing, needsActivation };
}
