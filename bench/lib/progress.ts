// One progress line: rewritten in place on a terminal, printed every few seconds otherwise.

export class Progress {
  private text = '';
  private lastPrinted = 0;
  private lastPhase = '';
  private readonly tty = process.stderr.isTTY === true;
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.render(false), 1000);
    this.timer.unref();
  }

  private elapsed(): string {
    const s = Math.round((performance.now() - this.started) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }

  /** phase: what is running; detail: its live state (counts, seconds). */
  set(phase: string, detail = ''): void {
    this.text = detail ? `${phase}: ${detail}` : phase;
    const changed = phase !== this.lastPhase;
    this.lastPhase = phase;
    this.render(changed);
  }

  /** A line that stays (results of a step). */
  note(message: string): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(`[bench ${this.elapsed()}] ${message}\n`);
    this.render(true);
  }

  private render(force: boolean): void {
    if (!this.text) return;
    const line = `[bench ${this.elapsed()}] ${this.text}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
      return;
    }
    const now = performance.now();
    if (force || now - this.lastPrinted >= 5000) {
      process.stderr.write(`${line}\n`);
      this.lastPrinted = now;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.tty) process.stderr.write('\r\x1b[K');
  }
}
