// The webview bundles are written into their pages' <script> elements after scriptSafeJs (src/vscode/webviewPage.ts).
// Why a bundle cannot be written there safely, or [] when it can: used by scripts/build.mjs, tested in
// test/unit/vscode/webviewPage.test.ts.
import * as esbuild from 'esbuild';
import vm from 'node:vm';

/** `name`: how the messages name the bundle; `js`: the bundle as esbuild wrote it; `escape`: scriptSafeJs. */
export function inlineProblems(name, js, escape) {
  const safe = escape(js);
  const left = /<\/script|<!--/i.exec(safe);
  const at = i => { const before = safe.slice(0, i).split('\n'); return `${name}:${before.length}:${before.at(-1).length + 1}`; };
  if (left) return [`${at(left.index)}: "${left[0]}" is still in the script after scriptSafeJs: written into the webview's page it would end or confuse its <script> element. Fix scriptSafeJs (src/report/escape.ts).`];
  if (safe === js) return [];
  try {
    new vm.Script(safe, { filename: name });
  } catch (e) {
    // V8 puts the place of a syntax error first in its stack: "name:line".
    const place = /^(.*:\d+)\n/.exec(String(e.stack))?.[1] ?? name;
    return [`${place}: the bundle no longer parses once scriptSafeJs has escaped its "</script" or "<!--" (${e.message}): write that text another way in the source (e.g. '<' + '/script').`];
  }
  // Raw template text (String.raw, tagged templates) keeps an escape as written: with templates lowered, esbuild
  // writes raw text as plain strings, where the escape shows as a backslash before x3C.
  const lowered = esbuild.transformSync(safe, { loader: 'js', supported: { 'template-literal': false } }).code;
  if (/\\\\x3C(\/script|!--)/i.test(lowered)) {
    return [`${name}: scriptSafeJs escaped "</script" or "<!--" inside raw template text (String.raw or a tagged template), which changes its value: write that text another way in the source (e.g. '<' + '!--').`];
  }
  return [];
}
