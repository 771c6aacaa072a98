import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Child-process tests read dist/, which `npm test` builds first.
    pool: "forks",
    reporters: ["default"],
    passWithNoTests: false,
  },
});
