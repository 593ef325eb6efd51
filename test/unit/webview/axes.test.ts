import assert from 'node:assert/strict';
import { logRange, logTicks, onLogAxis, distinctLabels, linearTicks } from '../../../webview/axes';

describe('chart axes', () => {
  it('a log axis spans every positive value drawn (the spiral run hid dense_2 at 0.00165 under a 0.0019 minimum)', () => {
    const grads = [0.0316, 0.00812, 0.00165, 0.0042];
    const r = logRange(grads);
    for (const g of grads) assert.ok(r.min < g && g < r.max, `${g} outside [${r.min}, ${r.max}]`);
    assert.equal(r.floor, undefined);
    for (const t of logTicks(r)) assert.ok(t >= r.min && t <= r.max, `tick ${t} outside the axis`);
  });

  it('zeros sit on a floor below the smallest positive value, with a tick labelled 0 (the dying-relu run)', () => {
    const r = logRange([0, 0, 0.00199]);
    assert.ok(r.floor !== undefined && r.min < r.floor && r.floor < 0.00199 / 2, JSON.stringify(r));
    assert.equal(onLogAxis(0, r), r.floor);
    assert.equal(onLogAxis(0.00199, r), 0.00199);
    assert.equal(onLogAxis(-1, r), null);
    assert.equal(onLogAxis(NaN, r), null);
    const ticks = logTicks(r);
    assert.equal(ticks[0], r.floor);
    const labels = distinctLabels(ticks, { floor: r.floor });
    assert.equal(labels[0], '0');
    assert.equal(new Set(labels).size, labels.length);
  });

  it('a run whose every gradient is zero still gets an axis and a floor', () => {
    const r = logRange([0, 0]);
    assert.ok(Number.isFinite(r.min) && r.max > r.min && r.floor !== undefined && r.floor > r.min);
  });

  it('a loss between 1.12 and 1.15 gets ticks whose labels all differ (the report read 1.2, 1.1, 1.1, 1.1)', () => {
    const losses = [1.1403, 1.1270, 1.1218, 1.1472, 1.1507];
    const r = logRange(losses);
    const ticks = logTicks(r);
    assert.ok(ticks.length >= 3, `ticks ${ticks}`);
    const labels = distinctLabels(ticks);
    assert.equal(new Set(labels).size, labels.length, labels.join(', '));
    // Round values a reader can interpolate: 1.12, 1.13, ... (step 0.01), each a multiple of the step.
    for (const t of ticks) assert.ok(Math.abs(t * 100 - Math.round(t * 100)) < 1e-9, `tick ${t}`);
  });

  it('wide ranges get decades, a few decades get 1-2-5', () => {
    assert.deepEqual(logTicks({ min: 2e-6, max: 3 }), [1e-5, 1e-4, 1e-3, 0.01, 0.1, 1]);
    assert.deepEqual(logTicks({ min: 0.15, max: 7 }), [0.2, 0.5, 1, 2, 5]);
  });

  it('distinct labels add digits only where needed', () => {
    assert.deepEqual(distinctLabels([1.1, 1.12, 1.14]), ['1.1', '1.12', '1.14']);
    assert.deepEqual(distinctLabels([0.001, 0.01, 0.1, 1]), ['0.001', '0.01', '0.1', '1']);
    assert.deepEqual(distinctLabels([12300, 12340]), ['1.230e4', '1.234e4']);
    assert.deepEqual(linearTicks(0, 1, 6), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe('tick labels', () => {
  it('are true to their value: 1.1 and 1.15 are not "1.1" and "1.2"', () => {
    assert.deepEqual(distinctLabels([1.1, 1.15, 1.2]), ['1.1', '1.15', '1.2']);
    assert.deepEqual(distinctLabels([1e-5, 1e-4]), ['1e-5', '1e-4']);
    assert.deepEqual(distinctLabels([0, 1500, 3000]), ['0', '1500', '3000']);
  });

  it('a loss from 0.6 to 2.5 gets at least three ticks', () => {
    const ticks = logTicks(logRange([0.6, 2.5]));
    assert.ok(ticks.length >= 3, `ticks ${ticks}`);
  });
});

describe('linear ticks', () => {
  it('step down 1-2-5 until three ticks fit (a loss from 1.09 to 1.16)', () => {
    assert.deepEqual(linearTicks(1.09, 1.16, 5), [1.1, 1.12, 1.14, 1.16]);
    assert.deepEqual(linearTicks(0.2, 0.31, 5), [0.2, 0.25, 0.3]);
  });
  it('end on ranges with nothing to tick', () => {
    assert.deepEqual(linearTicks(1, 1), [1]);
    assert.deepEqual(linearTicks(0, Infinity), [0]);
    assert.deepEqual(logTicks({ min: 0, max: 1 }), []);
  });
});

describe('log axis of bars', () => {
  it('leaves the smallest bar at least a third of the height (2.79e-4 next to 1.78e-3 was a sliver)', () => {
    const r = logRange([7.13e-4, 2.79e-4, 1.78e-3], { bars: true });
    const height = (v: number) => Math.log10(v / r.min) / Math.log10(r.max / r.min);
    assert.ok(height(2.79e-4) >= 1 / 3, `smallest bar at ${height(2.79e-4)} of the axis`);
    assert.ok(height(1.78e-3) < 1);
  });
});
