/** daebug for esbuild: see index.ts. */
import { daebug } from './index.js';

export default daebug.esbuild;
