// Bundles the extension host, the training worker, the webviews and the CLI with esbuild, and compiles the
// AssemblyScript kernels to dist/gemm.wasm. Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { inlineProblems } from './inlineCheck.mjs';
import { NODE_BUNDLE } from './bundleOptions.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const out = path.join(root, 'dist');
fs.mkdirSync(out, { recursive: true });

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', absWorkingDir: root };
const nodeCommon = { ...common, ...NODE_BUNDLE };
// Shipped bundles: the licence texts of the packages bundled into each go to its .LEGAL.txt (writeLicenceTexts).
const shipped = { ...nodeCommon, metafile: true };
const builds = [
  { ...shipped, entryPoints: { extension: 'src/vscode/extension.ts' }, outdir: out, external: ['vscode'] },
  { ...shipped, entryPoints: { worker: 'src/worker/trainWorker.ts' }, outdir: out },
  // compare's trials on two worker threads (src/diagnosis/trials.ts looks for it next to the bundle).
  { ...shipped, entryPoints: { trialWorker: 'src/diagnosis/trialWorker.ts' }, outdir: out },
  // The editor's Compare Activations: data and trials off the extension host thread.
  { ...shipped, entryPoints: { compareWorker: 'src/worker/compareWorker.ts' }, outdir: out },
  // Diagnose TensorBoard Run: event files are read and diagnosed off the extension host thread.
  { ...shipped, entryPoints: { tensorboardWorker: 'src/worker/tensorboardWorker.ts' }, outdir: out },
  { ...shipped, entryPoints: { cli: 'src/cli/main.ts' }, outdir: out, banner: { js: '#!/usr/bin/env node' } },
  // Always minified (source maps kept in development): the host writes them into each webview's page
  // (src/vscode/webviewHtml.ts), where every kilobyte is sent, parsed and compiled as the panel opens.
  // The licences of the bundled libraries go to a .LEGAL.txt next to each bundle (shipped in the .vsix): esbuild's
  // copy of their headers, then their full licence texts (writeLicenceTexts, from the metafile).
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', minify: true, legalComments: 'linked', metafile: true,
    entryPoints: { 'webview/panel': 'webview/panel.ts', 'webview/sidebar': 'webview/sidebar.ts', 'webview/explorer': 'webview/explorer.ts' }, outdir: out },
  // The HTML report inlines this script: always minified, no source map, so every report stays small.
  // Its libraries' headers stay at its end (they go into each report); their full texts go to report.js.LEGAL.txt.
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', minify: true, sourcemap: false, metafile: true,
    entryPoints: { 'webview/report': 'webview/report.ts' }, outdir: out },
  // In-host test suite (mocha stays external: it is resolved from node_modules at run time).
  { ...nodeCommon, sourcemap: true, entryPoints: globEntries('test/host', '.test.ts', 'test/host').concat([{ in: 'test/host/index.ts', out: 'test/host/index' }]),
    outdir: path.join(root, 'out'), external: ['vscode', 'mocha'] },
].filter(b => entries(b).every(e => fs.existsSync(path.join(root, e))));

function entries(b) { return Array.isArray(b.entryPoints) ? b.entryPoints.map(e => e.in) : Object.values(b.entryPoints); }
function globEntries(dir, suffix, outPrefix) {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs).filter(f => f.endsWith(suffix)).map(f => ({ in: `${dir}/${f}`, out: `${outPrefix}/${f.replace(/\.ts$/, '')}` }));
}

function buildWasm() {
  const src = path.join(root, 'assembly/gemm.ts');
  if (!fs.existsSync(src)) return;
  const asc = path.join(root, 'node_modules/assemblyscript/bin/asc.js');
  // No runtime, no imports: the kernels only read and write the memory the core hands them.
  const common = [asc, src, '-O3', '--enable', 'simd', '--runtime', 'stub', '--noAssert', '--use', 'abort='];
  execFileSync(process.execPath, [...common, '-o', path.join(out, 'gemm.wasm')], { stdio: 'inherit', cwd: root });
  // The same kernels over an imported shared memory, for helper threads (src/core/parallel.ts).
  execFileSync(process.execPath, [...common, '--enable', 'threads', '--importMemory', '--sharedMemory', '--initialMemory', '1',
    '--maximumMemory', '65536', '-o', path.join(out, 'gemm-mt.wasm')], { stdio: 'inherit', cwd: root });
}

buildWasm();
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('watching for changes...');
} else {
  const results = await Promise.all(builds.map(b => esbuild.build(b)));
  if (fs.existsSync(path.join(out, 'cli.js'))) fs.chmodSync(path.join(out, 'cli.js'), 0o755);
  for (const r of results) if (r.metafile) writeLicenceTexts(r.metafile);
  await checkInlinedBundles();
}

/**
 * MIT, BSD and Apache licences ask for their text with every copy: each shipped bundle's .LEGAL.txt gets the licence
 * file of every package bundled into it, from node_modules. A bundled package without a licence file fails the build.
 */
function writeLicenceTexts(metafile) {
  for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
    if (!output.endsWith('.js')) continue;
    // Each bundled package's folder (node_modules may be a link elsewhere: esbuild names the real path).
    const packages = new Map(Object.entries(inputs).filter(([, i]) => i.bytesInOutput > 0)
      .map(([input]) => /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input)).filter(Boolean)
      .map(m => [m[2], path.resolve(root, m[1])]));
    if (!packages.size) continue;
    const texts = [...packages].sort(([a], [b]) => a.localeCompare(b)).map(([name, dir]) => {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      const file = fs.readdirSync(dir).find(f => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
      if (!file) {
        console.error(`error: ${output} bundles ${name}, which has no licence file in node_modules/${name}: its licence text must ship with the bundle.`);
        process.exit(1);
      }
      return `--- ${name} ${pkg.version} (${pkg.license}), node_modules/${name}/${file} ---\n\n${fs.readFileSync(path.join(dir, file), 'utf8').trim()}\n`;
    });
    const legal = path.join(root, `${output}.LEGAL.txt`);
    const title = `Licence texts of the libraries bundled in ${path.basename(output)}:`;
    // esbuild's headers, without the texts of an earlier build (it writes no file for a bundle without headers).
    const headers = fs.existsSync(legal) ? fs.readFileSync(legal, 'utf8').split(title)[0].trimEnd() : '';
    fs.writeFileSync(legal, `${headers ? `${headers}\n\n` : ''}${title}\n\n${texts.join('\n')}`);
  }
}

/** Fails the build when a webview bundle cannot be written into its page's <script> (scripts/inlineCheck.mjs). */
async function checkInlinedBundles() {
  // The extension's own scriptSafeJs, not a copy: src/report/escape.ts has no imports.
  const { outputFiles: [escape] } = await esbuild.build({ entryPoints: [path.join(root, 'src/report/escape.ts')], bundle: true, write: false, format: 'esm', logLevel: 'warning' });
  const { scriptSafeJs } = await import(`data:text/javascript;base64,${Buffer.from(escape.text).toString('base64')}`);
  const dir = path.join(out, 'webview');
  const problems = fs.readdirSync(dir).filter(f => f.endsWith('.js'))
    .flatMap(f => inlineProblems(`dist/webview/${f}`, fs.readFileSync(path.join(dir, f), 'utf8'), scriptSafeJs));
  if (problems.length) {
    console.error(problems.map(p => `error: ${p}`).join('\n'));
    process.exit(1);
  }
}
