/**
 * DOM helpers. Text goes in only as text (textContent / text nodes): nothing from the broker or the
 * agent is ever parsed as HTML. There is no innerHTML anywhere in the console.
 */

type Child = Node | string | null | undefined | false;

export interface ElOptions {
  class?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
}

/** Creates an element; strings among the children become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, opts: ElOptions = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (opts.class) e.className = opts.class;
  if (opts.text !== undefined) e.textContent = opts.text;
  if (opts.title !== undefined) e.title = opts.title;
  for (const [k, v] of Object.entries(opts.attrs ?? {})) e.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return e;
}

/** The element with this id, of the expected type; throws if the page is not the console's. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`console page: #${id} missing`);
  return e;
}

export function show(e: HTMLElement, visible: boolean): void {
  e.hidden = !visible;
}
