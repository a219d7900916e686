// The figures a resilience scenario reports: faults injected, recoveries and how long they took,
// writes the operator sent, and any other number worth printing. Each test file keeps one ledger;
// a snapshot rides on every test's meta to the resilience reporter, and afterAll prints it.
import { afterAll, afterEach } from 'vitest';

export interface FaultRecord {
  kind: string;
  detail: string;
  /** Milliseconds since the ledger started. */
  at: number;
  /** Time from the fault to recovery, once recovered. */
  recoveredMs?: number;
}

export interface LedgerSnapshot {
  scenario: string;
  faults: FaultRecord[];
  figures: Record<string, string>;
}

export interface Fault {
  /** Marks the fault recovered and returns the time it took. */
  recovered(): number;
}

export class Ledger {
  readonly scenario: string;
  private readonly started = performance.now();
  private readonly faults: FaultRecord[] = [];
  private readonly figures: Record<string, string> = {};

  constructor(scenario: string) {
    this.scenario = scenario;
  }

  fault(kind: string, detail = ''): Fault {
    const at = performance.now();
    const record: FaultRecord = { kind, detail, at: Math.round(at - this.started) };
    this.faults.push(record);
    return {
      recovered: () => {
        record.recoveredMs ??= Math.round(performance.now() - at);
        return record.recoveredMs;
      },
    };
  }

  figure(name: string, value: string | number): void {
    this.figures[name] = typeof value === 'number' ? String(Math.round(value * 100) / 100) : value;
  }

  snapshot(): LedgerSnapshot {
    return { scenario: this.scenario, faults: this.faults.map((f) => ({ ...f })), figures: { ...this.figures } };
  }

  summary(): string {
    return formatSnapshot(this.snapshot());
  }
}

export function formatSnapshot(s: LedgerSnapshot): string {
  const recovered = s.faults.filter((f) => f.recoveredMs !== undefined);
  const times = recovered.map((f) => f.recoveredMs!).sort((a, b) => a - b);
  const kinds = new Map<string, number>();
  for (const f of s.faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  const lines = [
    `[resilience] ${s.scenario}: ${s.faults.length} faults injected (${[...kinds].map(([k, n]) => `${n}x ${k}`).join(', ') || 'none'}), ` +
      `${recovered.length} recovered` +
      (times.length ? `, time to recover median ${(times[Math.floor(times.length / 2)]! / 1000).toFixed(1)} s, max ${(times.at(-1)! / 1000).toFixed(1)} s` : ''),
  ];
  const figures = Object.entries(s.figures);
  if (figures.length) lines.push(`[resilience]   ${figures.map(([k, v]) => `${k}=${v.length > 240 ? `${v.slice(0, 237)}...` : v}`).join('; ')}`);
  return lines.join('\n');
}

/** One ledger per test file: attached to every test's meta and printed after the file's tests. */
export function useLedger(scenario: string): Ledger {
  const ledger = new Ledger(scenario);
  afterEach(({ task }) => {
    (task.meta as Record<string, unknown>).resilience = ledger.snapshot();
  });
  afterAll(() => {
    process.stdout.write(`${ledger.summary()}\n`);
  });
  return ledger;
}
