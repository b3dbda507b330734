#!/usr/bin/env node
// The `tether` command; the code is compiled from src/ by `npm run build` (run by `npm ci`).
import { main } from "../dist/src/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`tether: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
