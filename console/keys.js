// The keys of a project: search, filters, sort, keyset paging, and the way to import or
// generate a key.
import { ApiError, explain } from "./api.js";
import {
  h,
  replace,
  copyButton,
  formatDate,
  formatTime,
  announce,
  emptyState,
  fillPager,
} from "./dom.js";
import { labelChips } from "./labels.js";
import { openImport, openGenerate } from "./create.js";

const PAGE_SIZE = 20;
const TYPES = [
  ["", "Any type"],
  ["ssh-ed25519", "Ed25519"],
  ["ecdsa-sha2-nistp256", "ECDSA P-256"],
  ["ecdsa-sha2-nistp384", "ECDSA P-384"],
  ["ecdsa-sha2-nistp521", "ECDSA P-521"],
  ["ssh-rsa", "RSA"],
  ["sk-ssh-ed25519@openssh.com", "Ed25519 security key"],
  ["sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA security key"],
];
const ORDERS = [
  ["created_at.desc", "Newest first"],
  ["created_at.asc", "Oldest first"],
  ["name.asc", "Name A–Z"],
  ["name.desc", "Name Z–A"],
];

// The filters and the page stack survive moving to a key's page and back, per project.
const views = new Map();
function viewOf(project) {
  if (!views.has(project)) {
    views.set(project, {
      filters: { name: "", type: "", label_selector: "", usable: "", order_by: "created_at.desc" },
      cursors: [null], // cursors[i] opens page i
    });
  }
  return views.get(project);
}

export function isUsable(key, now = Date.now()) {
  return (
    key.state === "ACTIVE" && !key.disabled && (!key.expires_at || Date.parse(key.expires_at) > now)
  );
}

export function statusOf(key) {
  if (key.state && key.state !== "ACTIVE") return { text: key.state.toLowerCase(), cls: "bad" };
  if (key.disabled) return { text: "Disabled", cls: "bad" };
  if (key.expires_at && Date.parse(key.expires_at) <= Date.now())
    return { text: "Expired", cls: "bad" };
  return { text: "Usable", cls: "ok" };
}

export function typeLabel(key) {
  const names = Object.fromEntries(TYPES);
  return `${names[key.type] || key.type}${key.bits ? ` · ${key.bits}` : ""}`;
}

function fingerprints(key) {
  return h(
    "div",
    { class: "fps" },
    h(
      "div",
      { class: "fp" },
      h("code", { class: "fp-text" }, key.fingerprint_sha256),
      copyButton(key.fingerprint_sha256, `Copy SHA-256 fingerprint of ${key.name}`),
    ),
    h(
      "div",
      { class: "fp" },
      h("code", { class: "fp-text fp-md5" }, `MD5:${key.fingerprint_md5}`),
      copyButton(key.fingerprint_md5, `Copy MD5 fingerprint of ${key.name}`),
    ),
  );
}

function keyRow(ctx, key) {
  const st = statusOf(key);
  return h(
    "tr",
    {},
    h(
      "td",
      { "data-label": "Name", class: "cell-name" },
      h("a", { href: ctx.keyHash(key.id), class: "key-link" }, key.name),
      key.comment ? h("div", { class: "muted small comment" }, key.comment) : null,
    ),
    h("td", { "data-label": "Type" }, typeLabel(key)),
    h("td", { "data-label": "Fingerprints" }, fingerprints(key)),
    h(
      "td",
      { "data-label": "Labels" },
      labelChips(key.labels) || h("span", { class: "muted" }, "—"),
    ),
    h(
      "td",
      { "data-label": "Status" },
      h(
        "div",
        { class: "badges" },
        h("span", { class: `badge badge-${st.cls}` }, st.text),
        h("span", { class: "badge" }, key.shared_in_project ? "Shared" : "Private"),
      ),
    ),
    h(
      "td",
      { "data-label": "Created" },
      h(
        "time",
        { datetime: key.created_at, title: formatTime(key.created_at) },
        formatDate(key.created_at),
      ),
    ),
  );
}

function select(id, options, value) {
  const s = h(
    "select",
    { id },
    options.map(([v, t]) => h("option", { value: v }, t)),
  );
  s.value = value;
  return s;
}

export async function renderKeys(ctx) {
  const list = keysList(ctx);
  replace(ctx.main, keysPage(list));
  listenToFilters(list);
  await load(list);
}

// One drawing of the list: the project's view (filters and page stack), the controls, where
// results and pager go, and which load is the latest.
function keysList(ctx) {
  const view = viewOf(ctx.project);
  const list = {
    ctx,
    project: ctx.project,
    view,
    f: view.filters,
    controls: filterControls(view.filters),
    results: h("div", { class: "results", id: "results" }),
    pager: h("nav", { class: "pager", "aria-label": "Pages of keys" }),
    seq: 0,
    timer: null,
  };
  list.reloadFirst = () => {
    view.cursors = [null];
    load(list);
  };
  return list;
}

function filterControls(f) {
  const nameInput = h("input", {
    type: "search",
    id: "filter-name",
    value: f.name,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "Part of a name",
  });
  const typeSelect = select("filter-type", TYPES, f.type);
  const labelInput = h("input", {
    type: "text",
    id: "filter-labels",
    value: f.label_selector,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "team=db,!temp",
    "aria-describedby": "filter-labels-hint",
  });
  const usableSelect = select(
    "filter-usable",
    [
      ["", "Any"],
      ["true", "Usable"],
      ["false", "Not usable"],
    ],
    f.usable,
  );
  const orderSelect = select("filter-order", ORDERS, f.order_by);
  const labelError = h("p", { class: "field-error", id: "filter-labels-error", hidden: true });
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter keys", novalidate: true },
    h(
      "div",
      { class: "field grow" },
      h("label", { for: "filter-name" }, "Search by name"),
      nameInput,
    ),
    h("div", { class: "field" }, h("label", { for: "filter-type" }, "Type"), typeSelect),
    h(
      "div",
      { class: "field grow" },
      h("label", { for: "filter-labels" }, "Labels"),
      labelInput,
      h(
        "p",
        { class: "field-hint visually-hidden", id: "filter-labels-hint" },
        "A label selector such as team=db,!temp: k=v, k!=v, k (has label), !k (has not), comma means and.",
      ),
      labelError,
    ),
    h("div", { class: "field" }, h("label", { for: "filter-usable" }, "Usable"), usableSelect),
    h("div", { class: "field" }, h("label", { for: "filter-order" }, "Sort"), orderSelect),
  );
  return { form, nameInput, typeSelect, labelInput, usableSelect, orderSelect, labelError };
}

function importButton(ctx, onCreated, text, { id } = {}) {
  return h(
    "button",
    {
      type: "button",
      class: "btn",
      id,
      on: { click: () => openImport(ctx, { onCreated }) },
    },
    text,
  );
}

function generateButton(ctx, onCreated, text, { id } = {}) {
  return h(
    "button",
    {
      type: "button",
      class: "btn btn-primary",
      id,
      on: { click: () => openGenerate(ctx, { onCreated }) },
    },
    text,
  );
}

function writeControls(list) {
  const { ctx, reloadFirst } = list;
  if (!ctx.canWrite) {
    return h(
      "p",
      { class: "badge badge-muted", id: "read-only-note" },
      "Read-only token: you can look, not change.",
    );
  }
  return h(
    "div",
    { class: "actions" },
    importButton(ctx, reloadFirst, "Import key", { id: "import-key" }),
    generateButton(ctx, reloadFirst, "Generate key", { id: "generate-key" }),
  );
}

function keysPage(list) {
  return h(
    "section",
    { class: "page", "aria-labelledby": "keys-title" },
    h(
      "div",
      { class: "page-head" },
      h(
        "h1",
        { id: "keys-title", tabindex: "-1" },
        "SSH keys ",
        h("span", { class: "muted" }, `· project ${list.project}`),
      ),
      writeControls(list),
    ),
    list.controls.form,
    list.results,
    list.pager,
  );
}

// Loads the page of keys the view is on and shows it, or why it cannot.
async function load(list) {
  const { ctx, view, results, pager } = list;
  const mine = ++list.seq;
  const page = view.cursors.length - 1;
  results.setAttribute("aria-busy", "true");
  setLabelError(list.controls, null);
  const query = { limit: PAGE_SIZE, cursor: view.cursors[page], ...list.f };
  let data;
  try {
    ({ data } = await ctx.api.listKeys(list.project, query));
  } catch (err) {
    if (mine !== list.seq) return;
    results.removeAttribute("aria-busy");
    replace(pager);
    if (ctx.fail(err)) return;
    showLoadError(list, err);
    return;
  }
  if (mine !== list.seq) return;
  results.removeAttribute("aria-busy");
  const keys = data.results || [];
  if (keys.length === 0 && page > 0) {
    // The page emptied under us (keys deleted meanwhile): back to the first.
    view.cursors = [null];
    return load(list);
  }
  if (keys.length === 0) {
    showNoKeys(list);
    return;
  }
  replace(results, keysTable(list, keys, page));
  showPager(list, page, data.next_cursor);
  announce(`Page ${page + 1}: ${keys.length} key${keys.length === 1 ? "" : "s"}.`);
}

// Marks the label filter invalid with `text`, or clears that (null).
function setLabelError(controls, text) {
  const { labelInput, labelError } = controls;
  if (text === null) {
    labelError.hidden = true;
    labelInput.removeAttribute("aria-invalid");
    labelInput.setAttribute("aria-describedby", "filter-labels-hint");
    return;
  }
  labelError.textContent = text;
  labelError.hidden = false;
  labelInput.setAttribute("aria-invalid", "true");
  labelInput.setAttribute("aria-describedby", "filter-labels-hint filter-labels-error");
}

function showLoadError(list, err) {
  if (
    err instanceof ApiError &&
    err.status === 400 &&
    (err.invalidFields.label_selector || /label/i.test(err.message))
  ) {
    const msgs = [].concat(err.invalidFields.label_selector || err.message);
    setLabelError(list.controls, `${msgs.join(" ")} Write it like team=db,!temp.`);
    replace(
      list.results,
      emptyState(
        "The label filter is not valid",
        "Fix the label filter above (for example team=db or !temp), or clear it.",
      ),
    );
    return;
  }
  const text =
    err instanceof ApiError && err.status === 403
      ? `This token may not use project ${list.project}. Choose one of your projects in the Project menu above, or sign in with a token that includes project ${list.project}.`
      : explain(err);
  replace(
    list.results,
    h(
      "div",
      { class: "empty error", role: "alert" },
      h("h2", {}, "The keys could not be loaded"),
      h("p", {}, text),
      h("button", { type: "button", class: "btn", on: { click: () => load(list) } }, "Try again"),
    ),
  );
}

function showNoKeys(list) {
  const { ctx, project, f, reloadFirst } = list;
  const filtered = Boolean(f.name || f.type || f.label_selector || f.usable);
  let empty;
  if (filtered) {
    const clear = h(
      "button",
      {
        type: "button",
        class: "btn",
        id: "clear-filters",
        on: { click: () => clearFilters(list) },
      },
      "Clear filters",
    );
    empty = emptyState(
      "No keys match these filters",
      "Change or clear the filters to see more keys.",
      { actions: [clear] },
    );
  } else if (ctx.canWrite) {
    empty = emptyState(
      `No keys in project ${project} yet`,
      "Import a public key you already have, or generate a new keypair: keypaird shows its private key once, for you to save.",
      {
        actions: [
          importButton(ctx, reloadFirst, "Import a key"),
          generateButton(ctx, reloadFirst, "Generate a keypair"),
        ],
      },
    );
  } else {
    empty = emptyState(
      `No keys in project ${project} yet`,
      "Keys added to this project by others appear here. This token is read-only, so it cannot add keys.",
    );
  }
  replace(list.results, empty);
  replace(list.pager);
  announce(filtered ? "No keys match these filters." : "No keys yet.");
}

function keysTable(list, keys, page) {
  return h(
    "table",
    { class: "keys" },
    h("caption", { class: "visually-hidden" }, `Keys of project ${list.project}, page ${page + 1}`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Name", "Type", "Fingerprints", "Labels", "Status", "Created"].map((t) =>
          h("th", { scope: "col" }, t),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      keys.map((k) => keyRow(list.ctx, k)),
    ),
  );
}

function showPager(list, page, nextCursor) {
  const view = list.view;
  fillPager(list.pager, {
    page,
    hasNext: Boolean(nextCursor),
    ids: ["page-prev", "page-next", "page-no"],
    labels: ["Previous", "Next"],
    back: () => {
      view.cursors.pop();
      return load(list);
    },
    forward: () => {
      view.cursors.push(nextCursor);
      return load(list);
    },
  });
}

function clearFilters(list) {
  const c = list.controls;
  Object.assign(list.f, { name: "", type: "", label_selector: "", usable: "" });
  c.nameInput.value = "";
  c.typeSelect.value = "";
  c.labelInput.value = "";
  c.usableSelect.value = "";
  list.reloadFirst();
  c.nameInput.focus();
}

// Typing in the name and label filters reloads after a pause; the selects and Enter at once.
function listenToFilters(list) {
  const c = list.controls;
  const f = list.f;
  const onChange = (delay) => () => {
    f.name = c.nameInput.value.trim();
    f.type = c.typeSelect.value;
    f.label_selector = c.labelInput.value.replace(/\s+/g, "");
    f.usable = c.usableSelect.value;
    f.order_by = c.orderSelect.value;
    window.clearTimeout(list.timer);
    list.timer = window.setTimeout(list.reloadFirst, delay);
  };
  c.nameInput.addEventListener("input", onChange(250));
  c.labelInput.addEventListener("input", onChange(400));
  for (const s of [c.typeSelect, c.usableSelect, c.orderSelect])
    s.addEventListener("change", onChange(0));
  c.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    onChange(0)();
  });
}
