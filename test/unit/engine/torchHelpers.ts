/** Shared by the torch-engine tests: the interpreter with torch, or one line saying why the tests skip. */
import { findTorchPython, pythonCandidates, type TorchPython } from '../../../src/engine/torch/python';

let found: TorchPython | string | undefined;

/** The interpreter, or undefined after printing (once) what is missing. */
export function torchPython(): TorchPython | undefined {
  if (found === undefined) {
    const r = findTorchPython(pythonCandidates());
    found = 'attempts' in r
      ? `torch engine tests skipped: no Python interpreter imports torch (tried ${r.attempts.map(a => `${a.candidate.command}: ${a.problem}`).join('; ')})`
      : r;
    if (typeof found === 'string') console.log(`    ${found}`);
  }
  return typeof found === 'string' ? undefined : found;
}

/** Skips the suite's tests when torch is missing. */
export function requireTorch(ctx: Mocha.Context): TorchPython {
  const p = torchPython();
  if (!p) ctx.skip();
  return p!;
}
