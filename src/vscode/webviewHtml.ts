import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { inlineScript, inlineStyle, webviewPage } from './webviewPage';

/**
 * The HTML shell shared by the panel and the sidebar (webviewPage.ts): a strict CSP with a per-load nonce, our bundled
 * script and stylesheets only (no remote content), and the VS Code theme variables doing the colours. `initial` is
 * what the webview draws at once, before any message from the host arrives.
 *
 * The script and stylesheets are written into the page (nonce'd), not linked: the web workbench (code-server) serves
 * a webview's files through a service worker and the workbench's own thread, about 0.2 s for each file while it is
 * busy creating the webview, which was most of Run -> first chart when Run opened the panel (bench/ui-first-chart.mjs).
 * A file that cannot be read is linked as before.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, script: 'panel' | 'sidebar' | 'explorer', title: string, initial?: unknown): string {
  const file = (...parts: string[]) => vscode.Uri.joinPath(extensionUri, ...parts);
  const address = (uri: vscode.Uri) => webview.asWebviewUri(uri).toString();
  const jsUri = file('dist', 'webview', `${script}.js`);
  const js = inlineScript(jsUri.fsPath);
  return webviewPage({
    nonce: randomBytes(16).toString('base64'), cspSource: webview.cspSource, title, bodyClass: `al-${script}`, initial,
    styles: ['webview.css', 'layout.css'].map(name => {
      const css = inlineStyle(file('media', name).fsPath);
      return css === undefined ? { href: address(file('media', name)) } : { css };
    }),
    // The source map stays a file (development builds only): linked by its webview address, the page's own being none.
    script: js === undefined ? { src: address(jsUri) }
      : { js: js.sourceMap ? `${js.js}//# sourceMappingURL=${address(file('dist', 'webview', js.sourceMap))}` : js.js },
  });
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}
