// Writes a gzip copy beside each built text asset, which the APIs serve to browsers that accept
// it, and prints each portal's first-load JavaScript and CSS, gzipped.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const text = /\.(js|css|html|svg|json|txt|map)$/;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

for (const portal of readdirSync(dist)) {
  let js = 0;
  for (const path of files(join(dist, portal))) {
    if (!text.test(path)) continue;
    const zipped = gzipSync(readFileSync(path), { level: 9 });
    writeFileSync(`${path}.gz`, zipped);
    if (/\.(js|css)$/.test(path)) js += zipped.length;
  }
  console.log(`${portal}: ${(js / 1024).toFixed(1)} KiB of JavaScript and CSS, gzipped`);
}
