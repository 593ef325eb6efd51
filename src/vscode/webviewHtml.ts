import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';

/**
 * The HTML shell shared by the panel and the sidebar: a strict CSP with a per-load nonce, our bundled script and
 * stylesheet only (no remote content), and the VS Code theme variables doing the colours. `initial` (JSON, not run:
 * the CSP runs only the nonce'd script) is what the webview draws at once, before any message from the host arrives.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, script: 'panel' | 'sidebar' | 'explorer', title: string, initial?: unknown): string {
  const nonce = randomBytes(16).toString('base64');
  const js = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${script}.js`));
  const css = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'webview.css'));
  const layout = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'layout.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}" nonce="${nonce}">
<link rel="stylesheet" href="${layout}" nonce="${nonce}">
<title>${title}</title>
</head>
<body class="al-${script}">
<main id="app" aria-live="polite"><p class="muted">Loading…</p></main>
${initial === undefined ? '' : `<script type="application/json" id="initial-state">${JSON.stringify(initial).replace(/</g, '\\u003c')}</script>\n`}<script nonce="${nonce}" src="${js}"></script>
</body>
</html>`;
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}
