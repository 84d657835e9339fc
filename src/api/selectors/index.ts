// Label and field selectors: parsing, the API object form, matching.
export { SelectorError } from './errors.ts';
export {
  LabelSelector, everything, nothing, parseLabelSelector, selectorFromLabelSelector, selectorFromSet,
  newRequirement, matches, isEmpty,
  type LabelOperator, type LabelRequirement, type LabelSelectorObject, type Labels,
} from './label-selector.ts';
export { isLabelKey, isLabelValue, isDNS1123Subdomain } from './label-syntax.ts';
export {
  FieldSelector, everythingFields, nothingFields, parseFieldSelector, fieldSelectorFromSet,
  escapeFieldValue, unescapeFieldValue, type FieldRequirement, type FieldOperator, type Fields,
} from './field-selector.ts';
export {
  fieldSelectorMatcher, supportedFieldLabels, objectFields, type FieldReader, type FieldLabelOptions,
} from './field-labels.ts';
