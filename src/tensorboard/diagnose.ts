/**
 * The SPEC §4 run rules over a TensorBoard run. Every finding names the run, the tag and the step it comes
 * from (evidence.run, evidence.tag; finding.step), so a user can open the same series in TensorBoard.
 */
import type { Thresholds } from '../model';
import { safeName } from '../format';
import { runFindings, type DiagnosisLayer } from '../diagnosis/rules';
import type { Finding, FindingKind } from '../diagnosis/types';
import type { TbRun } from './run';
import type { Quantity } from './tags';
import { weightFindings, type ModelShapes } from './weightRules';

/** The run's layers as the rules see them; the last one is the output layer. */
export function tbDiagnosisLayers(run: TbRun): DiagnosisLayer[] {
  return run.layers.map((l, i) => ({
    index: l.index, name: l.name, type: l.type, activation: l.activation, isOutput: i === run.layers.length - 1,
  }));
}

/** Which logged series a finding of each kind reads, in order of preference. */
const SERIES: Record<FindingKind, Quantity[]> = {
  'dead-units': ['preact', 'activation'],
  saturation: ['preact', 'activation'],
  'vanishing-gradient': ['grad'],
  'exploding-gradient': ['grad'],
  'non-finite': ['preact', 'activation', 'grad'],
  'output-mismatch': [], 'init-mismatch': [], 'activation-choice': [],
  'update-ratio': ['weight'], 'frozen-weights': ['weight'], 'weight-growth': ['weight'],
};

export function diagnoseTbRun(run: TbRun, thresholds?: Thresholds, shapes?: ModelShapes): Finding[] {
  const findings = runFindings({ layers: tbDiagnosisLayers(run), timeline: run.timeline, nonFinite: run.nonFinite,
    thresholds, source: `tensorboard run "${safeName(run.name)}"` })
    // The reader notes every NaN/Inf it sees (run.nonFinite); without one, a NaN in the timeline is a series the
    // log does not have (no loss scalar), not a divergence.
    .filter(f => f.kind !== 'non-finite' || run.nonFinite);
  for (const f of findings) {
    f.evidence.run = run.name;
    const name = run.layers[f.layer]?.name;
    const tag = SERIES[f.kind].map(q => run.tags.find(t => t.quantity === q && t.layer === name)?.tag).find(t => t)
      ?? (f.layer < 0 ? run.tags.find(t => t.quantity === 'loss')?.tag : undefined);
    if (tag) f.evidence.tag = tag;
    if (f.kind === 'dead-units' || f.kind === 'saturation') {
      // The fractions were estimated from histogram buckets: say so, with the bounds at the finding's step.
      const key = f.kind === 'dead-units' ? 'deadFraction' : 'saturatedFraction';
      const point = run.timeline.find(p => p.step === f.step) ?? run.timeline[run.timeline.length - 1];
      const bounds = point?.layers[f.layer]?.estimated?.[key];
      f.evidence.estimatedFrom = f.kind === 'dead-units'
        ? 'histogram: fraction of values in the dead region (an upper bound on units dead on every sample)'
        : 'histogram: fraction of values in the saturated region';
      if (bounds) f.evidence.bounds = bounds;
    }
    const layer = run.layers[f.layer];
    if (layer?.activationSource === 'inferred' && (f.kind === 'dead-units' || f.kind === 'saturation')) {
      f.evidence.activation = `${layer.activation?.name} (inferred: ${layer.inferred?.evidence})`;
    }
  }
  const weights = weightFindings(run, shapes);
  const order = { error: 0, warning: 1, info: 2 };
  return [...findings, ...weights].sort((a, b) => order[a.severity] - order[b.severity]);
}
