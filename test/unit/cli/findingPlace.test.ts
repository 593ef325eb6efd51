/**
 * A finding is shown at the same place by the CLI (file:line:col, the JSON report's source) and by the editor's
 * Problems, which re-derives the place from the current text with findingSpanOf. The deep sigmoid example's
 * vanishing-gradient finding goes to dense_1's `init:` (its fixes always set an init), the line:col found here
 * from the text itself.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { findingSpanOf } from '../../../src/diagnosis/layers';
import { displayPos } from '../../../src/model';
import { cliJson, runCli } from './helpers';

const EXAMPLE = path.join(__dirname, '../../../examples/deep-sigmoid-spiral.nn.yaml');

describe('where a finding points: CLI and editor agree', function () {
  this.timeout(120000);
  let dir: string, file: string, text: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-place-'));
    file = path.join(dir, 'deep-sigmoid.nn.yaml');
    text = fs.readFileSync(EXAMPLE, 'utf8');
    fs.writeFileSync(file, text);
  });
  after(() => fs.rmSync(dir, { recursive: true }));

  /** 1-based line:col of the value of the first layer's `key:` in the text. */
  const firstLayerValue = (key: string) => {
    const lines = text.split('\n');
    const start = lines.findIndex(l => /^\s*layers:/.test(l));
    const i = lines.findIndex((l, k) => k > start && new RegExp(`^\\s*${key}:`).test(l));
    return `${i + 1}:${lines[i].indexOf(`${key}:`) + key.length + 3}`;
  };

  it('vanishing-gradient: at dense_1\'s init: in the CLI text, the JSON report and the editor\'s span', async () => {
    const init = firstLayerValue('init');
    assert.notEqual(init, firstLayerValue('activation'));
    const r = await runCli(['diagnose', file, '--steps', '100', '--fail-on', 'never']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^(error|warning) +${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${init} vanishing-gradient dense_1 `, 'm'), r.out);

    const { report } = await cliJson('diagnose', file, ['--steps', '100', '--fail-on', 'never']);
    const vanishing = report.findings.find(f => f.kind === 'vanishing-gradient');
    assert.ok(vanishing, report.findings.map(f => f.kind).join(', '));
    assert.equal(`${vanishing.source.line}:${vanishing.source.column}`, init);
    // The editor's Problems: the span from the current text for each finding of the run and of the static rules.
    const config = parseConfigText(text, file).config!;
    for (const f of report.findings.filter(x => x.layer >= 0)) {
      const at = displayPos(findingSpanOf(config.model.layers[f.layer], f.kind)!.start);
      assert.deepEqual({ line: at.line, column: at.column }, { line: f.source.line, column: f.source.column }, `${f.kind} ${f.layerName}`);
    }
  });
});
