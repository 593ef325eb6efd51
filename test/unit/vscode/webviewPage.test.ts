import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { inlineScript, inlineStyle, webviewPage } from '../../../src/vscode/webviewPage';
import { scriptSafeJs } from '../../../src/report/escape';

const ROOT = path.resolve(__dirname, '../../..');
const BUNDLE = path.join(ROOT, 'dist/webview/panel.js');
// scripts/inlineCheck.mjs is the build's check (ESM); mocha loads these tests as CommonJS.
const inlineCheck = () => import(path.join(ROOT, 'scripts/inlineCheck.mjs')) as Promise<{ inlineProblems(name: string, js: string, escape: (s: string) => string): string[] }>;

/** V8's value of `expr` in a script (the oracle: what the source meant before any escaping). */
const evaluate = (source: string) => vm.runInNewContext(source);

describe('webview page: the bundle and stylesheets written into the page', () => {
  it('inlines the panel bundle and both stylesheets, nonce\'d, under a CSP with no unsafe-inline or unsafe-eval', () => {
    assert.ok(fs.existsSync(BUNDLE), 'dist/webview/panel.js is missing: run npm run build first');
    const js = inlineScript(BUNDLE)!;
    const css = ['webview.css', 'layout.css'].map(n => inlineStyle(path.join(ROOT, 'media', n))!);
    const nonce = 'bm9uY2Vub25jZQ==';
    const page = webviewPage({ nonce, cspSource: 'https://self.example', title: 'Activation Lens', bodyClass: 'al-panel', styles: css.map(c => ({ css: c })),
      script: { js: js.js }, initial: { view: { configName: '</script><script>alert(1)</script>' } } });
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(page)![1];
    const directive = (name: string) => csp.split(';').map(d => d.trim().split(/\s+/)).find(d => d[0] === name)?.slice(1);
    assert.deepEqual(directive('script-src'), [`'nonce-${nonce}'`]);
    assert.deepEqual(directive('style-src'), ['https://self.example', `'nonce-${nonce}'`]);
    assert.deepEqual(directive('default-src'), ["'none'"]);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    // Every script and style element carries the nonce; nothing is linked.
    const tags = page.match(/<(script|style|link)\b[^>]*>/g)!;
    assert.equal(tags.filter(t => t.startsWith('<script')).length, 2);   // the initial state (JSON) and the bundle
    assert.equal(tags.filter(t => t.startsWith('<style')).length, 2);
    assert.ok(tags.every(t => t.includes(`nonce="${nonce}"`) || t === '<script type="application/json" id="initial-state">'), tags.join('\n'));
    assert.ok(!page.includes('<link') && !/\ssrc=/.test(page));
    // The whole bundle is in the page, and its <script> ends where the bundle does: nothing in it ends the element.
    const bundle = fs.readFileSync(BUNDLE, 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, '');
    const body = page.slice(page.indexOf(`<script nonce="${nonce}">`) + `<script nonce="${nonce}">`.length);
    assert.equal(body.search(/<\/script/i), body.indexOf('</script>\n</body>'));
    assert.ok(js.js.length >= bundle.length && js.js.length > 100_000, `${js.js.length} of ${bundle.length} characters`);
    assert.doesNotMatch(js.js, /<\/script|<!--/i);
    assert.doesNotThrow(() => new vm.Script(js.js), 'the escaped bundle still parses');
    // The initial state cannot end its element either.
    assert.equal(page.split('</script>').length - 1, 2);
    for (const c of css) assert.ok(page.includes(`<style nonce="${nonce}">${c}</style>`));
  });

  it('a config\'s name in the title or the initial state stays text: it cannot close <title> or the JSON <script>', () => {
    const name = '</title><script>alert(1)</script>\u2028<!--';
    const page = webviewPage({ nonce: 'n', cspSource: 'https://self.example', title: name, bodyClass: 'a"b', styles: [], script: { js: '' },
      initial: { configName: name } });
    assert.match(page, /<title>&lt;\/title&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;\u2028&lt;!--<\/title>/);
    assert.match(page, /<body class="a&quot;b">/);
    const json = /<script type="application\/json" id="initial-state">([^<]*)<\/script>/.exec(page);
    assert.ok(json, 'the initial state\'s element ends where its JSON does');
    assert.deepEqual(JSON.parse(json[1]), { configName: name });
    assert.equal(page.match(/<script\b/g)!.length, 2);
  });

  it('takes the source map comment off the bundle and names the map (the adapter links it by its webview address)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-inline-'));
    const file = path.join(dir, 'panel.js');
    fs.writeFileSync(file, 'console.log(1);\n//# sourceMappingURL=panel.js.map\n');
    assert.deepEqual(inlineScript(file), { js: 'console.log(1);\n', sourceMap: 'panel.js.map' });
    fs.rmSync(dir, { recursive: true });
  });

  it('reads and escapes each file once per version: again after a rebuild (mtime), never after it is gone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-inline-'));
    const file = path.join(dir, 'panel.js');
    fs.writeFileSync(file, 'var a = "</script>";\n');
    const first = inlineScript(file)!;
    assert.equal(inlineScript(file), first, 'the same object: not read and escaped again');
    // A rebuild of the same size a second later (mtime changed).
    fs.writeFileSync(file, 'var b = "</script>";\n');
    const later = new Date(Date.now() + 1000);
    fs.utimesSync(file, later, later);
    assert.equal(inlineScript(file)!.js, 'var b = "\\x3C/script>";\n');
    fs.rmSync(file);
    assert.equal(inlineScript(file), undefined);
    fs.writeFileSync(path.join(dir, 'a.css'), 'p { color: red } /* </style> */');
    assert.equal(inlineStyle(path.join(dir, 'a.css')), 'p { color: red } /* <\\/style> */');
    fs.rmSync(dir, { recursive: true });
  });
});

describe('scriptSafeJs: a script written into <script> means what it meant', () => {
  // Each expression's value, evaluated by V8 from the source as written and once escaped.
  const cases: [string, string][] = [
    ['a string', '"a</script>b" + \'<!--c\''],
    ['upper case', '"</SCRIPT >"'],
    ['a template literal', '`x</script>${1 + 1}<!--`'],
    ['an already escaped <', '"\\</script>" + "\\\\</script>" + "\\\\\\<!--"'],
    ['a regex', '[/<!--/.test("<!--"), /<\\/script/i.test("</SCRIPT"), /[</]script/.test("/script")].join()'],
    ['a regex with the u flag', '[/<!--/u.test("<!--"), /<\\/script/u.test("</script")].join()'],
    ['a regex with the v flag', '[/<!--/v.test("<!--"), /a<\\/script/v.test("a</script")].join()'],
    ['a comment', '1 /* </script> <!-- */ + 1'],
  ];
  for (const [what, source] of cases) {
    it(`in ${what}`, () => {
      const safe = scriptSafeJs(source);
      assert.doesNotMatch(safe, /<\/script|<!--/i);
      assert.deepEqual(evaluate(safe), evaluate(source), safe);
    });
  }

  it('String.raw with </script> keeps its value: esbuild writes its raw text as a plain string', async () => {
    const source = 'globalThis.out = String.raw`a</script>b` + String.raw`\\d</script>`;';
    const built = (await esbuild.transform(source, { minify: true, target: 'es2022' })).code;
    const run = (js: string) => { const g = { out: '' }; vm.runInNewContext(js, { globalThis: g }); return g.out; };
    assert.equal(run(scriptSafeJs(built)), run(source));
    assert.deepEqual((await inlineCheck()).inlineProblems('raw.js', built, scriptSafeJs), []);
  });

  it('the build refuses what escaping cannot keep: <!-- in raw template text, an escape that breaks a /u regex, one left behind', async () => {
    const { inlineProblems } = await inlineCheck();
    const raw = (await esbuild.transform('globalThis.out = String.raw`<!--`;', { minify: true, target: 'es2022' })).code;
    assert.match(inlineProblems('raw.js', raw, scriptSafeJs).join(), /raw template text/);
    const oldEscape = (js: string) => js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
    assert.match(inlineProblems('u.js', 'var r = /<!--/u;', oldEscape).join(), /^u.js:1: the bundle no longer parses.*Invalid regular expression/);
    assert.match(inlineProblems('none.js', 'var a = 1;\nvar s = "</script>";', s => s).join(), /^none\.js:2:10: "<\/script" is still in the script/);
    assert.deepEqual(inlineProblems('ok.js', 'var r = /<!--/u;', scriptSafeJs), []);
  });
});
