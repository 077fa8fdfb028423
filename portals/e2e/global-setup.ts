import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Where everything runs, as `live-platform` prints it. */
export interface LivePlatform {
  api: string;
  adminToken: string;
  kubeconfig: string;
  instances: Record<string, { name: string; url: string; staffToken: string; invitation: string }>;
}

const repo = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Starts the platform (`target/debug/live-platform`, built by `cargo build`) with one tenant
 * for the ISP journeys, hands its JSON to the tests in DOTMAC_LIVE, and stops it afterwards.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const binary = process.env.DOTMAC_LIVE_PLATFORM ?? `${repo}target/debug/live-platform`;
  const child = spawn(binary, ["--tenant", "portal-isp"], { cwd: repo, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`live-platform exited (${code}) before it was ready`)));
    lines.once("line", resolve);
  });
  process.env.DOTMAC_LIVE = first;
  return async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin.end();
    await exited;
  };
}

/** The platform the setup started. */
export function live(): LivePlatform {
  const text = process.env.DOTMAC_LIVE;
  if (!text) throw new Error("DOTMAC_LIVE is unset: run through `npx playwright test` (global-setup.ts)");
  return JSON.parse(text) as LivePlatform;
}
