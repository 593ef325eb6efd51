// Runs the mocha suite in out/test/host INSIDE the real VS Code extension host (code-server), loading the extension
// from this folder as a development extension. Prints the suite's output and a line `host: N passed, N failed`.
import util from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { startCodeServer, launchBrowser, ROOT } from './harness.mjs';

const t0 = Date.now();
const resultFile = path.join(ROOT, 'out/test/host-result.json');
fs.rmSync(resultFile, { force: true });
const server = await startCodeServer({ workspace: path.join(ROOT, 'test/workspace') });
const browser = await launchBrowser();
let done; const exited = new Promise(r => { done = r; });
await browser.page.exposeFunction('codeAutomationExit', code => done(code));
// The web workbench logs a lot about features that need the network; keep the test output readable.
const noise = /ENOTFOUND|authentication provider|ChatModelSelection|AgentHost|AccountPolicyGate|connection token|Creating a socket|grace time|Service Worker|builtin extensions cache|No search provider|workbench contribution|\[Extension Host\]/;
await browser.page.exposeFunction('codeAutomationLog', (type, args) => {
  const text = util.format(...args);
  if (process.env.VERBOSE || (type !== 'trace' && type !== 'debug' && !noise.test(text))) {
    console.log(text.split('\n').filter(l => !/^\s+at .*(workbench\.js|node:internal)/.test(l)).join('\n'));
  }
});
await browser.page.goto(server.url({ extensionDevelopmentPath: ROOT, extensionTestsPath: path.join(ROOT, 'out/test/host/index.js') }));
const code = await Promise.race([exited, new Promise(r => setTimeout(() => r('timeout'), Number(process.env.TEST_TIMEOUT_MS || 600000)))]);
if (code !== 0) await browser.page.screenshot({ path: path.join(ROOT, 'test-output/host-failure.png') }).catch(() => {});
await browser.close();
await server.stop({ keep: code !== 0 });
let counts = { passes: 0, failures: code === 0 ? 0 : 1 };
try { counts = JSON.parse(fs.readFileSync(resultFile, 'utf8')); } catch { /* the suite never reported: count one failure */ }
console.log(`in-host suite ${code === 0 ? 'passed' : `FAILED (${code}), server files kept in ${server.tmp}`} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
console.log(`host: ${counts.passes} passed, ${counts.failures} failed`);
process.exit(code === 0 ? 0 : 1);
