// Finds and loads the compiled addon, and says which paths it tried when it cannot.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { NativeAddon } from './addon.js';
import { nativeError } from './errors.js';

export type AddonVariant = 'platform' | 'unsupported';

export interface LoadOptions {
  /** An exact .node file; otherwise $TETHER_NATIVE_PATH, then build/{Release,Debug}/. */
  path?: string;
  /** 'unsupported' loads the stub build that answers ERR_UNSUPPORTED_PLATFORM (for tests). */
  variant?: AddonVariant;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const requireNative = createRequire(import.meta.url);
const cache = new Map<string, NativeAddon>();

/** The repository root: src/native/ in a source checkout, dist/src/native/ once compiled. */
function repoRoots(): string[] {
  return [path.resolve(here, '../..'), path.resolve(here, '../../..')];
}

export function candidatePaths(options: LoadOptions = {}): string[] {
  const file = options.variant === 'unsupported' ? 'tether_native_unsupported.node' : 'tether_native.node';
  if (options.path !== undefined) return [path.resolve(options.path)];
  const out: string[] = [];
  const env = process.env['TETHER_NATIVE_PATH'];
  if (env !== undefined && env !== '' && options.variant !== 'unsupported') out.push(path.resolve(env));
  for (const root of repoRoots()) {
    for (const config of ['Release', 'Debug']) out.push(path.join(root, 'build', config, file));
  }
  return [...new Set(out)];
}

/** Loads the addon (once per path). Throws ERR_NATIVE_NOT_FOUND listing every path tried. */
export function loadNative(options: LoadOptions = {}): NativeAddon {
  const tried: string[] = [];
  for (const candidate of candidatePaths(options)) {
    const cached = cache.get(candidate);
    if (cached !== undefined) return cached;
    if (!existsSync(candidate)) {
      tried.push(`${candidate} (missing)`);
      continue;
    }
    try {
      const addon = requireNative(candidate) as NativeAddon;
      cache.set(candidate, addon);
      return addon;
    } catch (error) {
      tried.push(`${candidate} (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  throw nativeError(
    'ERR_NATIVE_NOT_FOUND',
    `the Tether native addon could not be loaded; run \`npm run build:native\`. Tried:\n  ${tried.join('\n  ')}`,
  );
}
