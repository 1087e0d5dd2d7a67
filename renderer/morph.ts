/**
 * Redraws without replacing what stays: morph makes the page's nodes look like a tree built for
 * the new status, keeping the elements (and so the focus and a click in progress) of what did not
 * change; standIn lets a render put an element it already has, a conflict's row, there as it is.
 */

/**
 * Makes `target`'s children look like `source`'s, reusing the nodes that keep their kind and place:
 * statuses arrive many times a second during a pass, and a button replaced between the press and
 * the release of a click would swallow the click. An element that stands for one item of a list
 * (`data-key`) is reused for that item only: a focused button must never come to act on another.
 * An item that left the list, or one new before others, changes no other item's nodes: the focus
 * on a conflict's button must not go because another conflict was resolved elsewhere. A stand-in
 * (standIn) in `source` puts its element there as it is: morph never looks inside it.
 */
export function morph(target: Node, source: Node): void {
  const want = [...source.childNodes].map((n) => standIns.get(n) ?? n);
  const keys = new Set(want.map(keyOf).filter((k) => k !== null));
  for (const t of [...target.childNodes]) {
    const k = keyOf(t);
    if (k !== null && !keys.has(k)) t.remove();
  }
  want.forEach((s, i) => {
    const t = target.childNodes[i];
    if (t === s) return;
    if (t === undefined) target.appendChild(adopt(s));
    else if (kept.has(s) || !sameKind(t, s)) {
      // An item still listed keeps its nodes: what differs from it comes in before it.
      if (keyOf(t) !== null) target.insertBefore(adopt(s), t);
      else target.replaceChild(adopt(s), t);
    } else if (t instanceof Element && s instanceof Element) update(t, s);
    else if (t.nodeValue !== s.nodeValue) t.nodeValue = s.nodeValue;
  });
  while (target.childNodes.length > want.length) target.lastChild?.remove();
}

/** Makes element `t` look like `s` (of its kind): its attributes, a button's state and action, its children. */
export function update(t: Element, s: Element): void {
  for (const a of [...t.attributes]) if (!s.hasAttribute(a.name)) t.removeAttribute(a.name);
  for (const a of [...s.attributes]) if (t.getAttribute(a.name) !== a.value) t.setAttribute(a.name, a.value);
  if (t instanceof HTMLButtonElement && s instanceof HTMLButtonElement) {
    t.disabled = s.disabled;
    t.onclick = s.onclick;
  }
  morph(t, s);
}

/** The element each stand-in given to morph stands for. */
const standIns = new WeakMap<Node, Element>();
/** The elements stood for: each is put on the page as it is. */
const kept = new WeakSet<Node>();

/**
 * A node to put in a tree given to morph in place of `el`, an element built for an earlier render
 * (on the page, or to go there): morph puts `el` itself there, never a copy, and does not look
 * inside it. What `el` shows must be what this render would build.
 */
export function standIn(el: Element): Node {
  const s = document.createComment('');
  standIns.set(s, el);
  kept.add(el);
  return s;
}

/** `s`, a node of a tree given to morph, about to go on the page: the stand-ins in it give way to their elements. */
function adopt(s: Node): Node {
  if (kept.has(s)) return s;
  for (const c of [...s.childNodes]) {
    const el = standIns.get(c);
    if (el !== undefined) s.replaceChild(el, c);
    else adopt(c);
  }
  return s;
}

function keyOf(n: Node): string | null {
  return n instanceof Element ? n.getAttribute('data-key') : null;
}

function sameKind(a: Node, b: Node): boolean {
  if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) return false;
  return keyOf(a) === keyOf(b);
}
