/**
 * Progress on stderr for runs over a second, only on a terminal and not with --json (SPEC §6): one line
 * rewritten in place at most 10 times a second, cleared at the end.
 */
import type { OutStream } from './io';

export class Progress {
  private readonly t0 = Date.now();
  private last = 0;
  private shown = false;
  private readonly enabled: boolean;

  constructor(private readonly out: OutStream, wanted: boolean, private readonly total: number) {
    this.enabled = wanted && out.isTTY === true;
  }

  update(step: number, loss: number): void {
    if (!this.due()) return;
    this.write(`step ${step}/${this.total}  loss ${Number.isFinite(loss) ? loss.toPrecision(4) : loss}`);
  }

  note(text: string): void {
    if (this.enabled && Date.now() - this.t0 >= 1000) this.write(text);
  }

  done(): void {
    if (this.shown) (this.out.raw ?? this.out).write('\r\x1b[K');
    this.shown = false;
  }

  private due(): boolean {
    if (!this.enabled) return false;
    const now = Date.now();
    if (now - this.t0 < 1000 || now - this.last < 100) return false;
    this.last = now;
    return true;
  }

  private write(text: string): void {
    (this.out.raw ?? this.out).write('\r\x1b[K');
    this.out.write(text);
    this.shown = true;
  }
}
