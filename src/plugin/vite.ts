/** daebug for vite: see index.ts. */
import { daebug } from './index.js';

export default daebug.vite;
