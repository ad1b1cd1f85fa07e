// Prints the README's environment table from AppConfig (run after `npm run build`).
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
require('reflect-metadata');
const { AppConfig } = require('../dist/libs/config/src/app-config.js');
const c = new AppConfig();
console.log('| variable | default |\n| --- | --- |');
for (const [k, v] of Object.entries(c)) console.log(`| \`${k}\` | ${v === '' ? '(none)' : `\`${v}\``} |`);
