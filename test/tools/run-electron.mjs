// `npm run test:electron`: the same in-host suite through @vscode/test-electron, for machines that can download
// VS Code (this one cannot: only the npm registry is reachable; `npm test` uses code-server instead).
import path from 'node:path';
import { runTests } from '@vscode/test-electron';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
try {
  await runTests({
    version: process.env.VSCODE_VERSION || 'stable',
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out/test/host/index.js'),
    launchArgs: [path.join(root, 'test/workspace'), '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (err) {
  console.error(`in-host tests through @vscode/test-electron failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
