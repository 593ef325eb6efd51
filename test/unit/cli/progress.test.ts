/** Progress on stderr: only on a terminal, only after a second, at most 10 lines a second, cleared at the end. */
import assert from 'node:assert/strict';
import { Progress } from '../../../src/cli/progress';

function fakeClock(): { now: number; restore(): void } {
  const real = Date.now;
  const clock = { now: real(), restore: () => { Date.now = real; } };
  Date.now = () => clock.now;
  return clock;
}

describe('CLI progress', () => {
  it('shows nothing in the first second or when stderr is not a terminal', () => {
    const clock = fakeClock();
    try {
      let out = '';
      const tty = new Progress({ isTTY: true, write: (s: string) => { out += s; } }, true, 100);
      tty.update(1, 0.5);
      assert.equal(out, '');
      clock.now += 1500;
      tty.update(50, 0.25);
      assert.match(out, /step 50\/100 {2}loss 0\.25/);
      const before = out;
      clock.now += 50;
      tty.update(51, 0.2);
      assert.equal(out, before, 'throttled to 10 updates a second');
      tty.done();
      assert.ok(out.endsWith('\r\x1b[K'), 'the line is cleared');
      let piped = '';
      const p = new Progress({ write: (s: string) => { piped += s; } }, true, 100);
      clock.now += 5000;
      p.update(99, 0.1);
      p.done();
      assert.equal(piped, '');
      let json = '';
      const q = new Progress({ isTTY: true, write: (s: string) => { json += s; } }, false, 100);
      clock.now += 5000;
      q.update(99, 0.1);
      assert.equal(json, '', 'not with --json');
    } finally {
      clock.restore();
    }
  });
});
