/**
 * `node:assert` for pages and workers: the maintained browser port of Node's assert (the `assert`
 * package), bundled with the little of `process` it reads. Served as /-daebug/node-assert.js.
 */
import assert from 'assert';

export default assert;
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
  strict,
  strictEqual,
  throws,
} = assert;
