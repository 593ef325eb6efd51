// Preload for mutation testing: @stryker-mutator/mocha-runner 10 requires mocha's CLI helpers without an
// extension (lib/cli/run-helpers), and mocha 12 ships them as .cjs, which extensionless require() does not
// try. Resolving .cjs like .js lets the runner load them; nothing else changes.
const Module = require('node:module');
if (!Module._extensions['.cjs']) Module._extensions['.cjs'] = Module._extensions['.js'];
