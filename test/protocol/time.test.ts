import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatClock, formatDuration } from '../../src/protocol/index.js';

test('durations below 2000 ms are whole milliseconds, above are seconds with one decimal', () => {
  assert.equal(formatDuration(0), '0ms');
  assert.equal(formatDuration(4.4), '4ms');
  assert.equal(formatDuration(1999.4), '1999ms');
  assert.equal(formatDuration(1999.6), '2.0s');
  assert.equal(formatDuration(2480), '2.5s');
  assert.equal(formatDuration(60000), '60.0s');
  assert.equal(formatDuration(-5), '0ms');
  assert.equal(formatDuration(Number.NaN), '0ms');
});

test('clock times are 24 h HH:MM:SS in local time', () => {
  assert.equal(formatClock(new Date(2026, 10, 28, 8, 4, 9)), '08:04:09');
  assert.equal(formatClock(new Date(2026, 10, 28, 23, 59, 59)), '23:59:59');
});

test('byte counts use B, KiB and MiB', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(256 * 1024), '256 KiB');
  assert.equal(formatBytes(1536 * 1024), '1.5 MiB');
});
