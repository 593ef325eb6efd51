/**
 * Finding a Python interpreter that imports torch: the configured one, ACTIVATION_LENS_PYTHON, the Python
 * extension's selected interpreter (the editor passes it in), then python3 / python on PATH and the system
 * python3. The first that imports torch wins; when none does, one message names each interpreter tried and
 * what it said, and how to install PyTorch.
 */
import { execFile, spawnSync } from 'node:child_process';

export interface PythonCandidate { command: string; source: string }
export interface TorchPython { command: string; source: string; torchVersion: string; cuda: boolean }
export interface Attempt { candidate: PythonCandidate; problem: string }

export const INSTALL_HINT = 'install PyTorch for one of them (Debian/Ubuntu: sudo apt install python3-torch; elsewhere: pip install torch), '
  + 'or point the setting activationLens.pythonPath or the environment variable ACTIVATION_LENS_PYTHON at an interpreter that has it';

/** The candidates in order, duplicates removed (first source kept). */
export function pythonCandidates(opts: { setting?: string; extension?: string; env?: NodeJS.ProcessEnv } = {}): PythonCandidate[] {
  const env = opts.env ?? process.env;
  const list: PythonCandidate[] = [];
  const add = (command: string | undefined, source: string) => {
    const c = command?.trim();
    if (c && !list.some(x => x.command === c)) list.push({ command: c, source });
  };
  add(opts.setting, 'setting activationLens.pythonPath');
  add(env.ACTIVATION_LENS_PYTHON, 'ACTIVATION_LENS_PYTHON');
  add(opts.extension, 'the Python extension\'s interpreter');
  add('python3', 'PATH');
  add('python', 'PATH');
  // Debian's python3-torch lives in the system interpreter, which a pyenv/conda python3 on PATH may shadow.
  if (process.platform !== 'win32') add('/usr/bin/python3', 'system');
  return list;
}

const PROBE = 'import sys, torch; sys.stdout.write(torch.__version__ + " " + str(int(torch.cuda.is_available())))';
const cache = new Map<string, TorchPython | Attempt>();

/** Whether `candidate` imports torch (cached per command for the life of the process). */
export function checkPython(candidate: PythonCandidate, timeoutMs = 60_000): TorchPython | Attempt {
  const hit = cache.get(candidate.command);
  if (hit) return 'torchVersion' in hit ? { ...hit, source: candidate.source } : { candidate, problem: hit.problem };
  const r = spawnSync(candidate.command, ['-c', PROBE], { encoding: 'utf8', timeout: timeoutMs, windowsHide: true });
  let out: TorchPython | Attempt;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    out = { candidate, problem: code === 'ENOENT' ? 'not found' : code === 'ETIMEDOUT' ? `no answer in ${timeoutMs / 1000} s` : r.error.message };
  } else if (r.status !== 0) {
    const lines = (r.stderr || '').trim().split('\n');
    const last = lines[lines.length - 1] || `exit code ${r.status}`;
    out = { candidate, problem: /No module named/.test(last) ? 'has no torch' : last.slice(0, 200) };
  } else {
    const [version, cuda] = r.stdout.trim().split(' ');
    out = { command: candidate.command, source: candidate.source, torchVersion: version, cuda: cuda === '1' };
  }
  cache.set(candidate.command, out);
  return out;
}

export class TorchUnavailable extends Error {
  constructor(readonly attempts: Attempt[]) {
    super(`the torch engine needs a Python interpreter with PyTorch; tried ${attempts.map(a => `${a.candidate.command} (${a.candidate.source}): ${a.problem}`).join('; ')}. ${INSTALL_HINT[0].toUpperCase()}${INSTALL_HINT.slice(1)}.`);
  }
}

/** The first candidate that imports torch, or the attempts that failed. */
export function findTorchPython(candidates: PythonCandidate[]): TorchPython | { attempts: Attempt[] } {
  const attempts: Attempt[] = [];
  for (const c of candidates) {
    const r = checkPython(c);
    if ('torchVersion' in r) return r;
    attempts.push(r);
  }
  return { attempts };
}

/** Like findTorchPython, throwing TorchUnavailable (one message naming every interpreter tried). */
export function requireTorchPython(candidates: PythonCandidate[]): TorchPython {
  const r = findTorchPython(candidates);
  if ('attempts' in r) throw new TorchUnavailable(r.attempts);
  return r;
}

/** checkPython without blocking the caller's event loop (the extension host). */
export function checkPythonAsync(candidate: PythonCandidate, timeoutMs = 60_000): Promise<TorchPython | Attempt> {
  const hit = cache.get(candidate.command);
  if (hit) return Promise.resolve('torchVersion' in hit ? { ...hit, source: candidate.source } : { candidate, problem: hit.problem });
  return new Promise(resolve => {
    execFile(candidate.command, ['-c', PROBE], { encoding: 'utf8', timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
      let out: TorchPython | Attempt;
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') out = { candidate, problem: 'not found' };
      else if (err && err.killed) out = { candidate, problem: `no answer in ${timeoutMs / 1000} s` };
      else if (err) {
        const lines = (stderr || '').trim().split('\n');
        const last = lines[lines.length - 1] || err.message;
        out = { candidate, problem: /No module named/.test(last) ? 'has no torch' : last.slice(0, 200) };
      } else {
        const [version, cuda] = stdout.trim().split(' ');
        out = { command: candidate.command, source: candidate.source, torchVersion: version, cuda: cuda === '1' };
      }
      cache.set(candidate.command, out);
      resolve(out);
    });
  });
}

export async function findTorchPythonAsync(candidates: PythonCandidate[]): Promise<TorchPython | { attempts: Attempt[] }> {
  const attempts: Attempt[] = [];
  for (const c of candidates) {
    const r = await checkPythonAsync(c);
    if ('torchVersion' in r) return r;
    attempts.push(r);
  }
  return { attempts };
}
