// Loaded by VS Code as extensionTestsPath: runs the in-host mocha suite inside the real extension host.
import * as path from 'node:path';
import * as fs from 'node:fs';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // The timeout bounds a hang; a test's duration on a shared 2-core machine is not what it checks.
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 300000, reporter: 'spec' });
  // HOST_TEST_FILES=hostile,editor runs only those files (the extension host inherits code-server's environment).
  const only = process.env.HOST_TEST_FILES?.split(',').filter(Boolean);
  for (const f of fs.readdirSync(__dirname).filter(f => f.endsWith('.test.js')).sort()) {
    if (!only || only.some(o => f.startsWith(o))) mocha.addFile(path.join(__dirname, f));
  }
  return new Promise((resolve, reject) => {
    const runner = mocha.run(failures => {
      fs.writeFileSync(path.join(__dirname, '..', 'host-result.json'), JSON.stringify({ passes: runner.stats?.passes ?? 0, failures }));
      if (failures) reject(new Error(`${failures} in-host tests failed.`)); else resolve();
    });
  });
}
