/**
 * `node:assert/strict` for pages and workers: the strict variant of node-assert.ts. The names are
 * listed again because ES module exports are static: the same names, bound to the strict functions.
 */
import assert from 'assert';

const strict = assert.strict;
export default strict;
export const {
  AssertionError,
  deepEqual,
  deepStrictEqual,
  doesNotMatch,
  doesNotReject,
  doesNotThrow,
  equal,
  fail,
  ifError,
  match,
  notDeepEqual,
  notDeepStrictEqual,
  notEqual,
  notStrictEqual,
  ok,
  rejects,
  strictEqual,
  throws,
} = strict;
