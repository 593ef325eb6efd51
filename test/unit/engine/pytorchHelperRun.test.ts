/**
 * The PyTorch hook helper for real: examples/pytorch/train_deep_sigmoid.py trains with torch and logs through
 * the helper's own event writer (no tensorboard package), once in one process and once with
 * DistributedDataParallel on 2 gloo processes launched by hand (env://); `diagnose-run` on each log directory
 * finds the vanishing gradient the example is built to show.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { runCli } from '../cli/helpers';
import { requireTorch } from './torchHelpers';

const DIR = path.join(__dirname, '../../../examples/pytorch');

function run(python: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(python, args, { cwd: DIR, env: { ...process.env, OMP_NUM_THREADS: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-2000); });
    p.on('error', reject);
    p.on('close', code => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const freePort = () => new Promise<number>(resolve => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const port = (s.address() as net.AddressInfo).port; s.close(() => resolve(port)); });
});

async function diagnoseRun(dir: string) {
  const r = await runCli(['diagnose-run', dir, '--json']);
  assert.notEqual(r.code, 2, r.err);
  return JSON.parse(r.out) as { findings: { kind: string; severity: string; layer?: number }[] };
}

describe('examples/pytorch helper with torch', function () {
  this.timeout(600_000);
  let python: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'al-pytorch-'));
  before(function () { python = requireTorch(this).command; });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('one process: the event file it writes shows the vanishing gradient', async () => {
    const dir = path.join(tmp, 'plain');
    await run(python, ['train_deep_sigmoid.py', dir], {});
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0], /^events\.out\.tfevents\./);
    const report = await diagnoseRun(dir);
    const v = report.findings.find(f => f.kind === 'vanishing-gradient');
    assert.ok(v, JSON.stringify(report.findings.map(f => f.kind)));
    assert.equal(v.severity, 'error');
  });

  it('DistributedDataParallel on 2 processes: rank 0 alone writes, and the diagnosis is the same', async () => {
    const dir = path.join(tmp, 'ddp');
    const port = String(await freePort());
    const env = (rank: number) => ({ MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, WORLD_SIZE: '2', RANK: String(rank) });
    await Promise.all([run(python, ['train_deep_sigmoid.py', dir], env(0)), run(python, ['train_deep_sigmoid.py', dir], env(1))]);
    assert.equal(fs.readdirSync(dir).length, 1, 'one event file: only rank 0 logs');
    const report = await diagnoseRun(dir);
    assert.equal(report.findings.find(f => f.kind === 'vanishing-gradient')?.severity, 'error');
  });
});
