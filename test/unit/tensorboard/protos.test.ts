/** protos.ts must hold exactly the text of proto/*.proto (the bundles load the constants, not the files). */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROTO_TEXTS } from '../../../src/tensorboard/protos';

const SRC = path.join(__dirname, '../../../src/tensorboard');
const PROTO_DIR = path.join(SRC, 'proto');

describe('tensorboard .proto texts', () => {
  const files = fs.readdirSync(PROTO_DIR).filter(f => f.endsWith('.proto')).sort();

  if (process.env.UPDATE_PROTOS) {
    const body = fs.readFileSync(path.join(SRC, 'protos.ts'), 'utf8').split('export const PROTO_TEXTS')[0];
    const entries = files.map(f => `  '${f}': ${JSON.stringify(fs.readFileSync(path.join(PROTO_DIR, f), 'utf8'))},\n`).join('');
    fs.writeFileSync(path.join(SRC, 'protos.ts'), `${body}export const PROTO_TEXTS: Record<string, string> = {\n${entries}};\n`);
  }

  it('protos.ts equals proto/*.proto, file by file', () => {
    assert.deepEqual(Object.keys(PROTO_TEXTS).sort(), files);
    for (const f of files) assert.equal(PROTO_TEXTS[f], fs.readFileSync(path.join(PROTO_DIR, f), 'utf8'), `${f} differs: regenerate protos.ts`);
  });
});
