// ESLint for the web console (console/*.js): plain ES modules run by the browser as they are,
// no build step. scripts/lint.sh runs it from the repository root:
//   tools/node_modules/.bin/eslint --config tools/eslint.config.mjs console
// It lives here, not in console/: every file of console/ is embedded in the binary and served.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    files: ["console/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: globals.browser,
    },
    linterOptions: {
      reportUnusedDisableDirectives: "error",
    },
  },
];
