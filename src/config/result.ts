import type { InputProblem, NetworkConfig } from '../model';

export interface ParseResult {
  /** Present when there is no error problem. */
  config?: NetworkConfig;
  problems: InputProblem[];
  /**
   * When there are errors but part of the network was understood (e.g. a Keras model up to an unsupported
   * layer): that part, with defaults filled, so static lint can still run on it. Never trained.
   */
  partial?: NetworkConfig;
}
