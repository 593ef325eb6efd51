/** Findings (SPEC §4) and suggestions (SPEC §5): what the rules produce and every surface shows. */
import type { Span } from '../model';

export type Severity = 'error' | 'warning' | 'info';
export type FindingKind =
  | 'dead-units' | 'saturation' | 'vanishing-gradient' | 'exploding-gradient' | 'non-finite'
  | 'output-mismatch' | 'init-mismatch' | 'activation-choice'
  /** From weight histograms of logs (src/tensorboard/weightRules.ts). */
  | 'update-ratio' | 'frozen-weights' | 'weight-growth';

/** One concrete change to the config. Quick fixes apply exactly these fields. */
export interface Suggestion {
  /** Activation name for the finding's layer (or for `layers`, when given). */
  activation?: string;
  /** Initializer name that goes with it. */
  init?: string;
  lr?: number;
  clip?: number;
  /** Layers the change applies to (config indices); default: the finding's layer. */
  layers?: number[];
  reason: string;
}

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** Config layer index (0-based); -1 for the whole network (e.g. a non-finite loss). */
  layer: number;
  layerName: string;
  /** Probe step the finding is about; null for static findings. */
  step: number | null;
  message: string;
  evidence: Record<string, number | string | boolean | number[] | null>;
  suggestions: Suggestion[];
  /** Where it points in the config: the activation/init value, or the layer. */
  span?: Span;
}

export interface RankedActivation {
  activation: string;
  init: string;
  reason: string;
  /** The learning rate that goes with this choice when a fair trial had to lower the config's (global: it applies to
   *  the whole network, not only the compared layer). Absent when the config's own rate is kept. */
  lr?: number;
  trial?: {
    valLoss: number; trainLoss: number; valAccuracy?: number; lossCurve: number[]; deadFraction?: number; saturatedFraction?: number; gradRatio?: number;
    /** The learning rate this trial trained at. */
    lr?: number;
    /** Non-finite, or the smoothed training loss rose above 3x its start, at every rate tried. */
    diverged?: boolean;
    /** Every rate tried for this candidate, in order (only when it was retried at lower rates). */
    attempts?: { lr: number; valLoss: number; diverged: boolean }[];
  };
}

export interface LayerSuggestions { layer: number; current: string; ranked: RankedActivation[] }
