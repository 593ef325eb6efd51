/**
 * Root hook for every unit test: mocha's per-test timeout (2 s by default, or a suite's this.timeout) is a wall-clock
 * assertion, and on a 2-core machine shared with other work a CPU-heavy test takes ten times longer than alone (two
 * tests failed "Timeout of 2000ms exceeded" in a CI run at load average 25). Every test gets at least 10 minutes:
 * the bound catches a hang, it measures nothing. Timing promises are benchmarks (docs/testing.md).
 */
const HANG_MS = 600_000;

beforeEach(function () {
  const test = this.currentTest;
  if (test && test.timeout() !== 0 && test.timeout() < HANG_MS) test.timeout(HANG_MS);
});
