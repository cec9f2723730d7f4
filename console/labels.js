// The labels editor: rows of key and value, checked as the API checks them
// (openapi/keypaird.yaml, Labels: at most 32; keys like "team" or "example.com/role", values plain words).
import { h, uid } from "./dom.js";

const KEY_RE = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
const VALUE_RE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const MAX_LABELS = 32;

export function labelsEditor(initial = {}, { idPrefix = uid("labels") } = {}) {
  const rows = h("div", { class: "label-rows" });
  const error = h("p", { class: "field-error", id: `${idPrefix}-error`, hidden: true });
  const empty = h("p", { class: "muted label-empty" }, "No labels.");
  let counter = 0;

  const refresh = () => {
    empty.hidden = rows.children.length > 0;
    add.disabled = rows.children.length >= MAX_LABELS;
  };

  const addRow = (key = "", value = "", focus = false) => {
    counter += 1;
    const keyId = `${idPrefix}-k${counter}`;
    const valueId = `${idPrefix}-v${counter}`;
    const keyInput = h("input", {
      type: "text",
      id: keyId,
      value: key,
      autocomplete: "off",
      spellcheck: "false",
      class: "label-key",
      placeholder: "team",
    });
    const valueInput = h("input", {
      type: "text",
      id: valueId,
      value,
      autocomplete: "off",
      spellcheck: "false",
      class: "label-value",
      placeholder: "db",
    });
    const remove = h(
      "button",
      {
        type: "button",
        class: "btn btn-small btn-ghost",
        "aria-label": `Remove label ${key || counter}`,
      },
      "Remove",
    );
    const row = h(
      "div",
      { class: "label-row" },
      h("div", { class: "label-cell" }, h("label", { for: keyId }, "Key"), keyInput),
      h("span", { class: "label-eq", "aria-hidden": "true" }, "="),
      h("div", { class: "label-cell" }, h("label", { for: valueId }, "Value"), valueInput),
      remove,
    );
    keyInput.addEventListener("input", () =>
      remove.setAttribute("aria-label", `Remove label ${keyInput.value || counter}`),
    );
    remove.addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      refresh();
      (next ? next.querySelector("input") : add).focus();
    });
    rows.appendChild(row);
    refresh();
    if (focus) keyInput.focus();
  };

  const add = h(
    "button",
    { type: "button", class: "btn btn-small", on: { click: () => addRow("", "", true) } },
    "Add label",
  );
  const element = h(
    "div",
    { class: "labels-editor", role: "group", "aria-describedby": error.id },
    rows,
    empty,
    error,
    h("div", { class: "actions-left" }, add),
  );
  for (const [k, v] of Object.entries(initial || {})) addRow(k, v);
  refresh();

  const setError = (messages) => {
    const list = (Array.isArray(messages) ? messages : [messages]).filter(Boolean);
    error.textContent = list.join(" ");
    error.hidden = list.length === 0;
  };

  // {labels} or {error}: the labels as the API wants them, or what is wrong with them.
  const read = () => {
    const labels = {};
    for (const row of rows.children) {
      const [keyInput, valueInput] = row.querySelectorAll("input");
      const key = keyInput.value.trim();
      const value = valueInput.value.trim();
      keyInput.removeAttribute("aria-invalid");
      valueInput.removeAttribute("aria-invalid");
      if (!key && !value) continue;
      if (!KEY_RE.test(key)) {
        keyInput.setAttribute("aria-invalid", "true");
        return {
          error: `“${key}” is not a valid label key: use lower-case letters, digits and . _ / - (up to 63, starting and ending with a letter or digit).`,
          focus: keyInput,
        };
      }
      if (value && !VALUE_RE.test(value)) {
        valueInput.setAttribute("aria-invalid", "true");
        return {
          error: `“${value}” is not a valid value for ${key}: use letters, digits and . _ - (up to 63, starting and ending with a letter or digit), or leave it empty.`,
          focus: valueInput,
        };
      }
      if (Object.prototype.hasOwnProperty.call(labels, key)) {
        keyInput.setAttribute("aria-invalid", "true");
        return { error: `The label ${key} appears twice; keep one.`, focus: keyInput };
      }
      labels[key] = value;
    }
    return { labels };
  };

  return { element, read, setError, focus: () => (rows.querySelector("input") || add).focus() };
}

// Labels as small chips, for tables and headers.
export function labelChips(labels) {
  const entries = Object.entries(labels || {});
  if (entries.length === 0) return null;
  return h(
    "ul",
    { class: "chips", "aria-label": "Labels" },
    entries.map(([k, v]) => h("li", { class: "chip" }, v === "" ? k : `${k}=${v}`)),
  );
}
