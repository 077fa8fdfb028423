import { defineConfig } from "@playwright/test";
import shared from "../playwright.config";

/**
 * `just bench portals`: the portals' size and speed figures, measured in Debian's Chromium with
 * the browser settings of the tests (portals.bench.ts), no global platform.
 */
export default defineConfig({
  testDir: ".",
  testMatch: "*.bench.ts",
  timeout: 600_000,
  workers: 1,
  reporter: [["list"]],
  outputDir: "../test-results/bench",
  use: { launchOptions: shared.use?.launchOptions ?? {} },
});
