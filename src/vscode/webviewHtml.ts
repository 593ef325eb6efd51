import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { scriptSafeJs } from '../report/html';

/**
 * The HTML shell shared by the panel and the sidebar: a strict CSP with a per-load nonce, our bundled script and
 * stylesheet only (no remote content), and the VS Code theme variables doing the colours. `initial` (JSON, not run:
 * the CSP runs only the nonce'd script) is what the webview draws at once, before any message from the host arrives.
 *
 * The script and stylesheets are written into the page (nonce'd), not linked: the web workbench (code-server) serves
 * a webview's files through a service worker and the workbench's own thread, about 0.2 s for each file while it is
 * busy creating the webview, which was most of Run -> first chart when Run opened the panel (bench/ui-first-chart.mjs).
 * A file that cannot be read is linked as before.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, script: 'panel' | 'sidebar' | 'explorer', title: string, initial?: unknown): string {
  const nonce = randomBytes(16).toString('base64');
  const file = (...parts: string[]) => vscode.Uri.joinPath(extensionUri, ...parts);
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  const style = (name: string) => {
    const css = read(file('media', name));
    return css === undefined ? `<link rel="stylesheet" href="${webview.asWebviewUri(file('media', name))}" nonce="${nonce}">`
      : `<style nonce="${nonce}">${css.replace(/<\/(style)/gi, '<\\/$1')}</style>`;
  };
  const jsUri = file('dist', 'webview', `${script}.js`);
  const js = read(jsUri);
  // The source map stays a file (development builds only): linked by its webview address, the page's own being none.
  const scriptTag = js === undefined ? `<script nonce="${nonce}" src="${webview.asWebviewUri(jsUri)}"></script>`
    : `<script nonce="${nonce}">${scriptSafeJs(js.replace(/\/\/# sourceMappingURL=(\S+)\s*$/, (_, map: string) => `//# sourceMappingURL=${webview.asWebviewUri(file('dist', 'webview', map))}`))}</script>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${style('webview.css')}
${style('layout.css')}
<title>${title}</title>
</head>
<body class="al-${script}">
<main id="app" aria-live="polite"><p class="muted">Loading…</p></main>
${initial === undefined ? '' : `<script type="application/json" id="initial-state">${JSON.stringify(initial).replace(/</g, '\\u003c')}</script>\n`}${scriptTag}
</body>
</html>`;
}

function read(uri: vscode.Uri): string | undefined {
  try { return fs.readFileSync(uri.fsPath, 'utf8'); } catch { return undefined; }
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}
