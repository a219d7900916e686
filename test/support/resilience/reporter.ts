// Prints one summary of every resilience scenario at the end of the run: faults injected,
// recoveries, time to recover, writes sent and the scenario's other figures. Silent when no
// test carried a ledger (the unit and integration projects).
import type { Reporter, TestModule } from 'vitest/node';
import { formatSnapshot } from './ledger.ts';
import type { LedgerSnapshot } from './ledger.ts';

export default class ResilienceReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const out: { scenario: string; text: string }[] = [];
    for (const module of modules) {
      let snapshot: LedgerSnapshot | undefined;
      let passed = 0;
      let failed = 0;
      for (const test of module.children.allTests()) {
        const meta = test.meta() as { resilience?: LedgerSnapshot };
        if (meta.resilience) snapshot = meta.resilience;
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
      }
      if (!snapshot) continue;
      out.push({ scenario: snapshot.scenario, text: `${formatSnapshot(snapshot)}\n[resilience]   tests: ${passed} passed, ${failed} failed` });
    }
    if (out.length === 0) return;
    out.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
    process.stdout.write(`\n=== resilience summary ===\n${out.map((o) => o.text).join('\n')}\n`);
  }
}
