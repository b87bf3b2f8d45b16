import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "spec/**/*.test.ts",
      "src/**/*.test.ts",
      "model-tests/**/*.test.ts",
      "conformance/**/*.test.ts",
    ],
    testTimeout: 60_000,
    coverage: {
      provider: "v8",
      include: ["spec/**/*.ts"],
      exclude: ["spec/**/*.test.ts", "spec/test/**", "spec/**/index.ts"],
      reporter: ["text-summary", "json-summary"],
      reportsDirectory: "coverage",
      thresholds: { lines: 95, branches: 90 },
    },
  },
});
