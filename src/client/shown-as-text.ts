/**
 * A value a helper answers with that goes into the log as it is, in a Text block: an outline, a
 * Markdown image link. (A plain string of one line would be quoted as JSON.)
 */
export class ShownAsText {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}
