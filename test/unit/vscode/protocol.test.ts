/** The webview -> host validator: panel messages may name their config, as a file: URI and nothing else. */
import * as assert from 'node:assert/strict';
import { isWebviewToHost } from '../../../src/protocol';

describe('webview messages naming their config', () => {
  it('accepts a file: URI on run, compare and apply, and messages without one', () => {
    const config = 'file:///work/spiral.nn.yaml';
    assert.ok(isWebviewToHost({ type: 'run', config }));
    assert.ok(isWebviewToHost({ type: 'run' }));
    assert.ok(isWebviewToHost({ type: 'compare', layer: 'all', config }));
    assert.ok(isWebviewToHost({ type: 'applyFinding', finding: 0, suggestion: 1, config }));
    assert.ok(isWebviewToHost({ type: 'applyRanked', layer: 2, rank: 0, config }));
  });

  it('rejects any other config value', () => {
    for (const config of [42, null, {}, ['file:///a'], 'command:workbench.action.quit', 'https://example.invalid/x.nn.yaml', `file:///${'a'.repeat(5000)}`]) {
      assert.equal(isWebviewToHost({ type: 'run', config }), false, String(config).slice(0, 40));
      assert.equal(isWebviewToHost({ type: 'compare', layer: 0, config }), false);
    }
  });
});
