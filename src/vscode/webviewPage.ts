/**
 * The HTML of a webview page, and the bundle and stylesheets written into it. No vscode import: the adapter
 * (webviewHtml.ts) supplies the webview's addresses; test/unit/vscode/webviewPage.test.ts checks the page itself.
 */
import * as fs from 'node:fs';
import { escapeHtml, scriptSafeJs, scriptSafeJson } from '../report/escape';

export interface PageParts {
  nonce: string;
  /** The webview's own source for the CSP (images, fonts and linked styles). */
  cspSource: string;
  title: string;
  bodyClass: string;
  /** Written into the page, or linked when the file could not be read. */
  styles: ({ css: string } | { href: string })[];
  script: { js: string } | { src: string };
  /** Drawn at once, before any message from the host; JSON, which the CSP does not run. */
  initial?: unknown;
}

/** A strict CSP with a per-load nonce: nothing inline runs or applies without it (no unsafe-inline, no unsafe-eval). */
export function webviewPage(p: PageParts): string {
  const csp = [
    "default-src 'none'",
    `img-src ${p.cspSource} data:`,
    `style-src ${p.cspSource} 'nonce-${p.nonce}'`,
    `script-src 'nonce-${p.nonce}'`,
    `font-src ${p.cspSource}`,
  ].join('; ');
  const styles = p.styles.map(s => ('css' in s ? `<style nonce="${p.nonce}">${s.css}</style>` : `<link rel="stylesheet" href="${escapeHtml(s.href)}" nonce="${p.nonce}">`));
  const script = 'js' in p.script ? `<script nonce="${p.nonce}">${p.script.js}</script>` : `<script nonce="${p.nonce}" src="${escapeHtml(p.script.src)}"></script>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles.join('\n')}
<title>${escapeHtml(p.title)}</title>
</head>
<body class="${escapeHtml(p.bodyClass)}">
<main id="app" aria-live="polite"><p class="muted">Loading…</p></main>
${p.initial === undefined ? '' : `<script type="application/json" id="initial-state">${scriptSafeJson(JSON.stringify(p.initial))}</script>\n`}${script}
</body>
</html>`;
}

/** A bundle as it goes into a <script> element, and the name of its source map (linked by the adapter), if any. */
export interface InlineScript { js: string; sourceMap?: string }

/** dist/webview/NAME.js made safe inside <script>, its source map comment taken off; undefined if it cannot be read. */
export function inlineScript(file: string): InlineScript | undefined {
  return cached(file, text => {
    let sourceMap: string | undefined;
    const js = text.replace(/\/\/# sourceMappingURL=(\S+)\s*$/, (_, map: string) => { sourceMap = map; return ''; });
    return { js: scriptSafeJs(js), sourceMap };
  });
}

/** A stylesheet made safe inside <style>; undefined if it cannot be read. */
export function inlineStyle(file: string): string | undefined {
  return cached(file, css => css.replace(/<\/(style)/gi, '<\\/$1'));
}

/**
 * Each file read and escaped once per version (mtime and size): every page write (each panel, sidebar and Explorer
 * load) had read and escaped the 221 KB panel bundle again; a rebuild during development is still picked up.
 */
const cache = new Map<string, { mtimeMs: number; size: number; value: unknown }>();
function cached<T>(file: string, make: (text: string) => T): T | undefined {
  let stat: fs.Stats;
  try { stat = fs.statSync(file); } catch { cache.delete(file); return undefined; }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.value as T;
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { return undefined; }
  const value = make(text);
  cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, value });
  return value;
}
