/**
 * Which files the daemon writes, and what the names of its temp files and backups say.
 *
 * The daemon writes two kinds of file only: the registry `daebug.md` at the root and logs, `.md` files
 * directly in `daebug/`. A backup's name says which of them it guards and the versions involved, and
 * recovery at start writes into the file the name says: so a name must not be able to say anything
 * else. `registry.<versions>.daebug-prev` guards `daebug.md`; `log.<name>.<versions>.daebug-prev`
 * guards `daebug/<name>`, where `<name>` is the log's file name with `%`, `/`, `\` and control
 * characters percent-escaped, and is refused unless it decodes to a plain `.md` file name.
 */
import { basename, dirname, join } from 'node:path';

/** A file the daemon writes: the registry, or a log by its file name in `daebug/`. */
export type DaebugFile = { kind: 'registry' } | { kind: 'log'; name: string };

/** What a backup's name records: the old file as the daemon read it, and what it wrote in its place. */
export interface BackupVersions {
  read: { size: number; hash: string };
  written: { size: number; hash: string };
}

/** How a temp file's name ends. */
export const TEMP_SUFFIX = '.daebug-tmp';
/** How a backup's name ends. */
export const BACKUP_SUFFIX = '.daebug-prev';

/** `<read size>.<read hash>.<written size>.<written hash>`: sizes are digits, hashes base64url (or `-`), never a dot. */
const VERSIONS = String.raw`(\d+)\.([\w-]+)\.(\d+)\.([\w-]+)`;
const REGISTRY_BACKUP = new RegExp(String.raw`^registry\.${VERSIONS}\.daebug-prev$`);
/** The name is everything before the last four fields, which hold no dot (`s`: a name may hold any line break). */
const LOG_BACKUP = new RegExp(String.raw`^log\.(.+)\.${VERSIONS}\.daebug-prev$`, 's');
/** daebug 0.1.0 kept backups next to the file: `.<file name>.<versions>.daebug-prev`. */
const LEGACY_BACKUP = new RegExp(String.raw`^\.(.+)\.${VERSIONS}\.daebug-prev$`, 's');
/** daebug 0.1.0 kept temp files next to the file: `.<file name>.<pid>.<n>.daebug-tmp`. */
const LEGACY_TEMP = /^\.(.+)\.\d+\.\d+\.daebug-tmp$/s;

/**
 * True for the name of a `.md` file directly in a folder. Any such name is a log the daemon reads (a
 * realm's own, an existing file whose name matches it case-insensitively, or another one an agent
 * made), so any must survive a backup's name; nothing with a path separator or a NUL does.
 */
export function isLogFileName(name: string): boolean {
  return name.endsWith('.md') && basename(name) === name && !name.includes('\0');
}

/** What `path` is among the files the daemon writes under `root`, or null when it is none of them. */
export function daebugFileAt(root: string, path: string): DaebugFile | null {
  if (path === join(root, 'daebug.md')) return { kind: 'registry' };
  const name = basename(path);
  if (dirname(path) === join(root, 'daebug') && isLogFileName(name)) return { kind: 'log', name };
  return null;
}

/** Where a daebug file is under `root`. */
export function daebugFilePath(root: string, file: DaebugFile): string {
  return file.kind === 'registry' ? join(root, 'daebug.md') : join(root, 'daebug', file.name);
}

/** The name of a backup guarding `file`. */
export function backupName(file: DaebugFile, versions: BackupVersions): string {
  const { read, written } = versions;
  const fields = `${read.size}.${read.hash}.${written.size}.${written.hash}${BACKUP_SUFFIX}`;
  return file.kind === 'registry' ? `registry.${fields}` : `log.${escapeName(file.name)}.${fields}`;
}

/** What a backup's name says, or null when it is not a backup name or names no daebug file. */
export function parseBackupName(name: string): { file: DaebugFile; versions: BackupVersions } | null {
  const registry = REGISTRY_BACKUP.exec(name);
  if (registry) return { file: { kind: 'registry' }, versions: versionsOf(registry.slice(1)) };
  const log = LOG_BACKUP.exec(name);
  const logName = log ? unescapeName(log[1]!) : null;
  if (!log || logName === null || !isLogFileName(logName)) return null;
  return { file: { kind: 'log', name: logName }, versions: versionsOf(log.slice(2)) };
}

/**
 * A backup left by daebug 0.1.0 next to the file it guarded: the name of that file (anything, as
 * written there; the caller decides whether it is daebug's) and the versions. Null for other names.
 */
export function parseLegacyBackupName(name: string): { target: string; versions: BackupVersions } | null {
  const match = LEGACY_BACKUP.exec(name);
  return match ? { target: match[1]!, versions: versionsOf(match.slice(2)) } : null;
}

/** The name of the file a temp file left by daebug 0.1.0 was for, or null for other names. */
export function parseLegacyTempName(name: string): string | null {
  return LEGACY_TEMP.exec(name)?.[1] ?? null;
}

function versionsOf([readSize, readHash, writtenSize, writtenHash]: string[]): BackupVersions {
  return { read: { size: Number(readSize), hash: readHash! }, written: { size: Number(writtenSize), hash: writtenHash! } };
}

/** Escapes what could make a name a path (and `%` itself, so every name comes back as it was). */
function escapeName(name: string): string {
  return name.replace(/[%/\\\x00-\x1f\x7f]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function unescapeName(escaped: string): string | null {
  try {
    return decodeURIComponent(escaped);
  } catch {
    return null;
  }
}
