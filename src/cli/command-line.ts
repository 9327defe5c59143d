/**
 * The command line that starts a daemon, written down (in `.daebug/daemon.json` and the stopped
 * registry) so that pasting it into a POSIX shell starts the same daemon again.
 */

/** Arguments that a shell reads as they are: no quoting needed. */
const PLAIN = /^[\w./:=@%+,-]+$/;
/** C0 controls, DEL, C1 controls and the Unicode line separators: only `$'...'` can write them on one line. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `arg` as one shell word on one line: as it is when plain, else in single quotes, and in `$'...'`
 * (bash, zsh, ksh and POSIX.1-2024 shells) when it holds a control character.
 */
export function shellQuote(arg: string): string {
  if (PLAIN.test(arg)) return arg;
  if (!CONTROL.test(arg)) return `'${arg.replace(/'/g, `'\\''`)}'`;
  const escaped = arg.replace(/[\\']/g, (char) => `\\${char}`).replace(CONTROL_ALL, (char) => {
    const code = char.charCodeAt(0);
    // `\xHH` above 7F is a raw byte, not the character: those are written as `\uHHHH`.
    return NAMED[char] ?? (code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
  return `$'${escaped}'`;
}

/** `npx daebug` followed by `args`, each quoted for the shell. */
export function commandLine(args: readonly string[]): string {
  return ['npx daebug', ...args.map(shellQuote)].join(' ');
}
