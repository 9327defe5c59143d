// The part of `braces` (which ships no types) that test-discovery.ts uses.
declare module 'braces' {
  interface BracesOptions {
    /** Largest numeric range (`{1..1000}`) expanded; a larger one throws a RangeError. */
    rangeLimit?: number;
  }
  const braces: {
    /** Every pattern `pattern` expands to, as bash would: `a/{b,c}` → `a/b`, `a/c`. */
    expand(pattern: string, options?: BracesOptions): string[];
  };
  export default braces;
}
