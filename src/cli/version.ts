import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
/** The package version (package.json is two folders up from both src/cli and dist/src/cli). */
export const VERSION: string = (() => {
  for (const p of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === "tether" && pkg.version) return pkg.version;
    } catch {
      // next
    }
  }
  return "0.0.0";
})();
