// Small DOM helpers. Every value from the API reaches the page through h() as a text node
// or an attribute set with setAttribute; nothing here parses HTML.

export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "on")
      for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (name === "value" || name === "checked" || name === "disabled" || name === "hidden")
      node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function replace(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

let idCounter = 0;
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// A status line read out by screen readers (the one polite live region in index.html).
export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A fresh text node so the same message twice is announced twice.
  window.setTimeout(() => {
    region.textContent = message;
  }, 30);
}

// A short note in the corner ("Copied", "Key deleted"), also announced.
export function toast(message, kind = "info") {
  const area = document.getElementById("toasts");
  const note = h("div", { class: `toast toast-${kind}` }, message);
  area.appendChild(note);
  announce(message);
  window.setTimeout(() => note.remove(), 4000);
}

async function writeClipboard(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (no focus, no permission): the older selection route.
    const area = h("textarea", { class: "offscreen", "aria-hidden": "true", tabindex: "-1" });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.value = "";
    area.remove();
    return ok;
  }
}

// A button that copies `getText()` and says so.
export function copyButton(getText, label, { className = "btn btn-small", text = "Copy" } = {}) {
  const button = h(
    "button",
    { type: "button", class: className, "aria-label": label, title: label },
    text,
  );
  button.addEventListener("click", async () => {
    const ok = await writeClipboard(typeof getText === "function" ? getText() : getText);
    if (ok) {
      button.textContent = "Copied";
      button.classList.add("copied");
      toast("Copied to the clipboard.", "ok");
      window.setTimeout(() => {
        button.textContent = text;
        button.classList.remove("copied");
      }, 1500);
    } else {
      toast("The browser did not allow copying. Select the text and copy it by hand.", "error");
    }
  });
  return button;
}

// A labelled form field: {wrapper, input, error}. `control` is an input, select or
// textarea made by the caller; its id ties the label and the error message to it.
export function field(labelText, control, { hint, id } = {}) {
  control.id = control.id || id || uid("f");
  const errorId = control.id + "-error";
  const hintId = hint ? control.id + "-hint" : null;
  const error = h("p", { class: "field-error", id: errorId, hidden: true });
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: control.id }, labelText),
    hint ? h("p", { class: "field-hint", id: hintId }, hint) : null,
    control,
    error,
  );
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return { wrapper, input: control, error, hintId };
}

export function setFieldError(f, messages) {
  const list = (Array.isArray(messages) ? messages : [messages]).filter(Boolean);
  if (list.length === 0) {
    f.error.hidden = true;
    f.error.textContent = "";
    f.input.removeAttribute("aria-invalid");
    if (f.hintId) f.input.setAttribute("aria-describedby", f.hintId);
    else f.input.removeAttribute("aria-describedby");
    return;
  }
  f.error.textContent = list.join(" ");
  f.error.hidden = false;
  f.input.setAttribute("aria-invalid", "true");
  f.input.setAttribute("aria-describedby", [f.hintId, f.error.id].filter(Boolean).join(" "));
}

// A form's error box, for what belongs to no one field (and read out when it shows).
export function formError(props = {}) {
  return h("div", { class: "form-error", role: "alert", hidden: true, ...props });
}

// Shows `text` in a box made by formError(), or hides it when `text` is empty.
export function showFormError(box, text) {
  box.textContent = text;
  box.hidden = !text;
}

// Shows each of an ApiError's `invalidFields` messages next to its field: `fields` maps a
// field name to a function that shows messages there. Names may come bare ("name"), dotted
// or indexed ("labels.team", "principals[0]"); `strip` (a RegExp) is first removed from a
// name that has no field of its own ("generate.passphrase" with /^generate\./). Answers the
// messages that have no field.
export function placeFieldErrors(invalidFields, fields, { strip } = {}) {
  const unplaced = [];
  for (const [name, messages] of Object.entries(invalidFields || {})) {
    const bare = (strip ? name.replace(strip, "") : name).split(/[.[]/)[0];
    const target = fields[name] || fields[bare];
    if (target) target(messages);
    else unplaced.push(...(Array.isArray(messages) ? messages : [messages]));
  }
  return unplaced;
}

// Moves focus to the first control of `form` marked invalid, if any.
export function focusFirstInvalid(form) {
  const invalid = form.querySelector("[aria-invalid='true']");
  if (invalid) invalid.focus();
}

// A project's page: a section headed "`name` · project N" (the h1's id is `id`), then
// `children`.
export function projectPage(id, name, project, ...children) {
  return h(
    "section",
    { class: "page", "aria-labelledby": id },
    h(
      "div",
      { class: "page-head" },
      h(
        "h1",
        { id, tabindex: "-1" },
        `${name} `,
        h("span", { class: "muted" }, `· project ${project}`),
      ),
    ),
    children,
  );
}

// One term of a description list (<dl>): its <dt> and <dd>.
export function detail(term, ...value) {
  return [h("dt", {}, term), h("dd", {}, ...value)];
}

// A list of short values as chips, or `none` (muted) when there are none.
export function chipList(values, none) {
  if (values.length === 0) return h("span", { class: "muted" }, none);
  return h(
    "ul",
    { class: "chips" },
    values.map((v) => h("li", { class: "chip" }, String(v))),
  );
}

// What a list or a result shows when it has nothing: a heading (h2 unless `heading` says
// otherwise), a sentence, and the buttons that would change that.
export function emptyState(title, text, { actions = [], heading = "h2" } = {}) {
  return h(
    "div",
    { class: "empty" },
    h(heading, {}, title),
    h("p", {}, text),
    actions.length ? h("div", { class: "actions-center" }, actions) : null,
  );
}

// A modal <dialog>, removed from the page when it closes (so nothing it showed stays in
// the document). Returns {dialog, body, close}.
export function openDialog(title, { onClose, wide = false } = {}) {
  const titleId = uid("dlg-title");
  const body = h("div", { class: "dialog-body" });
  const closeButton = h(
    "button",
    { type: "button", class: "btn btn-ghost dialog-close", "aria-label": "Close" },
    "×",
  );
  const dialog = h(
    "dialog",
    { class: wide ? "dialog dialog-wide" : "dialog", "aria-labelledby": titleId },
    h("div", { class: "dialog-head" }, h("h2", { id: titleId }, title), closeButton),
    body,
  );
  const close = () => {
    if (dialog.open) dialog.close();
  };
  closeButton.addEventListener("click", close);
  dialog.addEventListener("close", () => {
    if (onClose) onClose();
    dialog.remove();
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, body, close };
}

// Asks before a change that cannot be undone or takes effect at once: a modal saying
// `text` (then `content`, if any), Cancel, and a danger button (`action`, id `id`). `run()`
// makes the change; the dialog closes when it resolves, then `done()` runs. When it throws, `describe(err)` is
// shown in the dialog and the button may be pressed again; when `describe` answers null
// the dialog just closes (the caller has dealt with it). Focus starts on `focus`, else on
// the button. Returns {dialog, button, close}.
export function confirmDialog(title, { text, content, action, id, run, done, describe, focus }) {
  const dlg = openDialog(title);
  const error = formError();
  const button = h("button", { type: "submit", class: "btn btn-danger", id }, action);
  const form = h(
    "form",
    { class: "form", novalidate: true },
    h("p", {}, text),
    content,
    error,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "btn", on: { click: () => dlg.close() } }, "Cancel"),
      button,
    ),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    try {
      await run();
    } catch (err) {
      const said = describe(err);
      if (said === null) {
        dlg.close();
        return;
      }
      button.disabled = false;
      showFormError(error, said);
      return;
    }
    dlg.close();
    if (done) done();
  });
  dlg.body.appendChild(form);
  (focus || button).focus();
  return { dialog: dlg.dialog, button, close: dlg.close };
}

// Saves `data` (text or bytes) as a file in the browser's downloads, from memory: nothing
// is fetched again and no token goes into a URL.
export function saveFile(data, fileName, type = "application/octet-stream") {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = h("a", { href: url, download: fileName, class: "visually-hidden" });
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export function formatDate(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return iso || "";
  return d.toLocaleDateString(undefined, { dateStyle: "medium" });
}

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// "in 3 days", "5 hours ago": how far `iso` is from now, in the largest unit it fills.
export function relative(iso, now = Date.now()) {
  const ms = Date.parse(iso) - now;
  const words = new Intl.RelativeTimeFormat(undefined, { numeric: "always" });
  const units = [
    ["day", 24 * 3600 * 1000],
    ["hour", 3600 * 1000],
    ["minute", 60 * 1000],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(ms) >= size) return words.format(Math.round(ms / size), unit);
  }
  return words.format(Math.round(ms / 1000), "second");
}

// A keyset pager in `nav`: a back and a forward button around the page number (`ids`: the
// two buttons' and the number's). `back` and `forward` load the page and return a promise;
// then focus stays on the button pressed, or moves to the other one if that one is now
// disabled (the first or the last page).
export function fillPager(nav, { page, hasNext, ids, labels, back, forward }) {
  const [backId, forwardId, pageNoId] = ids;
  const button = (id, label, disabled) =>
    h("button", { type: "button", class: "btn", id, disabled }, label);
  const backButton = button(backId, labels[0], page === 0);
  const forwardButton = button(forwardId, labels[1], !hasNext);
  backButton.addEventListener("click", () => back().then(() => refocus(backId, forwardId)));
  forwardButton.addEventListener("click", () => forward().then(() => refocus(forwardId, backId)));
  replace(
    nav,
    backButton,
    h("span", { class: "page-no", id: pageNoId }, `Page ${page + 1}`),
    forwardButton,
  );
}

function refocus(id, otherId) {
  const b = document.getElementById(id);
  const other = document.getElementById(otherId);
  if (b && !b.disabled) b.focus();
  else if (other && !other.disabled) other.focus();
}
