/**
 * The webview -> host validator (src/protocol.ts isWebviewToHost): webviews are untrusted input, so every message type
 * is accepted only well-formed, and anything else (other types, inherited names, wrong fields) is refused.
 */
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { isWebviewToHost, type WebviewToHost } from '../../src/protocol';

const config = 'file:///work/spiral.nn.yaml';

/** One well-formed example of every message type; the Record makes a new type without an example fail to compile. */
const EXAMPLES: { [K in WebviewToHost['type']]: Extract<WebviewToHost, { type: K }> } = {
  ready: { type: 'ready' },
  run: { type: 'run', config },
  stop: { type: 'stop' },
  showPanel: { type: 'showPanel' },
  newConfig: { type: 'newConfig' },
  applyFinding: { type: 'applyFinding', finding: 0, suggestion: 1, config },
  applyRanked: { type: 'applyRanked', layer: 2, rank: 0, config },
  compare: { type: 'compare', layer: 3, config },
  applyTrial: { type: 'applyTrial', rank: 6, config, trials: '0b4f1c2e-7d3a-4e5b-9c8d-1a2b3c4d5e6f' },
  verifyFinding: { type: 'verifyFinding', finding: 4, suggestion: 0, config },
  verifyRanked: { type: 'verifyRanked', layer: 1, rank: 2, config },
  showTbRun: { type: 'showTbRun', run: 0 },
  setTbActivation: { type: 'setTbActivation', layer: 'dense_1', activation: 'relu' },
};

/** The index fields of each type that takes some. */
const INDEX_FIELDS: Partial<Record<WebviewToHost['type'], string[]>> = {
  applyFinding: ['finding', 'suggestion'], applyRanked: ['layer', 'rank'], compare: ['layer'], applyTrial: ['rank'],
  verifyFinding: ['finding', 'suggestion'], verifyRanked: ['layer', 'rank'], showTbRun: ['run'],
};
/** The types that may name their config (a trial row's Apply must: ALWAYS_CONFIG). */
const WITH_CONFIG = ['run', 'applyFinding', 'applyRanked', 'compare', 'verifyFinding', 'verifyRanked'] as const;
const ALWAYS_CONFIG = ['applyTrial'] as const;

describe('webview messages (isWebviewToHost)', () => {
  it('accepts one well-formed message of every type', () => {
    for (const m of Object.values(EXAMPLES)) assert.equal(isWebviewToHost(m), true, JSON.stringify(m));
    // Also as they arrive: parsed from JSON (postMessage clones), with no prototype of ours.
    for (const m of Object.values(EXAMPLES)) assert.equal(isWebviewToHost(JSON.parse(JSON.stringify(m))), true, JSON.stringify(m));
  });

  it('accepts the optional parts: no config, compare of all layers, index 0, an empty activation (clears it)', () => {
    for (const type of WITH_CONFIG) {
      const { config: _omitted, ...bare } = EXAMPLES[type] as { config?: string };
      assert.equal(isWebviewToHost(bare), true, type);
    }
    assert.equal(isWebviewToHost({ type: 'compare', layer: 'all' }), true);
    assert.equal(isWebviewToHost({ type: 'compare', layer: 0, config }), true);
    assert.equal(isWebviewToHost({ type: 'setTbActivation', layer: 'dense_1', activation: '' }), true);
  });

  it('refuses what is not a message object', () => {
    for (const m of [null, undefined, 'ready', 42, true, ['ready'], {}, { kind: 'ready' }, { type: null }, { type: 3 }, { type: '' }, { type: 'Ready' }])
      assert.equal(isWebviewToHost(m), false, JSON.stringify(m) ?? String(m));
  });

  it('refuses a type that is not a string even when it converts to one (["ready"] names the key "ready")', () => {
    assert.equal(isWebviewToHost({ type: ['ready'] }), false);
    assert.equal(isWebviewToHost({ type: { toString: () => 'stop' } }), false);
  });

  it('refuses the names every object inherits: toString, __proto__, constructor, hasOwnProperty, valueOf', () => {
    for (const type of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'])
      assert.equal(isWebviewToHost({ type }), false, type);
    // '__proto__' as an own key, as JSON.parse makes it.
    assert.equal(isWebviewToHost(JSON.parse('{"type":"__proto__"}')), false);
  });

  it('refuses indices that are missing, negative, fractional, NaN, infinite, huge or not numbers', () => {
    const bad: unknown[] = [undefined, -1, 0.5, 1.5, NaN, Infinity, -Infinity, 1e6, 2 ** 53, '3', '0', null, true, [1], {}];
    for (const [type, fields] of Object.entries(INDEX_FIELDS)) {
      for (const field of fields!) {
        for (const v of bad) {
          const m: Record<string, unknown> = { ...EXAMPLES[type as WebviewToHost['type']], [field]: v };
          if (v === undefined) delete m[field];
          assert.equal(isWebviewToHost(m), false, `${type}.${field} = ${String(v)}`);
        }
      }
    }
    assert.equal(isWebviewToHost({ type: 'compare', layer: '3' }), false);
    assert.equal(isWebviewToHost({ type: 'compare', layer: 'ALL' }), false);
    assert.equal(isWebviewToHost({ type: 'compare' }), false);
  });

  it('accepts a config only as a file: URI of sane length, on every type that takes one', () => {
    for (const type of [...WITH_CONFIG, ...ALWAYS_CONFIG]) {
      for (const bad of [42, null, {}, ['file:///a'], '', 'command:workbench.action.quit', 'https://example.invalid/x.nn.yaml',
        ' file:///a.nn.yaml', 'FILE:///a.nn.yaml', `file:///${'a'.repeat(5000)}`])
        assert.equal(isWebviewToHost({ ...EXAMPLES[type], config: bad }), false, `${type} config ${JSON.stringify(bad)?.slice(0, 40)}`);
      assert.equal(isWebviewToHost({ ...EXAMPLES[type], config: `file:///${'a'.repeat(4000)}` }), true, `${type}: a long but sane path`);
    }
  });

  it('refuses a trial row\'s Apply that does not name its trials: no config, no id, or an id that is not the host\'s kind', () => {
    const ok = EXAMPLES.applyTrial;
    const { config: _c, ...noConfig } = ok;
    const { trials: _t, ...noTrials } = ok;
    assert.equal(isWebviewToHost(noConfig), false, 'no config');
    assert.equal(isWebviewToHost(noTrials), false, 'no trials');
    for (const bad of [undefined, null, 42, '', 'x'.repeat(65), '0B4F1C2E', '../etc', 'a b', 'ab\n', ['ab'], { id: 'ab' }, 'file:///x'])
      assert.equal(isWebviewToHost({ ...ok, trials: bad }), false, `trials ${JSON.stringify(bad)}`);
    assert.equal(isWebviewToHost({ ...ok, trials: 'a'.repeat(64) }), true, 'the length limit itself');
    assert.equal(isWebviewToHost({ ...ok, trials: randomUUID() }), true, 'an id as the host makes them');
  });

  it('refuses a TensorBoard activation with an empty, overlong or non-string layer, or an overlong activation', () => {
    const ok = EXAMPLES.setTbActivation;
    for (const m of [{ ...ok, layer: '' }, { ...ok, layer: 'x'.repeat(501) }, { ...ok, layer: 7 }, { type: 'setTbActivation', activation: 'relu' },
      { ...ok, activation: 'x'.repeat(51) }, { ...ok, activation: null }, { type: 'setTbActivation', layer: 'dense_1' }])
      assert.equal(isWebviewToHost(m), false, JSON.stringify(m).slice(0, 60));
    assert.equal(isWebviewToHost({ ...ok, layer: 'x'.repeat(500), activation: 'x'.repeat(50) }), true, 'the limits themselves');
  });
});
