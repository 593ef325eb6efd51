/**
 * The training helpers as the .vsix ships them. parallel.ts sends some of its functions to the helper threads as
 * source text (Function.prototype.toString, HELPER_SOURCE): the production build's minifier renames module-level
 * names, so a shipped function that names a module-level constant would find nothing by that name in the helper
 * (which fails every chunk or never starts). Every other test runs the unminified sources, where such a function
 * still works. Here the training core is bundled as `npm run build -- --production` bundles it (esbuild, minified,
 * the Node bundles' options from scripts/bundleOptions.mjs) into a temp dir, with gemm.wasm and gemm-mt.wasm next
 * to the bundle as in the .vsix's dist/ (kernels.ts looks next to the bundle, __dirname), and an MLP trained on 2
 * threads must start its helpers, have them run chunks, and give the losses and weights of 1 thread bit for bit.
 * The bundle is plain CommonJS, which tsx's require hook leaves as it is (no __name wrappers), like the .vsix's.
 * A run hands the helpers only some ops' chunks, so the helpers' program is also checked as text for names it does
 * not declare, in every branch.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import type { Trainer as TrainerClass } from '../../../src/core/train';
import type { wasmCandidates as wasmCandidatesFn } from '../../../src/core/kernels';
import { HELPER_SOURCE } from '../../../src/core/parallel';
import { makeConfig, randomData, untilHelped } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');
const WASM = ['gemm.wasm', 'gemm-mt.wasm'].map(f => path.join(ROOT, 'dist', f));
type NodeBundle = { NODE_BUNDLE: esbuild.BuildOptions };
const bundleOptions = () => import(path.join(ROOT, 'scripts/bundleOptions.mjs')) as Promise<NodeBundle>;

/**
 * The names a program uses and does not declare (TypeScript's binder and checker, with no lib: so every global is
 * one of them, listed). The helper's program may use only the globals of a worker thread: any other name is one
 * of the core's, renamed by the minifier or wrapped by tsx (__name), and unknown in the helper.
 */
function undeclaredNames(source: string): string[] {
  const file = '/helper.js', host = ts.createCompilerHost({});
  host.getSourceFile = (n, v) => (n === file ? ts.createSourceFile(n, source, v) : undefined);
  host.fileExists = n => n === file;
  host.readFile = n => (n === file ? source : undefined);
  const program = ts.createProgram([file], { allowJs: true, checkJs: true, noEmit: true, noLib: true, types: [] }, host);
  // Cannot find name 'x' (2304), ... Did you mean (2552), ... change your target library (2583, 2584).
  const unknown = program.getSemanticDiagnostics().filter(d => [2304, 2552, 2583, 2584].includes(d.code) && d.start !== undefined);
  return [...new Set(unknown.map(d => source.slice(d.start, d.start! + d.length!)))].sort();
}
/** The globals the helper's program uses (require is the module's own). */
const WORKER_GLOBALS = new Set(['Atomics', 'Float32Array', 'Float64Array', 'Infinity', 'Int32Array', 'Math', 'WebAssembly', 'performance']);


describe('threads in the minified production bundle (the helpers\' source as the .vsix ships it)', function () {
  // Bounds a hang only: the wait for a helper below may take up to a minute on a loaded machine.
  this.timeout(600_000);
  let dir = '';
  let core: { Trainer: typeof TrainerClass; wasmCandidates: typeof wasmCandidatesFn; HELPER_SOURCE: string };

  before(async function () {
    if (!WASM.every(f => fs.existsSync(f))) {
      if (process.env.ACTIVATION_LENS_REQUIRE_WASM) assert.fail(`${WASM.join(' or ')} is missing: run \`npm run build\``);
      this.skip();
    }
    const { NODE_BUNDLE } = await bundleOptions();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'activation-lens-minified-'));
    const outfile = path.join(dir, 'core.js');
    // What the production build does to src/core (scripts/build.mjs: common with production, then NODE_BUNDLE).
    esbuild.buildSync({
      ...NODE_BUNDLE, bundle: true, minify: true, sourcemap: false, logLevel: 'silent', absWorkingDir: ROOT, outfile,
      stdin: { contents: "export { Trainer } from './src/core/train';\nexport { wasmCandidates } from './src/core/kernels';\nexport { HELPER_SOURCE } from './src/core/parallel';\n", resolveDir: ROOT, loader: 'ts', sourcefile: 'minified-core.ts' },
    });
    // The .vsix ships the kernels next to the bundles (dist/), where kernels.ts looks first.
    for (const f of WASM) fs.copyFileSync(f, path.join(dir, path.basename(f)));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    core = require(outfile);
  });

  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  const mlp = makeConfig([784], [
    { type: 'dense', units: 128, activation: 'sigmoid' }, { type: 'dense', units: 64, activation: 'relu' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ], { loss: 'cross_entropy', optimizer: 'momentum', lr: 0.05, batch: 64 });
  const data = randomData(mlp.model.input, 10, 96, 5, 10);

  function run(threads: number) {
    const t = new core.Trainer({ ...mlp, train: { ...mlp.train, steps: 4 } }, data, { threads, probeEvery: 2 });
    try {
      const kernels = t.net.heap.kernels;
      assert.equal(kernels.kind, 'wasm', 'the bundle found gemm.wasm');
      assert.equal(t.threads, threads, kernels.note ?? '');
      if (threads > 1) assert.ok(kernels.helpers?.waitReady(), 'the helper threads started from the minified source');
      const r = t.run();
      return { losses: r.lossCurve, weights: t.net.params.map(p => Array.from(p.w.v)), handed: kernels.helpers?.handed ?? 0 };
    } finally { t.dispose(); }
  }

  it('the bundle looks for the kernels next to itself, as dist/worker.js does in the .vsix', () => {
    assert.equal(core.wasmCandidates()[0], path.join(dir, 'gemm.wasm'));
  });

  // Deterministic and over every branch of chunkArgs: the MLP below runs only some ops' chunks on a helper (none of
  // the conv and pool ones), and a helper's share of a run depends on the machine's timing.
  it('the helpers\' program names only its own declarations and a worker\'s globals, minified and as the tests load it (tsx)', () => {
    assert.ok(core.HELPER_SOURCE.length < HELPER_SOURCE.length, 'the bundle\'s helper program is the minified one');
    for (const [label, source] of [['minified', core.HELPER_SOURCE], ['tsx', HELPER_SOURCE]]) {
      const foreign = undeclaredNames(source).filter(n => !WORKER_GLOBALS.has(n));
      assert.deepEqual(foreign, [], `${label}: the helper's program names ${foreign.join(', ')}, which it does not declare`);
    }
    // The check finds what it looks for (a renamed module constant, tsx's wrapper).
    assert.deepEqual(undeclaredNames('const a = Math.min(1, 2);\nfunction f() { return q0 + __name; }'), ['Math', '__name', 'q0']);
  });

  it('an MLP on 2 threads: the helpers start and run chunks, and the losses and weights are 1 thread\'s bit for bit', () => {
    const one = run(1);
    assert.equal(one.losses.length, 4);
    const helped = untilHelped(() => run(2), two => {
      assert.deepEqual(two.losses, one.losses, 'loss curve');
      assert.deepEqual(two.weights, one.weights, 'weights');
    });
    assert.ok(helped, 'the helpers ran no chunk in 200 runs and a minute');
  });
});
