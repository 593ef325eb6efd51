/**
 * The thresholds of the SPEC §4 rules, overridable by key in a config's `diagnostics:` section and in the
 * `activationLens.thresholds` setting. Defaults are calibrated on ../shared/research/calibration.md and on the
 * scenario tests (see docs/diagnosis.md for the numbers behind each).
 */
import type { InputProblem, Span, Thresholds } from '../model';
import { didYouMean } from '../config/names';

export const DEFAULT_THRESHOLDS = {
  /** deadFraction (median over the tail probes) at or above which a hidden layer gets an info finding. */
  dead_info: 0.3,
  /** ... a warning (healthy relu nets carry 20-30% dead units, so this stays well above that). */
  dead_warning: 0.5,
  /** ... an error. A layer with every unit dead is always an error ("the network is dead from layer k"). */
  dead_error: 0.9,
  /** saturatedFraction on >= saturation_probes consecutive probes: a warning when it hurts, else info. */
  saturation_warning: 0.5,
  /** saturatedFraction sustained (tail median and the consecutive run) at or above this: an error. */
  saturation_error: 0.9,
  saturation_probes: 3,
  /** "Hurts": this layer's or a lower layer's gradRms / output gradRms below this ratio. */
  saturation_hurt_ratio: 0.1,
  /** gradRms(layer) / gradRms(output), median over the tail probes. */
  vanishing_warning: 1e-2,
  vanishing_error: 1e-4,
  exploding_warning: 1e2,
  exploding_error: 1e4,
  /** A probe's global gradient norm above this multiple of the running median of the earlier ones is a jump. */
  exploding_jump: 10,
  /** ... and only when the training loss at (or right after) that probe rose above this multiple of its running median. */
  exploding_loss_rise: 2,
  /** ... and above this fraction of the step-0 loss (a rise from 0.001 to 0.03 is not a blow-up). */
  exploding_loss_floor: 0.25,
  /** Fraction of the probes (from the end) that the "median over the last probes" statistics use; at least 3 probes. */
  tail_fraction: 0.2,
  /** "Loss stalled while high": the tail's median loss is above this fraction of the step-0 loss. */
  stall_fraction: 0.7,
} satisfies Thresholds;

export type ThresholdKey = keyof typeof DEFAULT_THRESHOLDS;

/** A threshold name (own keys only: `constructor` or `toString` are not thresholds). */
export const isThresholdKey = (k: string): k is ThresholdKey => Object.hasOwn(DEFAULT_THRESHOLDS, k);

/** Short documentation per key, for docs, hovers of the diagnostics: section and error messages. */
export const THRESHOLD_DOCS: Record<ThresholdKey, string> = {
  dead_info: 'dead-units info at this dead fraction (median over the last probes)',
  dead_warning: 'dead-units warning at this dead fraction',
  dead_error: 'dead-units error at this dead fraction',
  saturation_warning: 'saturation warning (when it hurts) at this saturated fraction on consecutive probes',
  saturation_error: 'saturation error at this sustained saturated fraction',
  saturation_probes: 'consecutive probes the saturated fraction must hold',
  saturation_hurt_ratio: 'gradient ratio below which saturation is said to hurt',
  vanishing_warning: 'vanishing-gradient warning below this gradRms ratio to the output layer',
  vanishing_error: 'vanishing-gradient error below this gradRms ratio',
  exploding_warning: 'exploding-gradient warning above this gradRms ratio',
  exploding_error: 'exploding-gradient error above this gradRms ratio',
  exploding_jump: 'exploding-gradient warning when the gradient norm jumps above this multiple of its running median',
  exploding_loss_rise: 'a gradient-norm jump counts only when the loss rises above this multiple of its running median with it',
  exploding_loss_floor: '... and above this fraction of the step-0 loss',
  tail_fraction: 'fraction of the last probes that the median statistics use',
  stall_fraction: 'loss counts as stalled while high when it stays above this fraction of the initial loss',
};

/** Defaults overridden by the known keys of each source in turn (later wins); unknown keys are ignored. */
export function resolveThresholds(...overrides: (Thresholds | undefined)[]): Record<ThresholdKey, number> {
  const t: Record<ThresholdKey, number> = { ...DEFAULT_THRESHOLDS };
  for (const o of overrides) {
    if (!o) continue;
    for (const [k, v] of Object.entries(o)) {
      if (isThresholdKey(k) && typeof v === 'number' && Number.isFinite(v)) t[k as ThresholdKey] = v;
    }
  }
  return t;
}

/**
 * Problems with a `diagnostics:` section (the config parser accepts any key; the rules own the names): an
 * unknown key is a warning at its value, with "did you mean" where a threshold name is close.
 */
export function thresholdProblems(diagnostics: Thresholds, spans: Record<string, Span>): InputProblem[] {
  const known = Object.keys(DEFAULT_THRESHOLDS);
  return Object.keys(diagnostics).filter(k => !isThresholdKey(k)).map(k => ({
    severity: 'warning' as const,
    message: `unknown threshold "${k}", it is ignored${didYouMean(k, known)}`,
    span: spans[`diagnostics.${k}`] ?? spans.diagnostics,
  }));
}
