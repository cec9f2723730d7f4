// The two ways to add a key: import a public key (pasted, or a dropped .pub file) and
// generate a keypair whose private key is shown once.
import { ApiError, explain } from "./api.js";
import {
  h,
  field,
  setFieldError,
  openDialog,
  copyButton,
  toast,
  formError,
  showFormError,
  placeFieldErrors,
  focusFirstInvalid,
} from "./dom.js";
import { labelsEditor } from "./labels.js";

const NAME_HINT = "Letters, digits, “-”, “_” and “.”; unique in the project.";

function commonFields(ctx) {
  const name = field(
    "Name",
    h("input", {
      type: "text",
      autocomplete: "off",
      spellcheck: "false",
      required: true,
      maxlength: "255",
    }),
    { hint: NAME_HINT },
  );
  const shared = h("input", {
    type: "checkbox",
    checked: true,
    id: `shared-${Math.random().toString(36).slice(2)}`,
  });
  const sharedField = h(
    "div",
    { class: "field field-check" },
    shared,
    h("label", { for: shared.id }, `Share with everyone in project ${ctx.project}`),
  );
  const labels = labelsEditor({});
  const labelsField = h(
    "fieldset",
    { class: "field" },
    h("legend", {}, "Labels (optional)"),
    labels.element,
  );
  return { name, shared, sharedField, labels, labelsField };
}

function collectCommon(c) {
  const body = { name: c.name.input.value.trim(), shared_in_project: c.shared.checked };
  setFieldError(c.name, []);
  c.labels.setError([]);
  if (!body.name) {
    setFieldError(c.name, "Give the key a name.");
    return { focus: c.name.input };
  }
  const l = c.labels.read();
  if (l.error) {
    c.labels.setError(l.error);
    return { focus: l.focus };
  }
  if (Object.keys(l.labels).length) body.labels = l.labels;
  return { body };
}

function placeErrors(err, ctx, c, extra, box) {
  if (err instanceof ApiError && err.status === 409) {
    setFieldError(
      c.name,
      `A key named “${c.name.input.value.trim()}” already exists in project ${ctx.project}. Choose another name.`,
    );
    c.name.input.focus();
    showFormError(box, "");
    return;
  }
  if (err instanceof ApiError && err.status === 400) {
    const fields = {
      name: (m) => setFieldError(c.name, m),
      sshkey_name: (m) => setFieldError(c.name, m),
      labels: (m) => c.labels.setError(m),
      ...extra,
    };
    // The generate fields' names may come as "generate.passphrase".
    const unplaced = placeFieldErrors(err.invalidFields, fields, { strip: /^generate\./ });
    showFormError(
      box,
      unplaced.length ? unplaced.join(" ") : "Correct the fields marked below and try again.",
    );
    focusFirstInvalid(box.closest("form"));
    return;
  }
  if (ctx.fail(err)) return;
  showFormError(box, explain(err));
}

export function openImport(ctx, { onCreated }) {
  const c = commonFields(ctx);
  const key = field(
    "Public key",
    h("textarea", {
      rows: "5",
      spellcheck: "false",
      autocomplete: "off",
      required: true,
      class: "mono",
      placeholder: "ssh-ed25519 AAAA… you@laptop",
    }),
    { hint: "Paste it, or drop a .pub file here. OpenSSH, RFC 4716 and PEM forms are accepted." },
  );
  const file = h("input", {
    type: "file",
    accept: ".pub,text/plain",
    class: "visually-hidden",
    id: "import-file",
  });
  const fileButton = h(
    "label",
    { for: "import-file", class: "btn btn-small file-label" },
    "Choose a .pub file…",
  );
  const useFile = async (f) => {
    if (!f) return;
    if (f.size > 64 * 1024) {
      setFieldError(key, `${f.name} is too large for a public key.`);
      return;
    }
    const text = (await f.text()).trim();
    key.input.value = text;
    setFieldError(key, []);
    if (!c.name.input.value.trim()) {
      const comment = text.split(/\s+/)[2] || "";
      const base = f.name.replace(/\.pub$/i, "");
      c.name.input.value = (base || comment).replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
    }
    toast(`Read ${f.name}.`, "ok");
  };
  file.addEventListener("change", () => useFile(file.files[0]));
  const drop = key.wrapper;
  drop.classList.add("dropzone");
  drop.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("dragging");
    useFile(ev.dataTransfer && ev.dataTransfer.files[0]);
  });
  drop.appendChild(h("div", { class: "actions-left" }, file, fileButton));

  const box = formError();
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Import key");
  const form = h(
    "form",
    { novalidate: true, class: "form" },
    box,
    c.name.wrapper,
    key.wrapper,
    c.sharedField,
    c.labelsField,
  );
  const dlg = openDialog("Import a public key");
  const cancel = h(
    "button",
    { type: "button", class: "btn", on: { click: () => dlg.close() } },
    "Cancel",
  );
  form.appendChild(h("div", { class: "actions" }, cancel, submit));
  dlg.body.appendChild(form);
  c.name.input.focus();

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showFormError(box, "");
    setFieldError(key, []);
    const got = collectCommon(c);
    if (!got.body) return got.focus.focus();
    const publicKey = key.input.value.trim();
    if (!publicKey) {
      setFieldError(key, "Paste a public key, or drop a .pub file.");
      return key.input.focus();
    }
    got.body.public_key = publicKey;
    submit.disabled = true;
    try {
      const { data } = await ctx.api.createKey(ctx.project, got.body);
      dlg.close();
      toast(`Imported ${data.name}.`, "ok");
      onCreated(data);
    } catch (err) {
      placeErrors(err, ctx, c, { public_key: (m) => setFieldError(key, m) }, box);
    } finally {
      submit.disabled = false;
    }
  });
}

const TYPES = [
  ["ed25519", "Ed25519 (recommended)"],
  ["ecdsa-p256", "ECDSA P-256"],
  ["ecdsa-p384", "ECDSA P-384"],
  ["ecdsa-p521", "ECDSA P-521"],
  ["rsa-2048", "RSA 2048"],
  ["rsa-3072", "RSA 3072"],
  ["rsa-4096", "RSA 4096"],
];
const FORMATS = [
  ["openssh", "OpenSSH (ssh, ssh-agent)"],
  ["pkcs8", "PKCS#8 PEM (OpenSSL, most libraries)"],
  ["ppk", "PuTTY PPK 3"],
];

// The file name a private key is saved under: what its tools expect by default.
export function privateKeyFileName(name, type, format) {
  const safe = (name || "key").replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "") || "key";
  if (format === "pkcs8") return `${safe}.pem`;
  if (format === "ppk") return `${safe}.ppk`;
  if (type.startsWith("rsa")) return "id_rsa";
  if (type.startsWith("ecdsa")) return "id_ecdsa";
  return "id_ed25519";
}

export function openGenerate(ctx, { onCreated }) {
  const c = commonFields(ctx);
  const type = field(
    "Key type",
    h(
      "select",
      {},
      TYPES.map(([v, t]) => h("option", { value: v }, t)),
    ),
  );
  const format = field(
    "Private key format",
    h(
      "select",
      {},
      FORMATS.map(([v, t]) => h("option", { value: v }, t)),
    ),
  );
  const pass = field(
    "Passphrase (optional)",
    h("input", {
      type: "password",
      autocomplete: "new-password",
      minlength: "8",
      maxlength: "1024",
    }),
    {
      hint: "8 characters or more; encrypts the private key. keypaird never stores it. Leave empty for no passphrase.",
    },
  );
  const pass2 = field(
    "Repeat the passphrase",
    h("input", { type: "password", autocomplete: "new-password" }),
  );
  const box = formError();
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Generate key");
  const form = h(
    "form",
    { novalidate: true, class: "form" },
    box,
    c.name.wrapper,
    h("div", { class: "field-row" }, type.wrapper, format.wrapper),
    pass.wrapper,
    pass2.wrapper,
    c.sharedField,
    c.labelsField,
  );

  let secret = null; // the private key, held only while the dialog is open
  let objectUrl = null;
  const dlg = openDialog("Generate a keypair", {
    onClose: () => {
      secret = null;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = null;
      for (const t of dlg.dialog.querySelectorAll("textarea, input")) t.value = "";
    },
  });
  const cancel = h(
    "button",
    { type: "button", class: "btn", on: { click: () => dlg.close() } },
    "Cancel",
  );
  form.appendChild(h("div", { class: "actions" }, cancel, submit));
  dlg.body.appendChild(form);
  c.name.input.focus();

  const showSecret = (created) => {
    secret = created.private_key;
    const fileName = privateKeyFileName(
      created.name,
      type.input.value,
      created.private_key_format || format.input.value,
    );
    const area = h("textarea", {
      class: "mono secret",
      readonly: true,
      rows: "10",
      id: "private-key",
      spellcheck: "false",
      "aria-describedby": "secret-warning",
    });
    area.value = secret;
    const download = h(
      "button",
      { type: "button", class: "btn btn-primary" },
      `Download ${fileName}`,
    );
    download.addEventListener("click", () => {
      if (!secret) return;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(new Blob([secret], { type: "application/octet-stream" }));
      const a = h("a", { href: objectUrl, download: fileName, class: "visually-hidden" });
      document.body.appendChild(a);
      a.click();
      a.remove();
      toast(`Saved as ${fileName} in your downloads.`, "ok");
    });
    const done = h(
      "button",
      { type: "button", class: "btn", on: { click: () => dlg.close() } },
      "Done, close",
    );
    dlg.body.replaceChildren(
      h(
        "div",
        { class: "secret-view" },
        h(
          "div",
          { class: "warning", id: "secret-warning", role: "alert" },
          h("strong", {}, "Save the private key now. "),
          "This is the only time it is shown: keypaird does not keep it, and closing this dialog forgets it. ",
          created.private_key_format === "ppk" || format.input.value === "ppk"
            ? "Open it with PuTTY or Pageant."
            : `Keep it readable only by you (chmod 600 ${fileName}).`,
        ),
        h(
          "p",
          {},
          `Key “${created.name}” was created in project ${ctx.project}. Its private key (${fileName}):`,
        ),
        h("label", { for: "private-key", class: "visually-hidden" }, "Private key"),
        area,
        h(
          "div",
          { class: "actions" },
          download,
          copyButton(() => secret || "", "Copy private key", {
            className: "btn",
            text: "Copy private key",
          }),
          done,
        ),
        h("p", { class: "muted" }, "Fingerprint ", h("code", {}, created.fingerprint_sha256 || "")),
      ),
    );
    download.focus();
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showFormError(box, "");
    setFieldError(pass, []);
    setFieldError(pass2, []);
    const got = collectCommon(c);
    if (!got.body) return got.focus.focus();
    const passphrase = pass.input.value;
    if (passphrase && passphrase.length < 8) {
      setFieldError(pass, "Use at least 8 characters, or leave it empty.");
      return pass.input.focus();
    }
    if (passphrase !== pass2.input.value) {
      setFieldError(pass2, "The two passphrases differ. Type the same one twice.");
      return pass2.input.focus();
    }
    got.body.generate = {
      type: type.input.value,
      format: format.input.value,
      passphrase: passphrase || null,
    };
    submit.disabled = true;
    submit.textContent = type.input.value.startsWith("rsa")
      ? "Generating (RSA may take a few seconds)…"
      : "Generating…";
    try {
      const { data } = await ctx.api.createKey(ctx.project, got.body);
      pass.input.value = "";
      pass2.input.value = "";
      const publicPart = { ...data };
      delete publicPart.private_key; // the list never sees it
      onCreated(publicPart);
      showSecret(data);
    } catch (err) {
      submit.disabled = false;
      submit.textContent = "Generate key";
      placeErrors(
        err,
        ctx,
        c,
        {
          type: (m) => setFieldError(type, m),
          format: (m) => setFieldError(format, m),
          passphrase: (m) => setFieldError(pass, m),
          generate: (m) => showFormError(box, [].concat(m).join(" ")),
        },
        box,
      );
    }
  });
}
