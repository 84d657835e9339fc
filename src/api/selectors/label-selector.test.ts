import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LabelSelector, everything, isEmpty, matches, newRequirement, nothing, parseLabelSelector, selectorFromLabelSelector,
  selectorFromSet,
} from './label-selector.ts';
import { SelectorError } from './errors.ts';

const parse = (text: string) => parseLabelSelector(text);
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SelectorError, `expected SelectorError, got ${String(err)}`);
    assert.equal(err.code, 400);
    return err.message;
  }
  assert.fail('expected an error');
};

test('parses every operator form into the canonical string', () => {
  const cases: Array<[string, string]> = [
    ['a=b', 'a=b'],
    ['a==b', 'a==b'],
    ['a!=b', 'a!=b'],
    ['a in (y,x)', 'a in (x,y)'],
    ['a notin (x)', 'a notin (x)'],
    ['a', 'a'],
    ['!a', '!a'],
    ['a>5', 'a>5'],
    ['a<5', 'a<5'],
    // whitespace tolerant; requirements sorted by key
    ['  z = 1 ,  app in ( web , api ) , !legacy ', 'app in (api,web),!legacy,z=1'],
    // empty values and duplicates, as upstream: "(x,,x)" is {"", x}
    ['x in (foo,,baz),y,z notin ()', 'x in (,baz,foo),y,z notin ()'],
    ['a=', 'a='],
    // keywords are plain values in value position
    ['in in (in,notin)', 'in in (in,notin)'],
    ['example.com/tier=front-end', 'example.com/tier=front-end'],
    ['', ''],
  ];
  for (const [input, canonical] of cases) assert.equal(parse(input).toString(), canonical, input);
});

test('matches labels like upstream', () => {
  const labels = { app: 'web', tier: 'front', replicas: '3' };
  const yes = ['app=web', 'app==web', 'app!=db', 'app in (web,db)', 'app notin (db)', 'app', '!missing',
    'missing!=x', 'missing notin (x)', 'replicas>2', 'replicas<4', '', 'app=web,tier=front'];
  const no = ['app=db', 'app!=web', 'app in (db)', 'app notin (web)', 'missing', '!app', 'missing=x',
    'missing in (x)', 'replicas>3', 'replicas<3', 'app>1', 'app=web,tier=back'];
  for (const s of yes) assert.equal(matches(parse(s), labels), true, s);
  for (const s of no) assert.equal(matches(parse(s), labels), false, s);
  assert.equal(parse('a').matches(undefined), false);
  assert.equal(parse('!a').matches(null), true);
  // "a=" selects objects whose label a is empty, not those without it
  assert.equal(parse('a=').matches({ a: '' }), true);
  assert.equal(parse('a=').matches({}), false);
});

test('isEmpty, everything and nothing', () => {
  assert.equal(isEmpty(parse('')), true);
  assert.equal(isEmpty(parse('a')), false);
  assert.equal(everything.matches({ a: 'b' }), true);
  assert.equal(nothing.matches({}), false);
  assert.equal(nothing.isEmpty(), false);
  assert.equal(nothing.toString(), '');
});

test('parse errors carry upstream wording', () => {
  const cases: Array<[string, string]> = [
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a in x', "unable to parse requirement: found 'x' expected: '('"],
    ['a in (x', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in (x y)', "unable to parse requirement: found 'y', expected: ',' or ')'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['a,', "found '', expected: identifier after ','"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['/a', 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'],
    ['a>x', 'unable to parse requirement: values[0]: Invalid value: "x": for \'Gt\', \'Lt\' operators, the value must be an integer'],
    ['a=' + 'v'.repeat(64), `unable to parse requirement: values[0][a]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 bytes`],
  ];
  for (const [input, message] of cases) assert.equal(errorOf(() => parse(input)), message, input);

  assert.match(
    errorOf(() => parse('a=-x')),
    /^unable to parse requirement: values\[0\]\[a\]: Invalid value: "-x": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '\.', and must start and end with an alphanumeric character \(e\.g\. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '\(\(\[A-Za-z0-9\]\[-A-Za-z0-9_\.\]\*\)\?\[A-Za-z0-9\]\)\?'\)$/,
  );
  assert.match(errorOf(() => parse('k/l/m')), /<nil>: Invalid value: "k\/l\/m": a valid label key must consist of/);
  assert.match(errorOf(() => parse('-bad')), /<nil>: Invalid value: "-bad": name part must consist of alphanumeric/);
  assert.match(errorOf(() => parse('Bad_Prefix/x')), /prefix part a lowercase RFC 1123 subdomain/);
  assert.match(errorOf(() => parse(`${'k'.repeat(64)}=v`)), /name part must be no more than 63 bytes/);
});

test('API object form: matchLabels and matchExpressions', () => {
  const sel = selectorFromLabelSelector({
    matchLabels: { tier: 'front', app: 'web' },
    matchExpressions: [
      { key: 'env', operator: 'In', values: ['prod', 'dev'] },
      { key: 'legacy', operator: 'DoesNotExist' },
      { key: 'zone', operator: 'NotIn', values: ['b'] },
      { key: 'team', operator: 'Exists' },
    ],
  });
  assert.equal(sel.toString(), 'app=web,env in (dev,prod),!legacy,team,tier=front,zone notin (b)');
  assert.equal(sel.matches({ app: 'web', tier: 'front', env: 'dev', team: 'x', zone: 'a' }), true);
  assert.equal(sel.matches({ app: 'web', tier: 'front', env: 'dev', team: 'x', legacy: '1' }), false);
  // absent selector selects nothing, empty selects everything
  assert.equal(selectorFromLabelSelector(undefined).matches({}), false);
  assert.equal(selectorFromLabelSelector({}).matches({ any: 'thing' }), true);
  assert.equal(selectorFromLabelSelector({ matchLabels: {}, matchExpressions: [] }).isEmpty(), true);
});

test('API object form errors', () => {
  assert.equal(
    errorOf(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] })),
    '"Gt" is not a valid label selector operator',
  );
  assert.equal(
    errorOf(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })),
    "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
  );
  assert.equal(
    errorOf(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] })),
    'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
  );
  // several problems are reported together, bracketed
  const both = errorOf(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'b@d', operator: 'In' }] }));
  assert.match(both, /^\[key: Invalid value: "b@d": name part must consist of .*, values: Invalid value: null: .*\]$/);
  assert.match(errorOf(() => selectorFromLabelSelector({ matchLabels: { a: 'bad value' } })), /^values\[0\]\[a\]: Invalid value: "bad value"/);
});

test('helpers: selectorFromSet, requiresExactMatch, add, newRequirement', () => {
  const sel = selectorFromSet({ b: '2', a: '1' });
  assert.equal(sel.toString(), 'a=1,b=2');
  assert.equal(sel.requiresExactMatch('b'), '2');
  assert.equal(parse('a in (x)').requiresExactMatch('a'), 'x');
  assert.equal(parse('a in (x,y)').requiresExactMatch('a'), undefined);
  assert.equal(parse('a!=x').requiresExactMatch('a'), undefined);
  assert.equal(sel.add(newRequirement('c', 'exists', [])).toString(), 'a=1,b=2,c');
  assert.equal(new LabelSelector().isEmpty(), true);
  assert.throws(() => newRequirement('a', '=', ['x', 'y']), /exact-match compatibility requires one single value/);
});
