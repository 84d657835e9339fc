import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateProtoFacts, formatProtoFacts, FLAG_INLINE, FLAG_MAP } from './gen-proto-facts.ts';

const shared = fileURLToPath(new URL('../../shared/kubernetes-api/', import.meta.url));
const committed = fileURLToPath(new URL('../src/api/generated/proto-facts.json', import.meta.url));

test('proto facts: the committed file is what the generator makes from ../shared', { skip: !existsSync(shared) && 'no ../shared/kubernetes-api' }, () => {
  const facts = generateProtoFacts({ protoDir: `${shared}proto`, swaggerFile: `${shared}swagger.json` });
  assert.equal(formatProtoFacts(facts), readFileSync(committed, 'utf8'), 'run `npm run gen:proto` and commit the result');

  // Only stable versions.
  assert.ok(Object.keys(facts.messages).every((name) => !/\.v\d+(alpha|beta)\d*\./.test(name)));
  // JSON names corrected from swagger, inlined embedded structs found, map and list facts kept.
  const field = (message: string, name: string) => facts.messages[message].find((f) => f[1] === name);
  assert.ok(field('k8s.io.api.authentication.v1.BoundObjectReference', 'uid'));
  assert.equal(field('k8s.io.api.authentication.v1.BoundObjectReference', 'uID'), undefined);
  assert.ok(((field('k8s.io.api.core.v1.Volume', 'volumeSource')?.[3] ?? 0) & FLAG_INLINE) !== 0);
  assert.ok(((field('k8s.io.api.core.v1.Probe', 'handler')?.[3] ?? 0) & FLAG_INLINE) !== 0);
  assert.deepEqual(field('k8s.io.api.core.v1.Secret', 'data'), [2, 'data', 'bytes', FLAG_MAP, 'string']);
  assert.ok(facts.lists.includes('k8s.io.api.authentication.v1.ExtraValue'));
  assert.equal(facts.groups['apps'], 'k8s.io.api.apps');
  assert.equal(facts.groups[''], 'k8s.io.api.core');
});
