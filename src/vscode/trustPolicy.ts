/**
 * What Restricted Mode allows (docs/security.md): static checks and hovers everywhere; anything that trains on,
 * or reads the data of, a config someone else wrote only in a trusted workspace. Pure, so tests can check the
 * decisions without an editor; trust.ts shows them.
 */

export type TrustedAction = 'run' | 'compare' | 'tensorboard';

const WHAT: Record<TrustedAction, string> = {
  run: 'Run Diagnostics trains on the data the config names',
  compare: 'Compare Activations trains on the data the config names',
  tensorboard: 'Diagnose TensorBoard Run reads and watches log files',
};

/** The message for an action refused in an untrusted workspace, or undefined when it may go ahead. */
export function trustRefusal(action: TrustedAction, trusted: boolean): string | undefined {
  if (trusted) return undefined;
  return `${WHAT[action]}, so it runs only in a trusted workspace. Static checks and hovers work in Restricted Mode.`;
}

/** Why the linter does not open a file the config names (undefined: it may). CSVs are data: trusted workspaces only. */
export function csvReadRefusal(kind: string | undefined, trusted: boolean): string | undefined {
  if (trusted || kind !== 'csv') return undefined;
  return 'not read in Restricted Mode (trust the workspace to check the CSV)';
}
