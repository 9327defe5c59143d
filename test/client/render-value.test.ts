// Value rendering for result blocks, run in Node; DOM nodes are covered by the browser tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect, renderConsoleArgs, renderError, renderValue } from '../../src/client/render-value.js';

test('values JSON shows faithfully are JSON, pretty-printed', () => {
  assert.deepEqual(renderValue({ a: [1, 'x'], b: null, c: true }), { lang: 'JSON', text: '{\n  "a": [\n    1,\n    "x"\n  ],\n  "b": null,\n  "c": true\n}' });
  assert.deepEqual(renderValue(10), { lang: 'JSON', text: '10' });
  assert.deepEqual(renderValue('one line'), { lang: 'JSON', text: '"one line"' });
  assert.deepEqual(renderValue({ nested: 'has\nbreaks' }), { lang: 'JSON', text: '{\n  "nested": "has\\nbreaks"\n}' });
});

test('a string with line breaks is written as is', () => {
  assert.deepEqual(renderValue('line one\nline two'), { lang: 'Text', text: 'line one\nline two' });
});

test('values JSON would change are inspected', () => {
  const text = (value: unknown) => {
    const rendered = renderValue(value);
    assert.equal(rendered.lang, 'Text', `${String(rendered.text)} should not be JSON`);
    return rendered.text;
  };
  assert.equal(text(undefined), 'undefined');
  assert.equal(text(Number.NaN), 'NaN');
  assert.equal(text(-0), '-0');
  assert.equal(text(-Infinity), '-Infinity');
  assert.equal(text(10n), '10n');
  assert.equal(text(Symbol('s')), 'Symbol(s)');
  assert.equal(text(function named() {}), '[Function: named]');
  assert.equal(text(async () => {}), '[AsyncFunction (anonymous)]');
  assert.equal(text(class Shape {}), '[class Shape]');
  assert.equal(text({ a: undefined }), '{ a: undefined }');
  assert.equal(text([1, , 3]), '[ 1, <1 empty item>, 3 ]');
  assert.equal(text(new Map<string, unknown>([['a', 1], ['b', { c: 2 }]])), "Map(2) { 'a' => 1, 'b' => { c: 2 } }");
  assert.equal(text(new Set([1, 'two'])), "Set(2) { 1, 'two' }");
  assert.equal(text(new Date(Date.UTC(2026, 10, 28, 8, 0, 0))), '2026-11-28T08:00:00.000Z');
  assert.equal(text(/a+b/gi), '/a+b/gi');
  assert.equal(text(new Uint8Array([1, 2, 3])), 'Uint8Array(3) [ 1, 2, 3 ]');
  assert.equal(text(Promise.resolve(1)), 'Promise { <state unknown> }');
  class Point {
    constructor(public x: number, public y: number) {}
  }
  assert.equal(text(new Point(1, 2)), 'Point { x: 1, y: 2 }');
  assert.equal(inspect(Object.assign(Object.create(null), { a: 1 })), '[Object: null prototype] { a: 1 }');
  assert.equal(text({ [Symbol('k')]: 1, 'odd-key': 2 }), "{ 'odd-key': 2, [Symbol(k)]: 1 }");
});

test('a circular value is marked, never an error', () => {
  const value: { name: string; self?: unknown; list: unknown[] } = { name: 'loop', list: [] };
  value.self = value;
  value.list.push(value);
  assert.equal(renderValue(value).text, "<ref *1> { name: 'loop', list: [ [Circular *1] ], self: [Circular *1] }");
});

test('getters are shown, not invoked', () => {
  let calls = 0;
  const value = Object.defineProperty({ plain: 1 }, 'lazy', { enumerable: true, get: () => ++calls });
  assert.equal(renderValue(value).text, '{ plain: 1, lazy: [Getter] }');
  assert.equal(calls, 0);
});

test('depth, long arrays and long strings are cut with a count of what was left out', () => {
  assert.equal(inspect({ a: { b: { c: { d: { e: { f: 1 } } } } } }), '{ a: { b: { c: { d: { e: [Object] } } } } }');
  const long = inspect(Array.from({ length: 150 }, (_, index) => index));
  assert.match(long, /^\[\n {2}0, 1, 2, 3, /);
  assert.match(long, /98, 99,\n {2}\.\.\. 50 more items\n\]$/);
  assert.equal(inspect('x'.repeat(10_005)), `'${'x'.repeat(10_000)}'... 5 more characters`);
});

test('long renderings break over lines with two-space indents', () => {
  const text = inspect({ first: 'a'.repeat(40), second: 'b'.repeat(40) });
  assert.equal(text, `{\n  first: '${'a'.repeat(40)}',\n  second: '${'b'.repeat(40)}'\n}`);
});

test('errors show their stack and their causes; other thrown values are Uncaught', () => {
  const inner = new TypeError('Failed to fetch');
  const outer = new Error('cart refresh failed', { cause: inner });
  const text = renderError(outer);
  assert.match(text, /^Error: cart refresh failed\n {4}at /);
  assert.match(text, /\nCaused by: TypeError: Failed to fetch\n {4}at /);
  assert.equal(renderError({ code: 42 }), 'Uncaught { code: 42 }');
  assert.equal(renderError('oops'), "Uncaught 'oops'");
  assert.equal(renderError(undefined), 'Uncaught undefined');
});

test('console arguments print like the console, with printf substitutions', () => {
  assert.deepEqual(renderConsoleArgs(['cart:', 'refreshed']), { lang: 'Text', text: 'cart: refreshed' });
  assert.deepEqual(renderConsoleArgs([{ items: 3 }]), { lang: 'JSON', text: '{\n  "items": 3\n}' });
  assert.deepEqual(renderConsoleArgs(['%s has %d items %c!', 'cart', 3, 'color: red']), { lang: 'Text', text: 'cart has 3 items !' });
  assert.deepEqual(renderConsoleArgs(['value', { a: 1 }, [2]]), { lang: 'Text', text: 'value { a: 1 } [ 2 ]' });
  assert.equal(renderConsoleArgs([new Error('boom')]).lang, 'Error');
});
