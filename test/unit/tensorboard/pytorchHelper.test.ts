/** The PyTorch helper writes tags that the default mapping reads as the quantities the rules need. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LAYERS_TAG } from '../../../src/tensorboard/run';
import { DEFAULT_TAG_RULES, matchTag } from '../../../src/tensorboard/tags';
import { ACTIVATION_NAMES } from '../../../src/core/activations';

const HELPER = fs.readFileSync(path.join(__dirname, '../../../examples/pytorch/activation_lens_hooks.py'), 'utf8');
const constant = (name: string) => new RegExp(`^${name} = "([^"]+)"$`, 'm').exec(HELPER)?.[1];

describe('examples/pytorch helper', () => {
  for (const [name, quantity] of [['TAG_PREACT', 'preact'], ['TAG_ACTIVATION', 'activation'], ['TAG_GRAD_PREACT', 'grad']] as const) {
    it(`${name} maps to ${quantity}, for dense and nested module names`, () => {
      const template = constant(name)!;
      for (const layer of ['fc1', 'encoder.layers.0.linear', 'net.3']) {
        assert.deepEqual(matchTag(template.replace('{layer}', layer), DEFAULT_TAG_RULES), { quantity, layer });
      }
    });
  }

  it('writes the layer metadata under the tag the reader looks for', () => {
    assert.equal(constant('TAG_LAYERS'), LAYERS_TAG);
  });

  it('names only activations the table knows', () => {
    const names = [...HELPER.matchAll(/^ {4}"([a-z_0-9]+)": lambda/gm)].map(m => m[1]);
    assert.ok(names.length >= 15);
    for (const n of names) assert.ok((ACTIVATION_NAMES as string[]).includes(n), n);
  });
});
