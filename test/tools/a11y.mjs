// Accessibility and layout helpers of the UI tests: axe-core run inside a page or a webview frame, and a webview
// panel resized to a given CSS width by resizing the browser window.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { until } from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(path.join(path.dirname(require.resolve('axe-core/package.json')), 'axe.min.js'), 'utf8');

/**
 * axe-core's violations of impact serious or critical in `frame` (a page or a webview's frame). The script is
 * evaluated through the DevTools protocol, which the webview's CSP (scripts by nonce only) does not apply to.
 */
export async function seriousViolations(frame) {
  if (!(await frame.evaluate(() => typeof window.axe === 'object'))) await frame.evaluate(AXE);
  const result = await frame.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => `${n.target.join(' ')}: ${n.failureSummary}`) }));
  });
  return result.filter(v => v.impact === 'serious' || v.impact === 'critical');
}

/** Throws with every serious or critical violation spelled out. */
export async function assertAccessible(frame, what) {
  const v = await seriousViolations(frame);
  if (v.length) throw new Error(`${what}: ${v.length} serious/critical axe violations:\n${v.map(x => `- ${x.id} (${x.impact}): ${x.help}\n    ${x.nodes.join('\n    ')}`).join('\n')}`);
}

/**
 * Resizes the browser window until the webview in `frame` is `width` CSS pixels wide (within 6 px): the editor
 * groups share the window's width, so each step scales the change by how much of it reached the webview.
 */
export async function setWebviewWidth(page, frame, width) {
  const webviewWidth = () => frame.evaluate(() => window.innerWidth);
  let share = 0.5;
  for (let i = 0; i < 8; i++) {
    const w = await webviewWidth();
    if (Math.abs(w - width) <= 6) return w;
    const vp = page.viewportSize();
    const next = Math.max(500, Math.round(vp.width + (width - w) / share));
    await page.setViewportSize({ width: next, height: vp.height });
    // The workbench lays out on resize; wait for the webview to follow.
    await until(`the webview to resize from ${w}`, async () => (await webviewWidth()) !== w, 20000).catch(() => {});
    const w2 = await webviewWidth();
    if (w2 !== w && next !== vp.width) share = Math.min(1, Math.max(0.2, (w2 - w) / (next - vp.width)));
  }
  const w = await webviewWidth();
  if (Math.abs(w - width) > 6) throw new Error(`the webview is ${w} px wide, not ${width}`);
  return w;
}

/** Contrast ratio of two CSS colours as WCAG defines it (1 to 21). */
export function contrast(a, b) {
  const lum = ([r, g, bl]) => {
    const c = [r, g, bl].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const [l1, l2] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}
