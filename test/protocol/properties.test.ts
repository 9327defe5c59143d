// Property-based tests: random agent chunks and random event sequences, checked against the
// invariants of files.md. Each property runs at least 1,000 times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  FOOTER,
  FOOTER_PROMPT,
  acceptChunk,
  acceptNote,
  classifyTail,
  decodeLog,
  encodeLog,
  finishJob,
  startJob,
  streamJobEvents,
  tickJob,
  writeBackground,
  writeNotice,
  writeTestProgress,
  type AcceptedRequest,
  type JobOutcome,
  type LogEvent,
} from '../../src/protocol/index.js';

const RUNS = 1000;
const REALM = 'r1';

const word = fc.constantFrom('cart', 'total', 'item', 'fetch', '42', 'x', 'é', '日本', '`', '#', '>', '-', '*', '~', '{', '}', '(', ')', ';', '1.', '+');
const textLine = fc.array(word, { minLength: 1, maxLength: 5 }).map((words) => words.join(' '));
const codeLine = fc.oneof(textLine, fc.constantFrom('const a = 1;', 'await x', 'a + 1', '`${a}`', '"```"', '  nested();'));

/** A fenced block as an agent might write it: any fence style, info string and indentation. */
const fenceArb = fc
  .record({
    marker: fc.constantFrom('```', '~~~', '````'),
    info: fc.constantFrom('js', '', 'javascript', 'JS', 'mjs', 'json', 'ts', 'text', 'js title="t"'),
    indent: fc.constantFrom('', '  ', 'list'),
    code: fc.array(codeLine, { minLength: 1, maxLength: 4 }),
  })
  .map(({ marker, info, indent, code }) => {
    const open = indent === 'list' ? '- ' : indent;
    const inner = indent === 'list' ? '  ' : indent;
    return [`${open}${marker}${info}`, ...code.map((line) => inner + line), `${inner}${marker}`];
  });

const headerArb = fc.option(
  fc.constantFrom('### 🗣️claude to r1 at 08:48:00', '### 🗣️gpt to r1', '> **bard** to r1 at 09:00:01'),
  { nil: undefined },
);

/** An agent chunk: optional header, then commentary, blank lines and fences in any order. */
const chunkArb = fc
  .record({
    header: headerArb,
    parts: fc.array(fc.oneof(textLine.map((line) => [line]), fc.constant(['']), fenceArb), { minLength: 1, maxLength: 6 }),
  })
  .map(({ header, parts }) => [...(header ? [header] : []), ...parts.flat()]);

const eventArb: fc.Arbitrary<LogEvent> = fc.record({
  source: fc.constantFrom('console.log', 'console.warn', 'console.error', 'console.info', 'window.onerror', 'unhandledrejection'),
  at: fc.constant('08:48:01'),
  lang: fc.constantFrom('Text', 'JSON', 'Error'),
  text: fc.oneof(textLine, fc.constantFrom('```\nfenced\n```', 'multi\nline', '')),
});

const outcomeArb: fc.Arbitrary<JobOutcome> = fc.oneof(
  fc.record({ kind: fc.constant('value' as const), value: fc.record({ lang: fc.constantFrom('JSON' as const, 'Text' as const), text: fc.oneof(textLine, fc.constantFrom('````\nx\n````', '{\n  "a": 1\n}')) }) }),
  fc.record({ kind: fc.constant('error' as const), error: textLine }),
  fc.record({ kind: fc.constant('timeout' as const), timeoutMs: fc.constant(60000) }),
);

type Action =
  | { type: 'append'; lines: string[]; split: number }
  | { type: 'start' }
  | { type: 'tick'; seconds: number }
  | { type: 'stream'; events: LogEvent[] }
  | { type: 'finish'; outcome: JobOutcome; events: LogEvent[] }
  | { type: 'background'; events: LogEvent[] }
  | { type: 'notice' }
  | { type: 'tests'; done: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('append' as const), lines: chunkArb, split: fc.nat() }) },
  { weight: 3, arbitrary: fc.constant({ type: 'start' as const }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('tick' as const), seconds: fc.nat(120) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('stream' as const), events: fc.array(eventArb, { maxLength: 13 }) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('finish' as const), outcome: outcomeArb, events: fc.array(eventArb, { maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('background' as const), events: fc.array(eventArb, { minLength: 1, maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'notice' as const }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('tests' as const), done: fc.nat(10) }) },
);

/** A log driven by a simulated agent and daemon; records what the agent wrote and which jobs exist. */
class Simulation {
  text = '';
  agentLines: string[] = [];
  jobs: AcceptedRequest[] = [];
  finished = 0;
  started = false;
  /** Set by every daemon transition; the agent's own appends clear it. */
  daemonWroteLast = false;

  /** The agent appends text; the daemon reacts as it would to the file event. */
  append(lines: string[], split: number): void {
    const text = lines.join('\n') + '\n';
    const cut = lines.length > 1 ? text.indexOf('\n', split % text.length) + 1 : text.length;
    for (const piece of [text.slice(0, cut), text.slice(cut)]) {
      if (piece === '') continue;
      this.text += piece;
      this.daemonWroteLast = false;
      this.react();
    }
    this.agentLines.push(...lines.filter((line) => line.trim() !== ''));
  }

  react(): void {
    const before = this.text;
    this.daemon();
    if (this.text !== before) this.daemonWroteLast = true;
  }

  daemon(): void {
    const kind = classifyTail(this.text).kind;
    if (kind === 'request') {
      const accepted = acceptChunk(this.text, REALM, '08:48:00');
      this.text = accepted.text;
      this.jobs.push(...accepted.requests);
    } else if (kind === 'note') {
      this.text = acceptNote(this.text, REALM);
    }
  }

  get head(): AcceptedRequest | undefined {
    return this.jobs[this.finished];
  }

  apply(action: Action): void {
    const before = this.text;
    this.applyAction(action);
    if (action.type !== 'append' && this.text !== before) this.daemonWroteLast = true;
  }

  applyAction(action: Action): void {
    const head = this.head;
    switch (action.type) {
      case 'append':
        return this.append(action.lines, action.split);
      case 'start':
        if (head && !this.started) {
          this.text = mustFind(startJob(this.text, head, '08:48:01'));
          this.started = true;
        }
        return;
      case 'tick':
        if (head && this.started) this.text = mustFind(tickJob(this.text, head, action.seconds));
        return;
      case 'stream':
        if (head && this.started) this.text = mustFind(streamJobEvents(this.text, head, action.events));
        return;
      case 'finish':
        if (head && this.started) this.finish(action.outcome, action.events);
        return;
      case 'background':
        if (!this.started) this.text = writeBackground(this.text, REALM, action.events, '08:49:00');
        return;
      case 'notice':
        this.text = writeNotice(this.text, REALM, 'something happened\nover two lines', '08:49:00');
        return;
      case 'tests':
        this.text = writeTestProgress(this.text, REALM, { done: action.done, total: 10, passed: action.done, failed: 0, skipped: 0, durationMs: 5 });
        return;
    }
  }

  finish(outcome: JobOutcome, events: LogEvent[] = []): void {
    const result = finishJob(this.text, this.head!, { outcome, events, at: '08:48:02', durationMs: 3 });
    assert.equal(result.placement, 'marker', 'a job whose marker is intact is answered in place');
    this.text = result.text;
    this.finished += 1;
    this.started = false;
  }

  /** Runs every job still queued to its end. */
  drain(): void {
    while (this.head) {
      if (!this.started) this.apply({ type: 'start' });
      this.finish({ kind: 'value', value: { lang: 'JSON', text: '1' } });
    }
  }
}

function mustFind(result: { text: string; found: boolean }): string {
  assert.ok(result.found, 'the running job has its marker');
  return result.text;
}

function assertSubsequence(lines: readonly string[], wanted: readonly string[]): void {
  let at = 0;
  for (const line of lines) if (at < wanted.length && line === wanted[at]) at += 1;
  assert.equal(at, wanted.length, `agent line missing or out of order: ${JSON.stringify(wanted[at])}`);
}

function footerCount(text: string): number {
  return text.split('\n').filter((line) => line.startsWith(FOOTER_PROMPT)).length;
}

test('every line an agent wrote is still present and in order after any sequence of transitions', () => {
  fc.assert(
    fc.property(fc.array(actionArb, { maxLength: 14 }), (actions) => {
      const sim = new Simulation();
      for (const action of actions) {
        sim.apply(action);
        assertSubsequence(sim.text.split('\n'), sim.agentLines);
      }
      sim.drain();
      assertSubsequence(sim.text.split('\n'), sim.agentLines);
    }),
    { numRuns: RUNS },
  );
});

test('there is exactly one footer and it is last after every daemon write', () => {
  fc.assert(
    fc.property(fc.array(actionArb, { minLength: 1, maxLength: 14 }), (actions) => {
      const sim = new Simulation();
      for (const action of actions) {
        sim.apply(action);
        if (!sim.daemonWroteLast) continue;
        assert.equal(footerCount(sim.text), 1, 'one footer');
        const tail = classifyTail(sim.text);
        // Whatever follows the footer is the agent's unfinished text, never the daemon's.
        assert.ok(tail.kind === 'empty' || tail.kind === 'draft', `tail after a daemon write is ${tail.kind}`);
        if (tail.kind === 'empty') assert.ok(sim.text.endsWith(FOOTER), 'the footer ends the file');
      }
    }),
    { numRuns: RUNS },
  );
});

test('each accepted fence gets exactly one reply, right under it', () => {
  fc.assert(
    fc.property(fc.array(actionArb, { maxLength: 14 }), (actions) => {
      const sim = new Simulation();
      for (const action of actions) sim.apply(action);
      sim.drain();
      const replies = sim.text.split('\n').filter((line) => /^#### (👍|🚫)\S+ at \S+ \(/u.test(line));
      assert.equal(replies.length, sim.jobs.length, 'one reply per accepted fence');
      let from = 0;
      for (const job of sim.jobs) {
        const at = sim.text.indexOf(job.fence + '\n#### ', from);
        assert.notEqual(at, -1, `fence ${JSON.stringify(job.fence)} is followed by its reply`);
        const header = sim.text.slice(at + job.fence.length + 1).split('\n', 1)[0]!;
        assert.match(header, /^#### (👍|🚫)/u);
        from = at + job.fence.length;
      }
      assert.ok(!sim.text.includes('executing ('), 'no running marker left');
      assert.ok(!/^queued$/m.test(sim.text), 'no waiting marker left');
    }),
    { numRuns: RUNS },
  );
});

test('classifying an unchanged file twice gives the same answer, and accepting it again runs nothing', () => {
  fc.assert(
    fc.property(fc.array(actionArb, { maxLength: 10 }), chunkArb, (actions, lines) => {
      const sim = new Simulation();
      for (const action of actions) sim.apply(action);
      const text = sim.text + lines.join('\n') + '\n';
      assert.deepEqual(classifyTail(text), classifyTail(text));
      const once = acceptChunk(text, REALM, '08:50:00');
      const twice = acceptChunk(once.text, REALM, '08:50:01');
      assert.equal(twice.text, once.text);
      assert.equal(twice.requests.length, 0);
    }),
    { numRuns: RUNS },
  );
});

test('CRLF and BOM survive a round trip through decode and encode', () => {
  fc.assert(
    fc.property(chunkArb, fc.boolean(), fc.boolean(), (lines, crlf, bom) => {
      const raw = (bom ? '\uFEFF' : '') + lines.join(crlf ? '\r\n' : '\n') + (crlf ? '\r\n' : '\n');
      const { text, encoding } = decodeLog(raw);
      assert.equal(encodeLog(text, encoding), raw);
    }),
    { numRuns: RUNS },
  );
});
