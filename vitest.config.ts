import { defineConfig } from 'vitest/config';

// Two projects: unit tests are pure and fast; integration and end-to-end tests share one
// real control plane started by the global setup (or the one `npm run cluster:up` started).
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'hack/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          // Files run in parallel against one cluster; each works in namespaces of its own.
          maxWorkers: 2,
        },
      },
    ],
  },
});
