/**
 * How times, durations and sizes are written in logs. Pure: the caller passes the moment.
 */

/** `HH:MM:SS` (24 h) of a moment in the daemon's local time zone. */
export function formatClock(moment: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(moment.getHours())}:${two(moment.getMinutes())}:${two(moment.getSeconds())}`;
}

/** Below 2000 ms `<n>ms`, otherwise seconds with one decimal: `2.4s`. */
export function formatDuration(ms: number): string {
  const safe = Number.isFinite(ms) && ms > 0 ? ms : 0;
  const rounded = Math.round(safe);
  if (rounded < 2000) return `${rounded}ms`;
  return `${(Math.round(safe / 100) / 10).toFixed(1)}s`;
}

/** A byte count for people: `512 B`, `3.2 KiB`, `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${trimZero((bytes / 1024).toFixed(1))} KiB`;
  return `${trimZero((bytes / (1024 * 1024)).toFixed(1))} MiB`;
}

function trimZero(value: string): string {
  return value.endsWith('.0') ? value.slice(0, -2) : value;
}
