/** Series helpers of the charts, without chart.js or the DOM (so unit tests can import them). */

/** Keeps at most `max` points, always the first and the last, so long runs stay cheap to draw. */
export function decimate<T>(points: T[], max = 400): T[] {
  if (points.length <= max) return points;
  const stride = points.length / (max - 1);
  const out: T[] = [];
  for (let i = 0; i < max - 1; i++) out.push(points[Math.floor(i * stride)]);
  out.push(points[points.length - 1]);
  return out;
}

/**
 * Exponential moving average of minibatch losses (the per-step curve is mostly sampling noise), taken on log(loss)
 * so that a loss falling by decades is followed rather than dragged above by its early values, with a window of
 * at most 1/20 of the points (a logged curve of 20 epochs is not smoothed away). Non-positive values pass through.
 */
export function smooth(points: [number, number][], window = 20): [number, number][] {
  const w = Math.max(1, Math.min(window, Math.floor(points.length / 20)));
  const a = 2 / (w + 1);
  let ema: number | undefined;
  return points.map(([x, y]) => {
    if (!(y > 0) || !Number.isFinite(y)) return [x, y];
    const l = Math.log(y);
    ema = ema === undefined ? l : ema + a * (l - ema);
    return [x, Math.exp(ema)];
  });
}
