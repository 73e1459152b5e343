#!/usr/bin/env node
// `npx aki`: run the bundled server (built by `npm run build`, which `npm install` runs via prepare).
import "../dist/aki.mjs";
