import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { documents, render } from "./documents.mjs";

it.each(documents)("the client of $source is up to date (npm run generate)", async ({ source, target }) => {
  expect(await readFile(target, "utf8"), `${target} is stale: run \`npm run generate\` in portals/`).toBe(await render(source));
});
