/**
 * The DevTools console utilities that make sense in a realm: `$`, `$$`, `$x` (where there is a
 * document), `keys`, `values`, `dir`. They are handed to each request as parameters of its function,
 * never set on the page; as in DevTools, a name the page defines itself (jQuery's `$`) stays the page's.
 */

/** The utilities a request gets in `scope`, without the names `scope` already has. */
export function consoleUtilities(scope: typeof globalThis): Record<string, unknown> {
  const all: Record<string, unknown> = {
    keys: (value: object) => Object.keys(value),
    values: (value: object) => Object.values(value),
    dir: (value: unknown) => scope.console.dir(value),
  };
  const doc = (scope as { document?: Document }).document;
  if (doc) {
    all.$ = (selector: string, root: ParentNode = doc) => root.querySelector(selector);
    all.$$ = (selector: string, root: ParentNode = doc) => [...root.querySelectorAll(selector)];
    all.$x = (path: string, root: Node = doc) => {
      const found = doc.evaluate(path, root, null, 0, null);
      if (found.resultType === XPathResult.NUMBER_TYPE) return found.numberValue;
      if (found.resultType === XPathResult.STRING_TYPE) return found.stringValue;
      if (found.resultType === XPathResult.BOOLEAN_TYPE) return found.booleanValue;
      const nodes: Node[] = [];
      for (let node = found.iterateNext(); node; node = found.iterateNext()) nodes.push(node);
      return nodes;
    };
  }
  return Object.fromEntries(Object.entries(all).filter(([name]) => !(name in scope)));
}
