/** daebug for webpack: see index.ts. */
import { daebug } from './index.js';

export default daebug.webpack;
