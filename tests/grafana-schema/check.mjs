// Usage: node check.mjs DIR
//
// Type-checks every DIR/*.json as a Grafana dashboard: writes DIR/NAME.ts as
// `const d: CheckedDashboard = <the JSON>;` (schema.ts) and runs
// `tsc --noEmit --strict` on them. tsc's messages are printed with the JSON
// file's name; the line numbers are the JSON's. Exit 0 when every file
// passes, 1 when one fails, 2 when the check cannot run.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node check.mjs DIR');
  process.exit(2);
}
const tsc = join(here, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc) || !existsSync(join(here, 'node_modules', '@grafana', 'schema'))) {
  console.error(`${here}/node_modules is missing: run \`npm ci --prefix tests/grafana-schema\``);
  process.exit(2);
}

const schema = join(here, 'schema').replaceAll('\\', '/');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => {
    const ts = join(dir, f.replace(/\.json$/, '.ts'));
    const json = readFileSync(join(dir, f), 'utf8');
    // One header line before the JSON, so tsc's line numbers are the JSON's.
    writeFileSync(
      ts,
      `import type { CheckedDashboard } from '${schema}'; export const dashboard: CheckedDashboard = ${json};\n`,
    );
    return ts;
  });
if (files.length === 0) {
  console.error(`no .json files in ${dir}`);
  process.exit(2);
}

const args = [
  tsc,
  '--noEmit',
  '--strict',
  '--pretty',
  'false',
  '--target',
  'es2022',
  '--module',
  'esnext',
  '--moduleResolution',
  'bundler',
  ...files,
];
const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
if (run.error) {
  console.error(`cannot run tsc: ${run.error.message}`);
  process.exit(2);
}
const out = (run.stdout + run.stderr).replace(/([\w.-]+)\.ts\((\d+),/g, '$1.json($2,');
process.stdout.write(out);
if (run.status === 0) {
  console.log(`${files.length} dashboards pass @grafana/schema`);
}
process.exit(run.status === 0 ? 0 : 1);
