// Mutation testing (StrykerJS): `npm run mutation` runs every group below, one at a time;
// `npm run mutation -- losses` runs one. Results and how to read them: docs/testing.md "Mutation testing".
// Each group runs only the unit tests that exercise its files, so that the mutants executed while a module
// loads ("static" ones, e.g. the activation table's f' used to find max f') do not run the whole suite.
const core = f => `test/unit/core/${f}.test.ts`;
const diag = f => `test/unit/diagnosis/${f}.test.ts`;
export const GROUPS = {
  // activations.ts in two groups. Its "static" mutants (~300: the table's literals, and the f' code that runs
  // as the module loads to find max f' and the saturation thresholds) each restart the test process and run
  // every test of their group: `activations` leaves them out and measures the rest with every test that
  // reaches the file; `activationsStatic` measures only them (scripts/mutation.mjs counts nothing else from
  // it) with the tests that load fast and check the table against mathematics and the literature.
  activations: {
    mutate: ['src/core/activations.ts'],
    spec: [core('activation-table'), core('activation-properties'), core('gradients'), core('activation-params'), core('saturation'), core('tfjs-oracle')],
    ignoreStatic: true,
    // The conv net oracle is relu only (~14 s a run), covered by layers.
    grep: '^(?!.*small conv net)',
  },
  activationsStatic: {
    mutate: ['src/core/activations.ts'],
    spec: [core('activation-table'), core('activation-properties'), core('gradients')],
    staticOnly: true,
    // gradients.test.ts: only its f' against central differences (the layer gradients need no table literal).
    grep: '^(activation|vectorized)',
  },
  layers: {
    mutate: ['src/core/layers.ts'],
    spec: [core('layers-edges'), core('conv-kernels'), core('train-plan'), core('gradients'), core('tfjs-oracle'), core('batchnorm-dropout'), core('activation-params'), core('training')],
  },
  losses: { mutate: ['src/core/losses.ts'], spec: [core('losses'), core('gradients'), core('tfjs-oracle'), core('training')] },
  // One file per group here: train.ts and probes.ts are covered by the slow end-to-end training tests.
  optimizers: { mutate: ['src/core/optimizers.ts'], spec: [core('optimizer-rules'), core('tfjs-oracle'), core('batchnorm-dropout')] },
  // optimizer-rules and train-plan check the update ratio a probe reports against the optimizer's own step.
  probes: { mutate: ['src/core/probes.ts'], spec: [core('probes'), core('saturation'), core('batchnorm-dropout'), core('optimizer-rules'), core('train-plan')] },
  train: {
    mutate: ['src/core/train.ts'],
    spec: [core('train-plan'), core('optimizer-rules'), core('saturation'), core('training'), core('tfjs-oracle'), core('threads')],
    // threads.test.ts for the thread rule, the helpers a run ends and onNote, without its CLI tests (they run
    // dist/cli.js, never the mutated source) and its 1/2/3-thread comparisons (many seconds for each mutant).
    grep: '^(?!threads: the CLI)(?!threads: one run split over helper threads (conv net|MLP|same config))',
  },
  // src/diagnosis one file per group, each with only the fast tests that reach it (a few minutes a file, where
  // one group of all four ran trials.test.ts, which trains networks, for every mutant it covered).
  runRules: { mutate: ['src/diagnosis/runRules.ts'], spec: [diag('runRules'), diag('runRules-evidence'), diag('runRules-edges'), diag('static')] },
  staticRules: { mutate: ['src/diagnosis/staticRules.ts'], spec: [diag('staticRules'), diag('staticRules-edges'), diag('static')] },
  suggestions: {
    mutate: ['src/diagnosis/suggestions.ts'],
    spec: [diag('suggestions-rules'), diag('static'), 'test/unit/edits/suggestionEdits.test.ts'],
  },
  trials: { mutate: ['src/diagnosis/trials.ts'], spec: [diag('trials-rules'), diag('trials'), diag('verifyFromModel')] },
  histStats: {
    mutate: ['src/tensorboard/histStats.ts'],
    spec: ['test/unit/tensorboard/histStats.test.ts', 'test/unit/tensorboard/stats.test.ts', 'test/unit/tensorboard/liveVsLogs.test.ts', 'test/unit/tensorboard/diagnoseRun.test.ts'],
  },
};

/** @returns {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export function strykerOptions(name) {
  const group = GROUPS[name];
  if (!group) throw new Error(`unknown mutation group ${name}; one of ${Object.keys(GROUPS).join(', ')}`);
  return {
  testRunner: 'mocha',
  // timeouts.test.ts is mocha's root hook that lifts every test's 2 s timeout (a wall-clock assertion that a
  // loaded machine fails): without it a slow test would count as a killed mutant. Stryker's own timeout remains.
  mochaOptions: { spec: ['test/unit/timeouts.test.ts', ...group.spec], require: ['tsx/cjs'], 'no-config': true, 'no-package': true, ...(group.grep ? { grep: group.grep } : {}) },
  mutate: group.mutate,
  coverageAnalysis: 'perTest',
  // MUTATION_IGNORE_STATIC=1: skip the mutants that run while a module loads in every group (each reruns the
  // group's every test): a quick measure of the rest. activations.ts's are measured by `activationsStatic`.
  ignoreStatic: group.ignoreStatic === true || process.env.MUTATION_IGNORE_STATIC === '1',
  // The machine is shared: at most two test processes.
  concurrency: 2,
  // Per group, git-ignored: a local cache of results (see docs/testing.md for why it is not committed).
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  timeoutMS: 20000,
  // A run suspended for minutes (a benchmark that stops every other process, a machine asleep): the default 5 min
  // would then fail the whole run at its initial test run.
  dryRunTimeoutMinutes: 30,
  timeoutFactor: 2,
  tempDirName: '.stryker-tmp',
  // The sandbox needs src, test, dist (gemm.wasm: the tests require the wasm kernels) and the files tests read.
  ignorePatterns: ['/.vscode-test', '/reports', '/bench', '/docs', '/media', '/webview', '/out', '*.vsix', '/demo-report.html'],
  disableTypeChecks: 'src/**/*.ts',
  cleanTempDir: true,
  plugins: ['@stryker-mutator/mocha-runner'],
  testRunnerNodeArgs: ['--require', './scripts/mocha12-cjs.cjs'],
  };
}

// For `npx stryker run` (Node >= 22): MUTATION_GROUP picks the group.
export default strykerOptions(process.env.MUTATION_GROUP ?? 'histStats');
