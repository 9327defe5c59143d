/** daebug for rspack: see index.ts. */
import { daebug } from './index.js';

export default daebug.rspack;
