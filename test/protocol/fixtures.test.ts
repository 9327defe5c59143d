// Golden fixtures: every case is a before/after pair of a log around one change (files.md, Transitions),
// or a tail with its expected classification. `UPDATE=1 npm test` rewrites the expectations; review
// the diff before committing it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyLogChangeToFile, classifyTail, type LogChange } from '../../src/protocol/index.js';

const root = new URL('../../fixtures/', import.meta.url).pathname;
const update = process.env.UPDATE === '1';

function readCase(path: string): string {
  return readFileSync(path, 'utf8');
}

const transitions = join(root, 'transitions');
for (const name of readdirSync(transitions).sort()) {
  test(`transition fixture ${name}`, () => {
    const dir = join(transitions, name);
    const before = readCase(join(dir, 'before.md'));
    const changes = JSON.parse(readCase(join(dir, 'event.json'))) as LogChange | LogChange[];
    let after = before;
    for (const change of Array.isArray(changes) ? changes : [changes]) after = applyLogChangeToFile(after, change);
    const expectedPath = join(dir, 'after.md');
    if (update || !existsSync(expectedPath)) {
      assert.ok(update, `${expectedPath} is missing: run UPDATE=1 npm test and review it`);
      writeFileSync(expectedPath, after);
      return;
    }
    assert.equal(after, readCase(expectedPath));
  });
}

/** The part of a classification a fixture pins: what the daemon would do, and with which code. */
function summarize(raw: string) {
  const tail = classifyTail(raw);
  const base = { kind: tail.kind, hasFooter: tail.hasFooter, tailStart: tail.tailStart };
  if (tail.kind === 'empty') return base;
  const fences = tail.fences.map((fence) => ({ info: fence.info, closed: fence.closed, executable: fence.executable, lines: [fence.openLine, fence.closeLine], code: fence.code }));
  if (tail.kind !== 'request') return { ...base, fences };
  return { ...base, agent: tail.agent, header: tail.header?.line ?? null, fences };
}

const tails = join(root, 'tails');
for (const file of readdirSync(tails).filter((entry) => entry.endsWith('.md')).sort()) {
  test(`tail fixture ${file}`, () => {
    const actual = summarize(readCase(join(tails, file)));
    const expectedPath = join(tails, file.replace(/\.md$/, '.json'));
    if (update || !existsSync(expectedPath)) {
      assert.ok(update, `${expectedPath} is missing: run UPDATE=1 npm test and review it`);
      writeFileSync(expectedPath, JSON.stringify(actual, null, 2) + '\n');
      return;
    }
    assert.deepEqual(actual, JSON.parse(readCase(expectedPath)));
  });
}
