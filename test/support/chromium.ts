import type { Browser, Page } from "playwright-core";
import { cli } from "./procs.js";
/** Chromium as the browser tests and the latency benchmark launch it (Debian's chromium, headless, through playwright-core). */
export const CHROMIUM_PATH = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Jane Doe (jane) added to the broker's data folder with the real CLI, and the console in a new page
 * of `browser` signed in as her through its form. `permissions`: granted to the broker's origin
 * (e.g. the clipboard's). Page errors are collected in `errors`.
 */
export async function consoleSignedIn(
  browser: Browser,
  broker: { url: string; dataDir: string },
  o: { permissions?: string[] } = {},
): Promise<{ page: Page; token: string; errors: string[] }> {
  const added = await cli(["technician", "add", "jane", "--display-name", "Jane Doe", "--data", broker.dataDir]);
  if (added.code !== 0) throw new Error(added.stderr);
  const password = /Console password: (\S+)/.exec(added.stdout)![1]!;
  const token = added.stdout.trim().split("\n").at(-1)!;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  if (o.permissions) await context.grantPermissions(o.permissions, { origin: broker.url });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(broker.url + "/");
  await page.locator("#login-name").fill("jane");
  await page.locator("#login-password").fill(password);
  await page.locator("#login-form button[type=submit]").click();
  await page.locator("#who", { hasText: "Jane Doe (jane)" }).waitFor();
  return { page, token, errors };
}

/** Opens a menu of the viewer's bar (a <details>: "files-menu", "clipboard-menu", …) unless it is open. */
export async function openMenu(page: Page, id: string): Promise<void> {
  if ((await page.locator(`#${id}`).getAttribute("open")) === null) await page.locator(`#${id} summary`).click();
}
