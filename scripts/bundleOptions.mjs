// The esbuild options of the Node bundles (extension host, workers, CLI), shared by scripts/build.mjs and the
// test that trains with the minified core (test/unit/core/threads-minified.test.ts): a change of target here
// (esbuild's helpers for older syntax) reaches the source the training helpers are sent, and that test.
// mainFields: jsonc-parser's UMD 'main' hides its requires from esbuild; its ESM 'module' build bundles cleanly.
export const NODE_BUNDLE = { platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'] };
