/**
 * The diagnosis rules of SPEC §4, the entry points every surface calls: static findings (config only) and run
 * findings (a probe timeline), de-duplicated and ordered by severity, then layer.
 */
import type { LossName, NetworkConfig, Thresholds } from '../model';
import type { NonFiniteEvent, ProbePoint } from '../core/types';
import type { Finding, Severity } from './types';
import { diagnosisLayers, type DiagnosisLayer } from './layers';
import { staticRules } from './staticRules';
import { runRules } from './runRules';

export { DEFAULT_THRESHOLDS, THRESHOLD_DOCS, resolveThresholds } from './thresholds';
export { diagnosisLayers, type DiagnosisLayer };

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** One finding per (kind, layer), the most severe; ordered by severity, then layer, then kind. */
export function orderFindings(findings: Finding[]): Finding[] {
  const best = new Map<string, Finding>();
  for (const f of findings) {
    const key = `${f.kind}@${f.layer}`;
    const prev = best.get(key);
    if (!prev || RANK[f.severity] < RANK[prev.severity]) best.set(key, f);
  }
  return [...best.values()].sort((a, b) => RANK[a.severity] - RANK[b.severity] || a.layer - b.layer || a.kind.localeCompare(b.kind));
}

/** output-mismatch, init-mismatch and activation-choice, from the config alone. */
export function staticFindings(config: NetworkConfig, _thresholds?: Thresholds): Finding[] {
  return orderFindings(staticRules(config));
}

/** dead-units, saturation, vanishing/exploding-gradient and non-finite, from a probe timeline. */
export function runFindings(input: {
  layers: DiagnosisLayer[]; timeline: ProbePoint[]; nonFinite?: NonFiniteEvent; loss?: LossName; thresholds?: Thresholds;
  source?: string; lr?: number;
}): Finding[] {
  return orderFindings(runRules(input));
}

/** Static and run findings of one config and run together (what the CLI and the reports show). */
export function diagnose(config: NetworkConfig, run?: { timeline: ProbePoint[]; nonFinite?: NonFiniteEvent }, thresholds?: Thresholds): Finding[] {
  const t = { ...thresholds, ...config.diagnostics };
  const found = staticRules(config);
  if (run) {
    found.push(...runRules({ layers: diagnosisLayers(config), timeline: run.timeline, nonFinite: run.nonFinite,
      loss: config.train.loss, thresholds: t, lr: config.train.lr }));
  }
  return orderFindings(found);
}
