import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // chdb (the embedded engine) allows one open session per process: the default `forks` pool
    // gives each test file its own process.
    pool: 'forks',
    // Both cores: the default (one fewer than the cores) ran the files one at a time on these
    // 2-core machines, 560 s back to back, most of them waiting on loopback HTTP or virtual time.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
