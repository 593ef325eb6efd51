import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { plainYamlMistake } from '../../../src/config/yamlHints';
import { LineIndex } from '../../../src/config/tree';

const ROOT = path.join(__dirname, '../../..');
const SPIRAL = fs.readFileSync(path.join(ROOT, 'test/workspace/spiral.nn.yaml'), 'utf8');
/** The spiral config with line `no` (1-based) replaced. Line 17 is "      units: 32" of the second layer. */
const withLine = (no: number, text: string) => SPIRAL.split('\n').map((l, i) => i === no - 1 ? text : l).join('\n');

function onlyProblem(text: string): { line: number; column: number; message: string } {
  const { problems } = parseConfigText(text, 'x.nn.yaml');
  assert.equal(problems.length, 1, problems.map(p => p.message).join(' | '));
  const p = problems[0];
  return { line: p.span!.start.line + 1, column: p.span!.start.character + 1, message: p.message };
}

describe('YAML syntax errors in plain words, at the line of the mistake', () => {
  it('a line indented too deep: one error at that line, naming the key and the line above', () => {
    assert.equal(SPIRAL.split('\n')[16], '      units: 32');
    const p = onlyProblem(withLine(17, '         units: 32'));
    assert.equal(p.line, 17);
    assert.equal(p.column, 10);
    assert.match(p.message, /line 17 is indented 9 spaces, deeper than line 16/);
    assert.match(p.message, /"units"/);
  });

  it('a line indented between levels names the indentations that would fit', () => {
    const p = onlyProblem(withLine(17, '   units: 32'));
    assert.equal(p.line, 17);
    assert.match(p.message, /indented 3 spaces, which lines up with no key above it \(those are indented 0, 2, 4 or 6 spaces\)/);
  });

  it('a tab, a missing colon, an unclosed bracket and an unclosed quote', () => {
    const tab = onlyProblem(withLine(17, '\tunits: 32'));
    assert.deepEqual([tab.line, tab.column], [17, 1]);
    assert.match(tab.message, /tab/);
    const colon = onlyProblem(withLine(17, '      units 32'));
    assert.equal(colon.line, 17);
    assert.match(colon.message, /no colon after the key: write "units: 32"/);
    const bracket = onlyProblem(SPIRAL.replace('classes: 3', 'classes: [3'));
    assert.equal(bracket.line, 8);
    assert.equal(bracket.column, SPIRAL.split('\n')[7].indexOf('3') + 1);
    assert.match(bracket.message, /"\[" opened on line 8 is never closed/);
    const quote = onlyProblem(SPIRAL.replace('name: spiral relu', 'name: "spiral relu'));
    assert.equal(quote.line, 2);
    assert.match(quote.message, /quote opened on line 2 is not closed/);
  });

  it('never fires on valid YAML: every bundled example and fixture config, flow maps over several lines, block scalars', () => {
    const files = [
      ...fs.readdirSync(path.join(ROOT, 'examples')).filter(f => /\.nn\.ya?ml$/.test(f)).map(f => path.join(ROOT, 'examples', f)),
      ...fs.readdirSync(path.join(ROOT, 'test/workspace')).filter(f => /\.nn\.ya?ml$/.test(f)).map(f => path.join(ROOT, 'test/workspace', f)),
    ];
    assert.ok(files.length >= 8, files.join());
    const extra = [
      'model:\n  layers: [\n    {type: dense, units: 3},\n    {type: dense, units: 2}\n  ]\n',
      'name: |\n  a long\n     indented text\ndata: {source: spiral}\n',
      'model:\n  layers:\n  - type: dense\n    units: 3\n  - {type: dense, units: 2}\n',
      "name: Glorot & Bengio's net   # it's \"fine\"\nseed: 1\n",
    ];
    for (const text of [...files.map(f => fs.readFileSync(f, 'utf8')), ...extra]) {
      assert.equal(plainYamlMistake(text, new LineIndex(text))?.message, undefined, text.slice(0, 200));
    }
  });
});
