import { defineConfig } from "vitest/config";

/** The portals' unit tests (UI logic); the browser journeys are Playwright's (e2e/). */
export default defineConfig({
  test: {
    include: ["packages/**/*.test.{ts,tsx}", "apps/**/*.test.{ts,tsx}"],
    environment: "happy-dom",
  },
});
