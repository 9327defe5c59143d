/** daebug for rollup: see index.ts. */
import { daebug } from './index.js';

export default daebug.rollup;
