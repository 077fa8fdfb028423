import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type UserConfig } from "vite";

/**
 * One portal's build: served under `base` by its API, written to `dist/<name>/`. Hashed assets
 * are cached for good by the server; index.html never is.
 */
export function portal(name: string, base: string): UserConfig {
  return defineConfig({
    base,
    plugins: [react()],
    build: {
      outDir: fileURLToPath(new URL(`./dist/${name}`, import.meta.url)),
      emptyOutDir: true,
      target: "es2022",
      sourcemap: false,
      reportCompressedSize: false,
    },
  });
}
