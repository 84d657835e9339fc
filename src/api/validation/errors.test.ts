import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  duplicate, forbidden, formatFieldError, formatInvalidMessage, goLabelSelector, goQuote, invalid, notSupported, required,
  statusCauses, tooLong, typeInvalid,
} from './errors.ts';

test('error bodies follow apimachinery', () => {
  assert.equal(formatFieldError(required('spec.selector')), 'spec.selector: Required value');
  assert.equal(formatFieldError(required('metadata.name', 'name or generateName is required')), 'metadata.name: Required value: name or generateName is required');
  assert.equal(formatFieldError(invalid('spec.replicas', -1, 'must be greater than or equal to 0')), 'spec.replicas: Invalid value: -1: must be greater than or equal to 0');
  assert.equal(formatFieldError(invalid('metadata.name', 'My_App', 'bad')), 'metadata.name: Invalid value: "My_App": bad');
  assert.equal(formatFieldError(invalid('x', null, 'bad')), 'x: Invalid value: null: bad');
  assert.equal(formatFieldError(invalid('x', true, 'bad')), 'x: Invalid value: true: bad');
  assert.equal(
    formatFieldError(notSupported('spec.template.spec.restartPolicy', 'Never', ['Always'])),
    'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
  );
  assert.equal(formatFieldError(duplicate('spec.containers[1].name', 'app')), 'spec.containers[1].name: Duplicate value: "app"');
  assert.equal(formatFieldError(forbidden('metadata.namespace', 'not allowed on this type')), 'metadata.namespace: Forbidden: not allowed on this type');
  assert.equal(formatFieldError(tooLong('[]', 1048576)), '[]: Too long: may not be more than 1048576 bytes');
  assert.equal(
    formatFieldError(typeInvalid('spec.replicas', 'string', 'spec.replicas in body must be of type integer: "string"')),
    'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
  );
});

test('Go renderings of maps, selectors and strings', () => {
  assert.equal(formatFieldError(invalid('l', { b: '2', a: '1' }, 'm')), 'l: Invalid value: map[string]string{"a":"1", "b":"2"}: m');
  assert.equal(formatFieldError(invalid('l', ['x', 'y'], 'm')), 'l: Invalid value: []string{"x", "y"}: m');
  assert.equal(
    formatFieldError(invalid('spec.selector', goLabelSelector({ matchLabels: { app: 'web' } }), 'field is immutable')),
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  );
  assert.equal(goQuote('a"b\\c\nd'), '"a\\"b\\\\c\\nd"');
  assert.equal(goQuote('héllo'), '"héllo"');
});

test('the 422 message lists one error bare and several in brackets, without duplicates', () => {
  const one = [required('spec.selector')];
  assert.equal(formatInvalidMessage('Deployment.apps', 'web', one), 'Deployment.apps "web" is invalid: spec.selector: Required value');
  const two = [required('spec.selector'), required('spec.selector'), invalid('spec.replicas', -1, 'must be greater than or equal to 0')];
  assert.equal(
    formatInvalidMessage({ group: 'apps', kind: 'Deployment' }, 'web', two),
    'Deployment.apps "web" is invalid: [spec.selector: Required value, spec.replicas: Invalid value: -1: must be greater than or equal to 0]',
  );
  assert.equal(formatInvalidMessage({ group: '', kind: 'Pod' }, 'p', []), 'Pod "p" is invalid');
  assert.deepEqual(statusCauses(one), [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' }]);
});
