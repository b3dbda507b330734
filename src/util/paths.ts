import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository (package) root: the nearest folder above this file whose package.json is Tether's. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "tether") return dir;
    dir = resolve(dir, "..");
  }
  throw new Error("cannot find Tether's package.json above " + fileURLToPath(import.meta.url));
}

/** The file names `npm run build:app` gives the prebuilt support apps. */
export const LINUX_APP_NAME = "tether-support-linux-x64";
export const WINDOWS_APP_NAME = "tether-support-windows-x64.exe";

/** Where `npm run build:app` puts the prebuilt support app (Linux; Windows: `name`) by default. */
export function defaultAppFile(name = LINUX_APP_NAME): string {
  return join(packageRoot(), "dist", "app", name);
}
