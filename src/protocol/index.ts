/** The file protocol of daebug: pure functions from log text and events to new log text. */
export * from './budget.js';
export * from './changes.js';
export * from './compose.js';
export * from './grammar.js';
export * from './layout.js';
export * from './log-text.js';
export * from './messages.js';
export * from './registry.js';
export * from './render.js';
export * from './safe-text.js';
export * from './sections.js';
export * from './stray.js';
export * from './tail.js';
export * from './time.js';
export * from './transitions.js';
