/** Types the training core produces: probe statistics (SPEC §4) and run results. */

export interface Histogram {
  /** Bin edges, length bins+1, fixed per layer for the whole run (chosen at the first probe). */
  edges: number[];
  /** Counts per bin; values outside the edges go to the first/last bin. */
  counts: number[];
}

/** Per layer, per probe. Layers without a pre-activation (flatten, dropout, pool) carry nulls where meaningless. */
export interface LayerStats {
  /** Fraction of units with f'(z)=0 on every probe sample; null when the activation has no zero-derivative region. */
  deadFraction: number | null;
  /** Fraction of (sample, unit) pairs with f'(z) < 0.1 * max f'; null when not applicable. */
  saturatedFraction: number | null;
  activationMean: number; activationStd: number;
  preactMean: number | null; preactStd: number | null;
  preactHist: Histogram | null; activationHist: Histogram | null;
  /** RMS of dLoss/dz at this layer's pre-activation (dLoss/da for layers without one). */
  gradRms: number;
  weightGradRms: number | null;
  /** ||dW|| / ||W|| of the last step's update. */
  updateRatio: number | null;
  /** NaN/Inf counts in this layer's z, a, and gradients at this probe. */
  nonFinite: number;
  /**
   * Set when fractions were estimated from histograms (TensorBoard logs) rather than counted: guaranteed
   * [lower, upper] bounds of deadFraction / saturatedFraction (the value is the interpolated estimate).
   */
  estimated?: { deadFraction?: [number, number]; saturatedFraction?: [number, number] };
  /** Set when the layer's weights come from logged histograms (TensorBoard): see WeightStats. */
  weights?: WeightStats;
}

/** A layer's weights at one logged step, from their histogram (docs/tensorboard.md, "Weights"). */
export interface WeightStats {
  count: number;
  mean: number;
  std: number;
  /** L2 norm; exact when the log has sum_squares, else from buckets with `normBounds`. */
  norm: number;
  normBounds?: [number, number];
  exact: boolean;
  /**
   * Lower bound on the mean per-step ||dW|| / ||W|| since the previous logged step (the displacement bound
   * divided by the steps between and the larger norm); null at the first logged step.
   */
  updateRatioLower: number | null;
  /** Steps since the previous logged weights; null at the first. */
  interval: number | null;
  /** The histogram is identical to the previous one (the tensor did not change); null at the first. */
  unchanged: boolean | null;
  /** 1 when the weights hold NaN/Inf (non-finite sum, sum of squares, min or max). */
  nonFinite: number;
}

export interface ProbePoint {
  step: number;
  /** Mean training loss since the previous probe (the step-0 probe uses the probe batch's loss). */
  trainLoss: number;
  valLoss: number;
  valAccuracy?: number;
  /** Global gradient norm of the last step (before clipping). */
  gradNorm: number;
  /** One entry per config layer, in layer order. */
  layers: LayerStats[];
}

export type StopReason = 'completed' | 'cancelled' | 'non-finite' | 'limit';

export interface NonFiniteEvent { step: number; layer: number; where: 'loss' | 'forward' | 'backward' }

export interface RunResult {
  steps: number;
  stopped: StopReason;
  timeline: ProbePoint[];
  /** Every step's training loss (decimate for display). */
  lossCurve: number[];
  final: { trainLoss: number; valLoss: number; valAccuracy?: number };
  nonFinite?: NonFiniteEvent;
  params: number;
  nonTrainableParams: number;
  wallMs: number;
}
