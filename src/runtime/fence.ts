// A write fence: the leader's writes go out only while it leads. A lease says who may write, but
// nothing at the API server enforces it, so a replica that lost its lease (or released it) must
// stop writing on its own, including writes it queued or started a moment before: a reconcile
// between two awaits, an Event being recorded in the background, a request waiting out a 429.
// Every such write runs through the fence: refused once it is closed, aborted in flight when it
// closes. The Manager opens it when leader work starts and closes it when leadership ends.
//
// What it cannot do is recall bytes already handed to the network: a request the API server has
// begun to receive may still be served. That is what the margin between the renew deadline and
// the lease duration is for (client-go's leader election rests on the same margin).

export class FencedWriteError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`write fenced: ${reason}`, options);
    this.name = 'FencedWriteError';
  }
}

export class WriteFence {
  #open = false;
  /** Aborted when the fence closes; a new one per opening. */
  #gate = new AbortController();
  #closedBecause = 'not leading';
  readonly #inFlight = new Set<Promise<unknown>>();

  /** Writes are admitted from now on (leadership acquired). */
  open(): void {
    if (this.#open) return;
    this.#open = true;
    this.#gate = new AbortController();
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Writes admitted and not yet settled. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Runs one write under the fence. Refused with FencedWriteError, without calling `write`, when
   * the fence is closed; otherwise `write` gets a signal that aborts when the caller's does or the
   * fence closes, and must pass it to the request. A write the fence aborted rejects with
   * FencedWriteError.
   */
  run<T>(callerSignal: AbortSignal | undefined, write: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (!this.#open) return Promise.reject(new FencedWriteError(this.#closedBecause));
    const gate = this.#gate.signal;
    const signal = callerSignal ? AbortSignal.any([callerSignal, gate]) : gate;
    let started: Promise<T>;
    try {
      started = write(signal);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const settled = started.then(
      (value) => value,
      (err: unknown) => {
        throw gate.aborted && !callerSignal?.aborted ? new FencedWriteError(this.#closedBecause, { cause: err }) : err;
      },
    );
    const tracked = settled.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(tracked);
    void tracked.then(() => this.#inFlight.delete(tracked));
    return settled;
  }

  /**
   * Stops admitting writes and resolves once every admitted one has settled: for a graceful
   * hand-over, where the lease is still held and the writes may finish.
   */
  async drain(reason: string): Promise<void> {
    this.#shut(reason);
    await Promise.all(this.#inFlight);
  }

  /** Stops admitting writes and aborts those in flight: leadership is gone. */
  close(reason: Error): void {
    this.#shut(reason.message);
    this.#gate.abort(reason);
  }

  #shut(reason: string): void {
    if (this.#open) this.#closedBecause = reason;
    this.#open = false;
  }
}
