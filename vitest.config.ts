import { defineConfig } from 'vitest/config';

// Four projects: unit tests are pure and fast; integration and end-to-end tests share one
// real control plane started by the global setup (or the one `npm run cluster:up` started);
// the resilience suite (`npm run test:resilience`, not part of `npm test`) starts a control
// plane of its own per file, because it restarts, throttles and compacts it; the image project
// (`npm run test:image`) starts the built container image against the shared control plane.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts', './test/support/resilience/reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'hack/**/*.test.ts', 'bench/**/*.test.ts'],
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
      {
        // `npm run test:image`: the container image that hack/image.sh built with buildah, started
        // against the shared control plane (not part of `npm test`: building it needs root).
        test: {
          name: 'image',
          include: ['test/image/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'resilience',
          include: ['test/resilience/**/*.test.ts'],
          environment: 'node',
          // One file at a time: each runs its own control plane and the operator as a process,
          // and the figures (time to recover, writes per minute) mean little on a starved CPU.
          maxWorkers: 1,
          fileParallelism: false,
          // The soak runs for 10 minutes with RESILIENCE_SOAK=1.
          testTimeout: 1_200_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
