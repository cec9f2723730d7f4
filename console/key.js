// One key's page: what it is (fingerprints and public key copyable) and, for its owner or
// an admin with a writable token, rename, share, disable, expiry, labels and delete. Every
// change sends If-Match with the key's ETag, so a change made elsewhere meanwhile is
// reported (412) instead of overwritten.
import { ApiError, explain } from "./api.js";
import {
  h,
  replace,
  copyButton,
  formatTime,
  field,
  setFieldError,
  confirmDialog,
  toast,
  detail,
} from "./dom.js";
import { labelsEditor, labelChips } from "./labels.js";
import { statusOf, typeLabel, isUsable } from "./keys.js";

function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value) {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export async function renderKey(ctx, keyId) {
  const back = h("a", { href: ctx.keysHash(), class: "back" }, "← All keys");
  let loaded;
  try {
    loaded = await ctx.api.getKey(ctx.project, keyId);
  } catch (err) {
    if (ctx.fail(err)) return;
    replace(ctx.main, notFoundPage(back, err));
    return;
  }
  const page = keyPage(ctx, loaded.data, loaded.etag);
  const sections = [detailsCard(ctx, page.key)];
  if (!ctx.canWrite) {
    sections.unshift(
      h(
        "p",
        { class: "notice", id: "read-only-note" },
        "This token is read-only: you can see this key but not change it.",
      ),
    );
  } else if (!ctx.canEdit(page.key)) {
    sections.unshift(
      h(
        "p",
        { class: "notice" },
        `Only the key's owner (user ${page.key.owner_id}) or an admin can change this key.`,
      ),
    );
  } else {
    // The certificate card's code is loaded only for those who may use it.
    const { certificateCard } = await import("./ssh.js");
    sections.push(
      certificateCard(ctx, page.key, { usable: isUsable(page.key) }),
      renameForm(page),
      accessCard(page),
      expiryForm(page),
      labelsForm(page),
      deleteCard(page),
    );
  }
  replace(ctx.main, keyLayout(page, back, sections));
}

function notFoundPage(back, err) {
  const text =
    err instanceof ApiError && err.status === 404
      ? "This key does not exist in this project, or it is not shared with you. It may have been deleted or renamed; go back to the list to find it."
      : explain(err);
  return h(
    "section",
    { class: "page" },
    back,
    h(
      "div",
      { class: "empty error" },
      h("h1", { tabindex: "-1" }, "Key not found"),
      h("p", { role: "alert" }, text),
    ),
  );
}

// What one drawing of a key's page shares: the key and its ETag as last read, the banner for
// what went wrong, and the PATCH that sends If-Match and redraws the page.
function keyPage(ctx, key, etag) {
  const page = { ctx, project: ctx.project, key, etag };
  page.banner = h("div", { class: "banner", role: "alert", tabindex: "-1", hidden: true });

  page.showBanner = (text, withReload) => {
    replace(
      page.banner,
      h("p", {}, text),
      withReload
        ? h(
            "button",
            {
              type: "button",
              class: "btn",
              id: "reload-key",
              on: { click: () => page.rerender("reload-key") },
            },
            "Reload key",
          )
        : null,
    );
    page.banner.hidden = false;
  };

  // Re-reads the key and draws the page again, keeping focus on the control with this id.
  page.rerender = async (focusId) => {
    await renderKey(ctx, page.key.id);
    const el = focusId && document.getElementById(focusId);
    if (el) el.focus();
  };

  // PATCH with If-Match; on success redraws the page with the new key. `onError` may show an
  // error itself (next to a field) and answer true; otherwise the banner shows it.
  page.patch = async (body, { focusId, onError } = {}) => {
    try {
      const r = await ctx.api.patchKey(page.project, page.key.id, body, page.etag);
      page.key = r.data;
      page.etag = r.etag || page.etag;
      toast("Saved.", "ok");
      await page.rerender(focusId);
      return true;
    } catch (err) {
      if (ctx.fail(err)) return false;
      if (err instanceof ApiError && err.status === 412) {
        page.showBanner(explain(err), true);
        document.getElementById("reload-key").focus();
      } else if (!(onError && onError(err))) {
        page.showBanner(explain(err), false);
      }
      return false;
    }
  };
  return page;
}

function keyLayout(page, back, sections) {
  const key = page.key;
  const st = statusOf(key);
  return h(
    "section",
    { class: "page", "aria-labelledby": "key-title" },
    back,
    h(
      "div",
      { class: "page-head" },
      h("h1", { id: "key-title", tabindex: "-1" }, key.name),
      h(
        "div",
        { class: "badges" },
        h("span", { class: `badge badge-${st.cls}`, id: "key-status" }, st.text),
        h("span", { class: "badge" }, key.shared_in_project ? "Shared" : "Private"),
      ),
    ),
    page.banner,
    h("div", { class: "key-grid" }, sections),
  );
}

function detailsCard(ctx, key) {
  const who = key.owner_id === ctx.me.user_id ? "you" : `user ${key.owner_id}`;
  return h(
    "section",
    { class: "card card-wide", "aria-labelledby": "details-title" },
    h("h2", { id: "details-title" }, "Details"),
    h(
      "dl",
      { class: "details" },
      detail("Type", typeLabel(key)),
      detail("Comment", key.comment ? key.comment : h("span", { class: "muted" }, "none")),
      detail(
        "SHA-256",
        h("code", { id: "fp-sha256" }, key.fingerprint_sha256),
        " ",
        copyButton(key.fingerprint_sha256, "Copy SHA-256 fingerprint"),
      ),
      detail(
        "MD5",
        h("code", { id: "fp-md5" }, key.fingerprint_md5),
        " ",
        copyButton(key.fingerprint_md5, "Copy MD5 fingerprint"),
      ),
      detail("Owner", who),
      detail(
        "Shared",
        key.shared_in_project
          ? `with everyone in project ${key.project_id}`
          : "no: only its owner and admins see it",
      ),
      detail(
        "Expires",
        key.expires_at
          ? h("time", { datetime: key.expires_at }, formatTime(key.expires_at))
          : "never",
      ),
      detail("Labels", labelChips(key.labels) || h("span", { class: "muted" }, "none")),
      detail("Created", h("time", { datetime: key.created_at }, formatTime(key.created_at))),
      detail("Updated", h("time", { datetime: key.updated_at }, formatTime(key.updated_at))),
      detail("ID", h("code", {}, key.id)),
    ),
    h("h3", {}, "Public key"),
    h(
      "pre",
      { class: "mono pubkey", id: "public-key", tabindex: "0", "aria-label": "Public key" },
      key.public_key,
    ),
    h(
      "div",
      { class: "actions-left" },
      copyButton(key.public_key, "Copy public key", {
        className: "btn btn-small",
        text: "Copy public key",
      }),
    ),
  );
}

// A card that is a form: its heading, its content, and its buttons at the bottom.
function cardForm(titleId, title, ...content) {
  return h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": titleId },
    h("h2", { id: titleId }, title),
    ...content,
  );
}

function renameForm(page) {
  const key = page.key;
  const name = field(
    "Name",
    h("input", {
      type: "text",
      id: "edit-name",
      value: key.name,
      autocomplete: "off",
      spellcheck: "false",
      required: true,
    }),
  );
  const form = cardForm(
    "rename-title",
    "Rename",
    name.wrapper,
    h(
      "div",
      { class: "actions-left" },
      h("button", { type: "submit", class: "btn", id: "save-name" }, "Save name"),
    ),
  );
  const onError = (value) => (err) => {
    if (err instanceof ApiError && (err.status === 409 || err.status === 400)) {
      const msg =
        err.status === 409
          ? `Another key in project ${page.project} is already named “${value}”. Choose another name.`
          : [].concat(err.invalidFields.name || err.message).join(" ");
      setFieldError(name, msg);
      name.input.focus();
      return true;
    }
    return false;
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = name.input.value.trim();
    setFieldError(name, []);
    if (!value) return setFieldError(name, "A key needs a name.");
    if (value === key.name) return setFieldError(name, "That is already its name.");
    page.patch({ name: value }, { focusId: "edit-name", onError: onError(value) });
  });
  return form;
}

// A switch that saves at once (and flips back when saving fails).
function saveSwitch(page, id, checked, label, hint, bodyOf) {
  const input = h("input", {
    type: "checkbox",
    id,
    role: "switch",
    checked,
    "aria-describedby": `${id}-hint`,
  });
  input.addEventListener("change", async () => {
    input.disabled = true;
    const ok = await page.patch(bodyOf(input.checked), { focusId: id });
    if (!ok) {
      input.checked = !input.checked;
      input.disabled = false;
    }
  });
  return h(
    "div",
    { class: "field field-check" },
    input,
    h(
      "div",
      {},
      h("label", { for: id }, label),
      h("p", { class: "field-hint", id: `${id}-hint` }, hint),
    ),
  );
}

// Share and disable.
function accessCard(page) {
  const key = page.key;
  return h(
    "section",
    { class: "card", "aria-labelledby": "access-title" },
    h("h2", { id: "access-title" }, "Access"),
    saveSwitch(
      page,
      "edit-shared",
      key.shared_in_project,
      "Shared in project",
      `Everyone in project ${key.project_id} can see and use this key. Off: only its owner and admins.`,
      (v) => ({ shared_in_project: v }),
    ),
    saveSwitch(
      page,
      "edit-disabled",
      key.disabled,
      "Disabled",
      "A disabled key is left out of authorized_keys and cannot be certified, until enabled again.",
      (v) => ({ disabled: v }),
    ),
  );
}

function expiryForm(page) {
  const key = page.key;
  const expires = field(
    "Expires at (your local time)",
    h("input", {
      type: "datetime-local",
      id: "edit-expires",
      value: toLocalInput(key.expires_at),
    }),
    {
      hint: "After this moment the key stops being usable. Leave it empty to keep the key forever.",
    },
  );
  const never = () => page.patch({ expires_at: null }, { focusId: "edit-expires" });
  const form = cardForm(
    "expiry-title",
    "Expiry",
    expires.wrapper,
    h(
      "div",
      { class: "actions-left" },
      h("button", { type: "submit", class: "btn", id: "save-expiry" }, "Save expiry"),
      key.expires_at
        ? h(
            "button",
            { type: "button", class: "btn btn-ghost", id: "clear-expiry", on: { click: never } },
            "Never expire",
          )
        : null,
    ),
  );
  const onError = (err) => {
    if (err instanceof ApiError && err.status === 400) {
      setFieldError(expires, [].concat(err.invalidFields.expires_at || err.message));
      expires.input.focus();
      return true;
    }
    return false;
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    setFieldError(expires, []);
    if (!expires.input.value) return never();
    const iso = fromLocalInput(expires.input.value);
    if (!iso) return setFieldError(expires, "Enter a date and a time.");
    if (Date.parse(iso) <= Date.now())
      return setFieldError(
        expires,
        "Choose a moment in the future (or disable the key to stop it now).",
      );
    page.patch({ expires_at: iso }, { focusId: "edit-expires", onError });
  });
  return form;
}

function labelsForm(page) {
  const labels = labelsEditor(page.key.labels, { idPrefix: "edit-labels" });
  const form = cardForm(
    "labels-title",
    "Labels",
    h(
      "p",
      { class: "field-hint" },
      "Labels select keys in filters and in authorized_keys (for example login=deploy). Saving replaces all of them.",
    ),
    labels.element,
    h(
      "div",
      { class: "actions-left" },
      h("button", { type: "submit", class: "btn", id: "save-labels" }, "Save labels"),
    ),
  );
  const onError = (err) => {
    if (err instanceof ApiError && err.status === 400) {
      const msgs = Object.entries(err.invalidFields).flatMap(([, m]) => [].concat(m));
      labels.setError(msgs.length ? msgs : err.message);
      labels.focus();
      return true;
    }
    return false;
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    labels.setError([]);
    const got = labels.read();
    if (got.error) {
      labels.setError(got.error);
      return got.focus.focus();
    }
    page.patch({ labels: got.labels }, { focusId: "save-labels", onError });
  });
  return form;
}

function deleteCard(page) {
  return h(
    "section",
    { class: "card danger", "aria-labelledby": "delete-title" },
    h("h2", { id: "delete-title" }, "Delete"),
    h("p", {}, "Deleting removes the key for everyone, at once; it cannot be undone."),
    h(
      "div",
      { class: "actions-left" },
      h(
        "button",
        {
          type: "button",
          class: "btn btn-danger",
          id: "delete-key",
          on: { click: () => confirmDelete(page) },
        },
        "Delete key…",
      ),
    ),
  );
}

// The dialog that deletes the key once its name is typed.
function confirmDelete(page) {
  const { ctx, project, key } = page;
  const confirm = field(
    `Type the key's name, ${key.name}, to confirm`,
    h("input", { type: "text", id: "confirm-name", autocomplete: "off", spellcheck: "false" }),
  );
  const { button } = confirmDialog(`Delete “${key.name}”?`, {
    text: `The key ${key.name} (${key.fingerprint_sha256}) will be removed from project ${project}. Logins with it that rely on keypaird stop working.`,
    content: confirm.wrapper,
    action: "Delete for good",
    id: "confirm-delete",
    focus: confirm.input,
    run: () => ctx.api.deleteKey(project, key.id, page.etag),
    done: () => {
      toast(`Deleted ${key.name}.`, "ok");
      ctx.go(ctx.keysHash());
    },
    describe: (err) => {
      if (ctx.fail(err)) return null;
      return err instanceof ApiError && err.status === 412
        ? "This key was changed elsewhere after you opened it, so it was not deleted. Close this, reload the key, check it, and delete again if you still mean to."
        : explain(err);
    },
  });
  button.disabled = true;
  confirm.input.addEventListener("input", () => {
    button.disabled = confirm.input.value !== key.name;
  });
}
