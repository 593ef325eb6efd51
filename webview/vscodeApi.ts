/** The webview side of the host protocol: typed post, typed receive, persisted state. */
import type { HostToWebview, WebviewToHost } from '../src/protocol';

interface VsCodeApi<S> { postMessage(m: WebviewToHost): void; getState(): S | undefined; setState(s: S): void }
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

export function connect<S>(onMessage: (m: HostToWebview) => void): VsCodeApi<S> {
  const api = acquireVsCodeApi<S>();
  window.addEventListener('message', e => {
    const m = e.data as HostToWebview;
    if (m && typeof m === 'object' && typeof m.type === 'string') onMessage(m);
  });
  return api;
}

/**
 * Runs `draw` at most every `ms` milliseconds, always with the latest data (trailing call guaranteed). On a slow
 * machine the interval stretches to 3x the last draw's duration, so drawing never starves clicks (Stop) of time.
 */
export function throttle(draw: () => void, ms = 100): (() => void) & { now(): void } {
  let last = 0, cost = 0, timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const t0 = performance.now();
    draw();
    last = performance.now();
    cost = last - t0;
  };
  const throttled = () => {
    if (timer) return;
    timer = setTimeout(run, Math.max(0, last + Math.max(ms, 3 * cost) - performance.now()));
  };
  /** Draws at once (and drops a pending draw): for the few messages a user waits for, not for the stream. */
  return Object.assign(throttled, { now: run });
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}
