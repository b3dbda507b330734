import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // TMPDIR for the whole run, removed at its end (test/support/global-setup.ts).
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    // Integration tests start real broker and agent processes; two cores are shared between them.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
