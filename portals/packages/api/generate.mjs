// Writes src/management.ts and src/isp.ts from the committed OpenAPI documents.
import { writeFile } from "node:fs/promises";
import { documents, render } from "./documents.mjs";

for (const { source, target } of documents) {
  await writeFile(target, await render(source));
  console.log(`generated ${target}`);
}
