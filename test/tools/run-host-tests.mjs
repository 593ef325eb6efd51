// Runs the mocha suite in out/test/host INSIDE the real VS Code extension host (code-server), loading the extension
// from this folder as a development extension. Prints the suite's output and a line `host: N passed, N failed`.
import util from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { startCodeServer, launchBrowser, ROOT } from './harness.mjs';

const t0 = Date.now();
const resultFile = path.join(ROOT, 'out/test/host-result.json');
// The web workbench logs a lot about features that need the network; keep the test output readable.
const noise = /ENOTFOUND|authentication provider|ChatModelSelection|AgentHost|AccountPolicyGate|connection token|Creating a socket|grace time|Service Worker|builtin extensions cache|No search provider|workbench contribution|\[Extension Host\]/;

/** One code-server + browser running the suite; `untrusted` opens the folder in Restricted Mode. */
async function runPass({ untrusted = false, files } = {}) {
  fs.rmSync(resultFile, { force: true });
  // The extension host inherits code-server's environment: index.ts reads HOST_TEST_FILES from it.
  if (files) process.env.HOST_TEST_FILES = files; else delete process.env.HOST_TEST_FILES;
  const server = await startCodeServer({ workspace: path.join(ROOT, 'test/workspace'), untrusted });
  const browser = await launchBrowser();
  let done; const exited = new Promise(r => { done = r; });
  await browser.page.exposeFunction('codeAutomationExit', code => done(code));
  await browser.page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = util.format(...args);
    if (process.env.VERBOSE || (type !== 'trace' && type !== 'debug' && !noise.test(text))) {
      console.log(text.split('\n').filter(l => !/^\s+at .*(workbench\.js|node:internal)/.test(l)).join('\n'));
    }
  });
  await browser.page.goto(server.url({ extensionDevelopmentPath: ROOT, extensionTestsPath: path.join(ROOT, 'out/test/host/index.js') }));
  const code = await Promise.race([exited, new Promise(r => setTimeout(() => r('timeout'), Number(process.env.TEST_TIMEOUT_MS || 1800000)))]);
  if (code !== 0) await browser.page.screenshot({ path: path.join(ROOT, `test-output/host-failure${untrusted ? '-restricted' : ''}.png`) }).catch(() => {});
  await browser.close();
  await server.stop({ keep: code !== 0 });
  let counts = { passes: 0, failures: code === 0 ? 0 : 1 };
  try { counts = JSON.parse(fs.readFileSync(resultFile, 'utf8')); } catch { /* the suite never reported: count one failure */ }
  if (code !== 0) console.log(`${untrusted ? 'Restricted Mode pass' : 'in-host pass'} FAILED (${code}), server files kept in ${server.tmp}`);
  return { code, ...counts };
}

// HOST_TEST_FILES=a,b limits both passes to those files; the Restricted Mode pass runs the files that start with "restricted".
const only = process.env.HOST_TEST_FILES;
const passes = [];
passes.push(await runPass({ files: only }));
if (!only || only.split(',').some(f => f.startsWith('restricted'))) passes.push(await runPass({ untrusted: true, files: 'restricted' }));
const ok = passes.every(p => p.code === 0);
const passed = passes.reduce((a, p) => a + p.passes, 0), failed = passes.reduce((a, p) => a + p.failures, 0);
console.log(`in-host suite ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)}s (${passes.length} pass${passes.length > 1 ? 'es: trusted, then Restricted Mode' : ''})`);
console.log(`host: ${passed} passed, ${failed} failed`);
process.exit(ok ? 0 : 1);
