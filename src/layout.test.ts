// Keeps the architecture's import rules checkable (ARCHITECTURE.md §3):
// util ← api ← client ← {scheduler, controllers, agent, proxy, cli};
// apiserver and storage sit beside client, and only apiserver (and the cli,
// which wires the server together) may import storage.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, it } from 'node:test';

const srcRoot = new URL('.', import.meta.url).pathname;

/** Which top-level folders each folder may import from (besides itself). */
const allowed: Record<string, string[]> = {
  util: [],
  api: ['util'],
  storage: ['util'],
  client: ['util', 'api'],
  apiserver: ['util', 'api', 'storage'],
  scheduler: ['util', 'api', 'client'],
  controllers: ['util', 'api', 'client'],
  agent: ['util', 'api', 'client'],
  proxy: ['util', 'api', 'client'],
  cli: ['util', 'api', 'client', 'apiserver', 'storage', 'scheduler', 'controllers', 'agent', 'proxy'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative import specifiers of a file (static imports, re-exports and dynamic imports). */
export function relativeImports(text: string): string[] {
  const specifiers = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)];
  return specifiers.map((m) => m[1] ?? m[2]);
}

export function wrongWayImports(root: string): string[] {
  const problems: string[] = [];
  for (const file of sourceFiles(root)) {
    const from = relative(root, file).split('/')[0];
    if (!(from in allowed)) continue;
    for (const specifier of relativeImports(readFileSync(file, 'utf8'))) {
      const target = relative(root, resolve(dirname(file), specifier)).split('/')[0];
      if (target === from || target.startsWith('..') || !(target in allowed)) continue;
      if (!allowed[from].includes(target)) problems.push(`${relative(root, file)} imports ${specifier} (${from} → ${target})`);
    }
  }
  return problems;
}

describe('source layout', () => {
  it('has the folders of ARCHITECTURE.md §3', () => {
    for (const folder of Object.keys(allowed)) assert.ok(statSync(join(srcRoot, folder)).isDirectory(), folder);
  });

  it('imports only in the allowed direction', () => {
    assert.deepEqual(wrongWayImports(srcRoot), []);
  });

  it('detects a wrong-way import', () => {
    const root = mkdtempSync(join(tmpdir(), 'skiff-layout-'));
    try {
      mkdirSync(join(root, 'controllers', 'job'), { recursive: true });
      writeFileSync(join(root, 'controllers', 'job', 'sync.ts'), `import { x } from '../../storage/interface.ts';\nexport * from '../../api/y.ts';\n`);
      assert.deepEqual(wrongWayImports(root), ['controllers/job/sync.ts imports ../../storage/interface.ts (controllers → storage)']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
