/**
 * A three-way merge of two versions of a log that both started from one version: the daemon's (a
 * reply, a moved footer) and an agent's (a line, a fence, an edit). Used where an agent's write and a
 * daemon's write raced and both must survive.
 */
import { diff3Merge, diffComm } from 'node-diff3';

/**
 * Merges `ours` (the daemon's version) and `theirs` (an agent's), both made from `base`, line by
 * line. Changes on one side only are taken as they are. Where both sides changed the same lines, the
 * daemon's lines come first, then every line the agent added there: no daemon reply and no agent
 * line is lost (an agent's deletion there gives way to the daemon's change).
 */
export function mergeVersions(base: string, ours: string, theirs: string): string {
  if (theirs === base || ours === theirs) return ours;
  if (ours === base) return theirs;
  const [b, o, t] = [lines(base), lines(ours), lines(theirs)];
  // A log is mostly history that neither side touched: merge only the middle that differs.
  let head = 0;
  while (head < b.length && head < o.length && head < t.length && b[head] === o[head] && b[head] === t[head]) head += 1;
  let tail = 0;
  while (tail < b.length - head && tail < o.length - head && tail < t.length - head && b[b.length - 1 - tail] === o[o.length - 1 - tail] && b[b.length - 1 - tail] === t[t.length - 1 - tail]) tail += 1;
  const middle = (list: string[]) => list.slice(head, list.length - tail);
  const merged: string[] = [];
  for (const region of diff3Merge(middle(o), middle(b), middle(t), { excludeFalseConflicts: true })) {
    if (region.ok) {
      merged.push(...region.ok);
      continue;
    }
    const { a: mine, o: original, b: agents } = region.conflict!;
    merged.push(...mine);
    for (const part of diffComm(original, agents)) if (part.buffer2) merged.push(...part.buffer2);
  }
  return joinLines([...o.slice(0, head), ...merged, ...o.slice(o.length - tail)]);
}

/** The lines of a text, each with its line break. */
function lines(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\n)/);
}

/** Joins lines; a line without its break (the last of a side) gets one when another follows it. */
function joinLines(list: readonly string[]): string {
  let text = '';
  for (const line of list) text += text === '' || text.endsWith('\n') ? line : `\n${line}`;
  return text;
}
