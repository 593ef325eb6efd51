/**
 * Restricted Mode decisions (src/vscode/trustPolicy.ts), checked without an editor: code-server runs the in-host
 * suite in a trusted workspace. package.json must gate the same commands (enablement) and restrict the settings
 * a cloned repository could use to lift the limits.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { csvReadRefusal, trustRefusal } from '../../../src/vscode/trustPolicy';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8'));

describe('Restricted Mode policy', () => {
  it('refuses Run, Compare and TensorBoard watching in an untrusted workspace, with the reason', () => {
    for (const a of ['run', 'compare', 'tensorboard'] as const) {
      assert.equal(trustRefusal(a, true), undefined);
      assert.match(trustRefusal(a, false) ?? '', /only in a trusted workspace/);
    }
  });

  it('lets the linter read a Keras model but not a CSV in an untrusted workspace', () => {
    assert.match(csvReadRefusal('csv', false) ?? '', /Restricted Mode/);
    assert.equal(csvReadRefusal('keras', false), undefined);
    assert.equal(csvReadRefusal('csv', true), undefined);
  });

  it('package.json: the trusted-only commands carry isWorkspaceTrusted, the limits are restricted settings', () => {
    const enablement = Object.fromEntries(pkg.contributes.commands.map((c: { command: string; enablement?: string }) => [c.command, c.enablement]));
    for (const c of ['activationLens.run', 'activationLens.compare', 'activationLens.diagnoseTensorBoard']) assert.equal(enablement[c], 'isWorkspaceTrusted', c);
    // Static work stays available: stop, panel, export, new config, import.
    for (const c of ['activationLens.stop', 'activationLens.showPanel', 'activationLens.newConfig']) assert.equal(enablement[c], undefined, c);
    const u = pkg.capabilities.untrustedWorkspaces;
    assert.equal(u.supported, 'limited');
    assert.deepEqual([...u.restrictedConfigurations].sort(), ['activationLens.maxSteps', 'activationLens.memoryLimitMB', 'activationLens.probeEvery']);
  });
});
