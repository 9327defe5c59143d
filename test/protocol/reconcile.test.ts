// One way to reconcile a version of a log the daemon did not write (reconcile.ts): examples for each
// incident of the soak that found the old "closest version" guess wrong, and a property test over
// random histories of daemon writes and agent edits, the daemon played by the real transitions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FOOTER, acceptChunk, acceptNote, applyLogChange, finishJob, readLayout, writeBackground, type AcceptedRequest } from '../../src/protocol/index.js';
import { reconcile } from '../../src/protocol/reconcile.js';
import { footerTag, withFooterTag, withoutFooterTag } from '../../src/protocol/log-text.js';
import { createKeptVersions } from '../../src/store/versions.js';

const REALM = 'tab';
const head = `# ${REALM}\n> daebug log: guide\n\n`;
const request = (n: number, header = true) => `${header ? `### 🗣️agent at 08:00:0${n}\n` : ''}\`\`\`js\nagent(${n})\n\`\`\`\n`;
const marker = (n: number) => `#### ⏳${REALM} at 08:00:0${n}\nqueued\n`;
const reply = (n: number) => `#### 👍${REALM} at 08:00:0${n} (3ms)\n\`\`\`JSON\n"r${n}"\n\`\`\`\n\n`;

/** A log of the requests given, each answered or waiting. */
const log = (...parts: string[]) => head + parts.join('') + FOOTER;

test('a copy made before one, two and three later requests keeps its edit and every request with its reply', () => {
  for (const later of [1, 2, 3]) {
    for (const edit of ['mid', 'end'] as const) {
      for (const header of [true, false]) {
        const base = log(request(0), reply(0));
        const answered = Array.from({ length: later }, (_, n) => request(n + 1, header) + reply(n + 1));
        const ours = log(request(0), reply(0), ...answered);
        const copy = edit === 'mid' ? base.replace('agent(0)\n```\n', 'agent(0)\n```\nthe agent\'s edit\n') : `${base}a trailing note\n`;
        const merged = reconcile(base, ours, copy);
        const what = `${later} later, edit ${edit}, header ${header}:\n${merged}`;
        for (let n = 0; n <= later; n++) assert.ok(merged.includes(request(n, header || n === 0) + reply(n).trimEnd()), `request ${n} with its reply under it; ${what}`);
        assert.equal(merged.split("the agent's edit").length - 1, edit === 'mid' ? 1 : 0, what);
        if (edit === 'end') assert.ok(readLayout(merged).tail.includes('a trailing note'), `the note is still the tail; ${what}`);
        assert.ok(!readLayout(merged).tail.includes('```'), `no request is back in the tail; ${what}`);
      }
    }
  }
});

test('a copy of the version that read a request (still below the footer) does not bring it back as a new one', () => {
  const read = `${log(request(0), reply(0))}${request(1, false)}`;
  const ours = log(request(0), reply(0), request(1, false), marker(1), '\n');
  const merged = reconcile(read, ours, `${read}a note after it\n`);
  assert.equal(merged.split('agent(1)').length - 1, 1, merged);
  assert.ok(merged.includes(`${request(1, false)}${marker(1)}`), merged);
  assert.equal(readLayout(merged).tail.trim(), 'a note after it');
});

test('a queued request deleted in place with its marker stays deleted', () => {
  const ours = log(request(0), reply(0), request(1), marker(1), '\n');
  const deleted = log(request(0), reply(0));
  // Made from the newest version: the base is the newest itself.
  assert.equal(reconcile(ours, ours, deleted), deleted);
  // Made from the newest version while the daemon wrote a background section since.
  const background = `#### 📣${REALM} background at 08:00:09\n##### ☑️console.log at 08:00:09\n\`\`\`Text console.log\nhi\n\`\`\`\n\n`;
  const later = log(request(0), reply(0), request(1), marker(1), '\n', background);
  const merged = reconcile(ours, later, deleted);
  assert.ok(!merged.includes('agent(1)') && !merged.includes('queued'), merged);
  assert.ok(merged.includes('console.log'), 'the section written since stays');
});

test('a section the copy removed from its base stays removed; one written since comes back', () => {
  const base = log(request(0), reply(0), request(1), reply(1));
  const ours = log(request(0), reply(0), request(1), reply(1), request(2), reply(2));
  const copy = log(request(0), request(1), reply(1));
  const merged = reconcile(base, ours, copy);
  assert.ok(!merged.includes('"r0"'), merged);
  assert.ok(merged.includes(request(2) + reply(2)), merged);
});

test('a copy of unknown base is the agent\'s edit: every section whose request is still there stays under it', () => {
  const ours = log(request(0), reply(0), request(1), reply(1));
  // The copy lost the replies and has request 1 below its footer, as before it was accepted.
  const copy = `${head}${request(0)}\n${FOOTER}${request(1, false)}`;
  const merged = reconcile(ours, ours, copy);
  assert.ok(merged.includes('agent(0)\n```\n' + reply(0)), merged);
  assert.ok(merged.includes('agent(1)\n```\n' + reply(1).trimEnd()), merged);
  assert.ok(!readLayout(merged).tail.includes('agent('), merged);
});

test('an unchanged copy, or the newest itself, gives the newest', () => {
  const base = log(request(0), reply(0));
  const ours = log(request(0), reply(0), request(1), reply(1));
  assert.equal(reconcile(base, ours, base), ours);
  assert.equal(reconcile(base, ours, ours), ours);
});

// --- random histories -------------------------------------------------------------------------

type Action =
  | { type: 'append'; header: boolean; note: boolean }
  | { type: 'finish' }
  | { type: 'background' }
  | { type: 'edit'; at: number }
  | { type: 'delete'; which: number }
  | { type: 'copy'; from: number; at: number; edit: boolean };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('append' as const), header: fc.boolean(), note: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('finish' as const) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('background' as const) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('edit' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('delete' as const), which: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('copy' as const), from: fc.nat(), at: fc.nat(), edit: fc.boolean() }) },
);

/** Line starts in a log where an agent's edit can go: before a request header or fence of its own, before the footer, at the end. */
function editPoints(text: string): number[] {
  const points: number[] = [];
  const footer = readLayout(text).footer;
  for (let at = 0; at < text.length; at = text.indexOf('\n', at) + 1 || text.length) {
    const line = text.slice(at, text.indexOf('\n', at) === -1 ? text.length : text.indexOf('\n', at));
    if (line.startsWith('### 🗣️') || line === '```js' || (footer && at === footer.start)) points.push(at);
  }
  return [...points, text.length];
}

const PATH = 'daebug/tab.md';

/**
 * The daemon played by the real transitions and the store's own choice of base (versions.ts): each
 * write tagged, each version an agent writes reconciled or taken as it is, as the store does.
 */
class Simulation {
  text = '';
  /** Every version on disk so far, the daemon's and the agent's, oldest first: an agent may copy any. */
  readonly versions: string[] = [];
  readonly kept = createKeptVersions();
  private tags = 0;
  readonly queue: AcceptedRequest[] = [];
  readonly runs = new Map<string, number>();
  readonly alive = new Set<number>();
  readonly deleted = new Set<number>();
  /** Requests the agent deleted that came back in a version taken as its own text: they stand, never run again. */
  readonly dormant = new Set<number>();
  readonly edits = new Set<string>();
  private next = 0;
  private clock = 10;

  constructor() {
    this.write(head + FOOTER);
  }

  /** A version the agent writes: reconciled when it is a copy of an older one, then read by the daemon. */
  agentWrites(text: string): void {
    const bytes = Buffer.from(text);
    const reconciled = this.kept.reconcile(PATH, text, bytes);
    if (reconciled === null) this.kept.read(PATH, bytes);
    // A copy written back is not copied again (a buffer saved twice: the stated limit).
    if (reconciled === null) this.versions.push(text);
    this.text = text;
    // The store writes a reconciled version even when the change itself changes nothing.
    if (reconciled !== null) this.write(reconciled, true);
    this.sync();
  }

  private at(): string {
    this.clock++;
    return `08:${String(Math.floor(this.clock / 60) % 60).padStart(2, '0')}:${String(this.clock % 60).padStart(2, '0')}`;
  }

  /** The daemon reads the agent's version: accepts its tail, moves a note; writes when anything changed. */
  sync(): void {
    const accepted = acceptChunk(this.text, REALM, this.at());
    let text = accepted.text;
    for (const taken of accepted.requests) {
      this.runs.set(taken.code, (this.runs.get(taken.code) ?? 0) + 1);
      this.queue.push(taken);
    }
    if (accepted.tail === 'note') text = acceptNote(text, REALM);
    this.write(text);
  }

  write(text: string, always = false): void {
    if (!always && withoutFooterTag(text) === withoutFooterTag(this.text)) return;
    const tag = (++this.tags).toString(36);
    this.text = withFooterTag(text, tag);
    this.versions.push(this.text);
    this.kept.wrote(PATH, Buffer.from(this.text), this.text === text ? null : tag);
  }

  run(action: Action): void {
    switch (action.type) {
      case 'append': {
        const n = this.next++;
        this.alive.add(n);
        if (action.note) this.edits.add(`note ${n}`);
        return this.agentWrites(`${this.text}${action.header ? '### 🗣️agent\n' : ''}\`\`\`js\nagent(${n})\n\`\`\`\n${action.note ? `note ${n}\n` : ''}`);
      }
      case 'finish': {
        const job = this.queue.shift();
        if (!job) return;
        const done = finishJob(this.text, job, { outcome: { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(`r${job.code.slice(6, -1)}`) } }, events: [], at: this.at(), durationMs: 3 });
        assert.equal(done.placement, 'marker', `a reply takes its own marker's place:\n${this.text}`);
        return this.write(done.text);
      }
      case 'background':
        return this.write(writeBackground(this.text, REALM, [{ source: 'console.log', at: this.at(), lang: 'Text', text: `bg ${this.clock}` }], this.at()));
      case 'edit': {
        const points = editPoints(this.text);
        const at = points[action.at % points.length]!;
        const line = `edit ${this.clock++}\n`;
        this.edits.add(line.trim());
        return this.agentWrites(this.text.slice(0, at) + line + this.text.slice(at));
      }
      case 'delete': {
        const queued = this.queue.filter((job) => this.text.includes(`${job.fence}\n#### ⏳`));
        const job = queued[action.which % Math.max(1, queued.length)];
        if (!job) return;
        const start = this.text.indexOf(`${job.fence}\n#### ⏳`);
        const end = this.text.indexOf('queued\n', start) + 'queued\n'.length;
        this.queue.splice(this.queue.indexOf(job), 1);
        const n = Number(job.code.slice(6, -1));
        this.alive.delete(n);
        this.deleted.add(n);
        this.agentWrites(this.text.slice(0, start) + this.text.slice(end));
        // The daemon cancels the job it no longer finds, and says so.
        return this.write(applyLogChange(this.text, { type: 'cancel', realm: REALM, cancelled: [job], remaining: this.queue, at: this.at() }));
      }
      case 'copy': {
        if (this.versions.length < 2) return;
        const base = this.versions[action.from % (this.versions.length - 1)]!;
        const points = editPoints(base);
        const at = points[action.at % points.length]!;
        const line = `copy ${this.clock++}\n`;
        if (action.edit) this.edits.add(line.trim());
        const copy = action.edit ? base.slice(0, at) + line + base.slice(at) : base;
        // A version made from the daemon's last write is the agent's own edit, taken as it is: what it
        // lacks of the agent's text since that write, the agent removed (the stated rule).
        // One naming no version the daemon still keeps is the agent's edit too (the documented limit):
        // the agent's text is what it holds.
        const tag = footerTag(copy);
        if (tag === this.kept.lastTag(PATH) || tag === null || this.kept.baseOf(PATH, tag, copy) === undefined) this.takenAsItIs(copy);
        return this.agentWrites(copy);
      }
    }
  }

  /** The oracle after a version taken as the agent's own text: what it lacks, the agent removed. */
  private takenAsItIs(copy: string): void {
    for (const edit of this.edits) if (!copy.includes(`\n${edit}\n`)) this.edits.delete(edit);
    for (const n of this.deleted) if (copy.includes(`\nagent(${n})\n`)) this.dormant.add(n);
    for (const n of this.dormant) if (!copy.includes(`\nagent(${n})\n`)) this.dormant.delete(n);
    for (const n of this.alive) {
      if (copy.includes(`\nagent(${n})\n`)) continue;
      this.alive.delete(n);
      this.deleted.add(n);
      const job = this.queue.findIndex((queued) => queued.code === `agent(${n})`);
      if (job !== -1) this.queue.splice(job, 1);
    }
  }

  check(): void {
    const { tail } = readLayout(this.text);
    assert.ok(!/```js\n/.test(tail), `no request waits in the tail after a sync:\n${this.text}`);
    const order: number[] = [];
    for (const match of this.text.matchAll(/^agent\((\d+)\)$/gm)) order.push(Number(match[1]));
    assert.deepEqual(order, [...this.alive, ...this.dormant].sort((a, b) => a - b), `every request the agent left stands once, in order:\n${this.text}`);
    for (const [code, count] of this.runs) assert.equal(count, 1, `${code} ran once`);
    for (const n of this.alive) assert.equal(this.runs.get(`agent(${n})`), 1, `agent(${n}) ran`);
    for (const line of this.edits) assert.equal(this.text.split(`\n${line}\n`).length - 1, 1, `"${line}" stands once:\n${this.text}`);
    for (const match of this.text.matchAll(/^```js\nagent\((\d+)\)\n```\n(#### (?:👍|⏳)[^\n]*\n(?:```JSON\n"r(\d+)"|queued))?/gm)) {
      const n = match[1]!;
      assert.ok(match[2] !== undefined || this.deleted.has(Number(n)), `agent(${n}) has its marker or reply under it:\n${this.text}`);
      if (match[3] !== undefined) assert.equal(match[3], n, `the reply under agent(${n}) is its own`);
    }
    assert.equal((this.text.match(/^"r\d+"$/gm) ?? []).length, new Set(this.text.match(/^"r\d+"$/gm) ?? []).size, 'no reply twice');
  }
}

test('random histories of daemon writes and agent edits: every agent line once and in order, every request run once, every reply under its own request', () => {
  fc.assert(
    fc.property(fc.array(actionArb, { minLength: 15, maxLength: 60 }), (actions) => {
      const simulation = new Simulation();
      for (const action of actions) {
        simulation.run(action);
        simulation.check();
      }
    }),
    { numRuns: 500 },
  );
});
