// ESLint for the TypeScript and JavaScript of the project (npm run lint). Formatting is Prettier's
// job (eslint-config-prettier turns off the rules that would fight it); C++ is clang-format's.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "build/**",
      "build-win/**",
      "build-deps/**",
      "node_modules/**",
      "src/gen/**",
      "native/**",
      ".tmp/**",
      "bench-results/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        // Node (src/, scripts/, test/) and the browser (src/console/): both run this code.
        process: "readonly",
        Buffer: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        performance: "readonly",
        URL: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        fetch: "readonly",
        AbortSignal: "readonly",
        structuredClone: "readonly",
        crypto: "readonly",
        globalThis: "readonly",
        queueMicrotask: "readonly",
        FinalizationRegistry: "readonly",
        WeakRef: "readonly",
        document: "readonly",
        window: "readonly",
        location: "readonly",
        navigator: "readonly",
        requestAnimationFrame: "readonly",
      },
    },
    rules: {
      // Unused names are errors, except a deliberate `_name`.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // Tests drive untyped peers (wrtc in Node, page.evaluate results): `any` is allowed there.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-non-null-assertion": "off" },
  },
);
