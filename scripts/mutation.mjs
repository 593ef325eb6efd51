// `npm run mutation [-- group...]`: StrykerJS over the groups of stryker.config.mjs, one group at a time
// (the machine is shared), then the mutation score per file. Stryker is started through its API rather
// than its CLI: the package entry of @stryker-mutator/core 10 refuses Node < 22 as it loads (a guard in
// stryker-cli.js), while the engine itself runs on Node 20, which this project targets.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { GROUPS, strykerOptions } from '../stryker.config.mjs';

createRequire(import.meta.url)('./mocha12-cjs.cjs');
const coreDir = path.dirname(createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json'));
const { Stryker } = await import(pathToFileURL(path.join(coreDir, 'dist/src/stryker.js')).href);

const asked = process.argv.slice(2);
for (const g of asked) if (!GROUPS[g]) { console.error(`unknown group "${g}"; groups: ${Object.keys(GROUPS).join(', ')}`); process.exit(2); }
const groups = asked.length ? asked : Object.keys(GROUPS);

const perFile = new Map();
for (const name of groups) {
  console.log(`\n== mutation group ${name}: ${GROUPS[name].mutate.join(', ')}`);
  const results = await new Stryker(strykerOptions(name)).runMutationTest();
  // A file split over two groups (activations, activationsStatic): each counts its own share of the mutants.
  const ignoreStatic = GROUPS[name].ignoreStatic || process.env.MUTATION_IGNORE_STATIC === '1';
  for (const r of results) {
    if ((GROUPS[name].staticOnly && !r.static) || (ignoreStatic && r.static)) continue;
    const f = perFile.get(r.fileName) ?? { killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0 };
    if (r.status === 'Killed') f.killed++;
    else if (r.status === 'Timeout') f.timeout++;
    else if (r.status === 'Survived') f.survived++;
    else if (r.status === 'NoCoverage') f.noCoverage++;
    else f.errors++; // CompileError, RuntimeError, Ignored, Pending: not part of the score
    perFile.set(r.fileName, f);
  }
}

// Score as Stryker defines it: detected (killed + timeout) / (detected + survived + no coverage).
const rows = [...perFile].map(([file, f]) => {
  const detected = f.killed + f.timeout, valid = detected + f.survived + f.noCoverage;
  return { file: file.replace(/^.*?(src\/)/, '$1'), score: valid ? (100 * detected / valid).toFixed(1) : 'n/a', ...f };
});
console.log('\nfile | score % | killed | timeout | survived | no coverage | not scored');
for (const r of rows) console.log(`${r.file} | ${r.score} | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.errors}`);
const tot = rows.reduce((a, r) => ({ d: a.d + r.killed + r.timeout, v: a.v + r.killed + r.timeout + r.survived + r.noCoverage }), { d: 0, v: 0 });
console.log(`all | ${tot.v ? (100 * tot.d / tot.v).toFixed(1) : 'n/a'} | detected ${tot.d} of ${tot.v}`);
const half = groups.filter(g => GROUPS[g].ignoreStatic || GROUPS[g].staticOnly).map(g => GROUPS[g].mutate.join(', '));
for (const f of new Set(half)) {
  const both = groups.filter(g => GROUPS[g].mutate.join(', ') === f);
  if (both.length < 2) console.log(`(${f}: only the ${GROUPS[both[0]].staticOnly ? 'static' : 'non-static'} mutants, group ${both[0]}; its other group completes the file)`);
}
