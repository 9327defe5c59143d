// A realm's log as an end-to-end test drives it: read it, wait for something in it, and ask: append
// a request under a note of its own and read back the reply written under it.
import { appendFileSync } from 'node:fs';
import { readText, waitFor } from './temp.js';

export interface RealmLog {
  read(): string;
  /** Resolves with the log once `check` holds; the error shows the log. */
  until(check: (text: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Appends a request and resolves with its reply (header and blocks) once it is written. */
  ask(code: string): Promise<string>;
}

/** The log at `path`. */
export function realmLog(path: string): RealmLog {
  let asked = 0;
  const read = () => readText(path);
  const until = async (check: (text: string) => boolean, what: string, timeoutMs = 10_000) => {
    await waitFor(() => check(read()), what, timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message}\n--- ${path} ---\n${read()}`);
    });
    return read();
  };
  return {
    read,
    until,
    async ask(code) {
      const note = `request ${++asked} ${Math.random().toString(36).slice(2, 8)}`;
      appendFileSync(path, `${note}\n\`\`\`js\n${code}\n\`\`\`\n`);
      const text = await until((text) => new RegExp(`${note}\\n\`\`\`js\\n[\\s\\S]*?\\n\`\`\`\\n#### (👍|🚫)\\S+ at [\\d:]+ \\(`, 'u').test(text), `the reply to ${note}`);
      const reply = text.slice(text.indexOf(note)).replace(/^[\s\S]*?\n(?=#### (👍|🚫))/u, '');
      return reply.slice(0, reply.indexOf('\n\n') + 1);
    },
  };
}
