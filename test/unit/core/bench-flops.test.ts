// The benchmark's flopsPerSample, counted by hand from the layer sizes: what "fraction of the ceiling" rests on.
import assert from 'node:assert/strict';
import { WORKLOADS, flopsPerSample } from '../../../bench/workloads';

const workload = (name: string) => WORKLOADS.find(w => w.name === name)!;

describe('bench flopsPerSample', () => {
  it('W1 784-256-128-10: 2 forward + 2 weight-gradient flops per multiply-add, + 2 input-gradient except the first layer', () => {
    assert.equal(flopsPerSample(workload('W1')), 4 * 784 * 256 + 6 * (256 * 128 + 128 * 10));
  });
  it('C1: conv 3x3x1x32 on 28x28 (26x26 out, no input gradient), pool, conv 3x3x32x64 (11x11 out), pool, dense 1600-128-10', () => {
    assert.equal(flopsPerSample(workload('C1')), 4 * 26 * 26 * 9 * 32 + 6 * (11 * 11 * 9 * 32 * 64 + 5 * 5 * 64 * 128 + 128 * 10));
  });
});
