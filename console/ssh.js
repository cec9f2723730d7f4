// SSH access: the project's certificate authority (its public key and the sshd_config lines
// that trust it, the KRL to download), the authorized_keys sshd would get for a label
// selector, and, on a key's page, requesting (and revoking) a certificate for the key.
// Loaded only when one of those is opened, so the first load stays small.
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
  announce,
  saveFile,
  uid,
  emptyState,
  formError,
  showFormError,
  placeFieldErrors,
  focusFirstInvalid,
  relative,
} from "./dom.js";

const CA_FILE = "/etc/ssh/keypaird-ca.pub";
const KRL_FILE = "/var/lib/keypaird-krl/revoked.krl";
const PRINCIPAL_RE = /^[A-Za-z0-9._@-]{1,255}$/;
const VALIDITIES = [
  [600, "10 minutes"],
  [3600, "1 hour"],
  [8 * 3600, "8 hours"],
  [24 * 3600, "24 hours"],
  [7 * 24 * 3600, "7 days"],
];

// A 404 from a CA route that means "this service runs without a CA" (not "no such key").
export function caDisabled(err) {
  return err instanceof ApiError && err.status === 404 && /ca-kek-file/i.test(err.message);
}

// A 404 from reading the CA of a project that has none yet (a read never makes one).
function caMissing(err) {
  return (
    err instanceof ApiError &&
    err.status === 404 &&
    /has no SSH certificate authority yet/i.test(err.message)
  );
}

function caMissingCard(ctx, card, title) {
  const project = ctx.project;
  const parts = [
    title,
    h(
      "p",
      { class: "notice", id: "ca-missing" },
      `Project ${project} has no certificate authority yet. It is made when its first certificate is requested, or now: servers can then trust it before anyone asks for a certificate.`,
    ),
  ];
  if (!ctx.canWrite) {
    parts.push(
      h(
        "p",
        { class: "field-hint" },
        "This token is read-only: a token that may write can make it.",
      ),
    );
    replace(card, ...parts);
    return;
  }
  const error = h("p", {
    class: "field-error",
    id: "create-ca-error",
    role: "alert",
    hidden: true,
  });
  const button = h(
    "button",
    { type: "button", class: "btn btn-primary", id: "create-ca" },
    "Make the certificate authority",
  );
  button.addEventListener("click", async () => {
    button.disabled = true;
    error.hidden = true;
    try {
      await ctx.api.createSshCa(project);
      toast(`Project ${project} has its certificate authority.`, "ok");
      await fillCa(ctx, card);
    } catch (err) {
      if (ctx.fail(err)) return;
      error.textContent = explain(err);
      error.hidden = false;
      button.disabled = false;
    }
  });
  replace(card, ...parts, h("div", { class: "actions-left" }, button), error);
}

function config(id, label, text) {
  return [
    h("pre", { class: "mono pubkey config", id, tabindex: "0", "aria-label": label }, text),
    h(
      "div",
      { class: "actions-left" },
      copyButton(text, `Copy lines: ${label}`, { className: "btn btn-small", text: "Copy lines" }),
    ),
  ];
}

// ---------------------------------------------------------------------------------------
// A CA's keys (docs/ssh-access.md "Rotating a CA"), on SSH access (the user CA) and on Hosts
// (the host CA): the key that signs now, then the keys rotated out, trusted until the last
// certificate each signed expires. The project's administrators (with a token that may
// write) rotate the CA and stop trusting a key rotated out early.

// Every key to trust now, the signing key first (an older keypaird answers no `keys`).
export function caKeysOf(ca) {
  if (Array.isArray(ca.keys) && ca.keys.length) return ca.keys;
  return [
    {
      public_key: ca.public_key,
      fingerprint_sha256: ca.fingerprint_sha256,
      created_at: ca.created_at,
      retires_at: null,
    },
  ];
}

const CA_KINDS = {
  user: {
    prefix: "ca",
    what: "certificate authority",
    rotate: (api, project) => api.rotateSshCa(project),
    remove: (api, project, fp) => api.deleteSshCaKey(project, fp),
    signs: (project) => `A new key signs project ${project}'s user certificates from now on.`,
    pickUp:
      "Servers pick up the new key at their next keypaird host renew (or when its public keys are saved on them again); people get certificates from it at their next keypaird login, and those already issued keep working meanwhile.",
    revokes:
      "every certificate it signed is revoked at once: its serials go into the project's key revocation list, so servers refuse them from their next KRL refresh. Their holders need new certificates (keypaird login).",
  },
  host: {
    prefix: "host-ca",
    what: "host certificate authority",
    rotate: (api, project) => api.rotateSshHostCa(project),
    remove: (api, project, fp) => api.deleteSshHostCaKey(project, fp),
    signs: (project) =>
      `A new key signs project ${project}'s host certificates from now on, at enrolment and at each renewal.`,
    pickUp:
      "Servers get certificates from the new key at their next keypaird host renew (keypaird host renew --force for at once); laptops trust it once their known_hosts line is refreshed with keypaird ssh-config --write. Until then they still trust the old key.",
    revokes:
      "every host certificate it signed is revoked at once: its serials go into the project's key revocation list, so clients with RevokedHostKeys refuse them. Renew the hosts first (keypaird host renew --force).",
  },
};

// The heading, list and buttons of the CA's keys. `kind`: "user" or "host"; `reload()`
// draws the card again after a change and resolves once it is drawn.
export function caKeys(ctx, ca, kind, reload) {
  const project = ctx.project;
  const k = CA_KINDS[kind];
  const keys = caKeysOf(ca);
  const mayChange = ctx.roleIn(project) === "admin" && ctx.canWrite;
  const headingId = `${k.prefix}-keys-title`;
  const describe = (err) => (ctx.fail(err) ? null : explain(err));
  const afterwards = async (message) => {
    toast(message, "ok");
    await reload();
    const heading = document.getElementById(headingId);
    if (heading) heading.focus();
  };

  const rotate = () =>
    confirmDialog(`Rotate the ${k.what}?`, {
      text: `${k.signs(project)} The key that signs now (${keys[0].fingerprint_sha256}) signs nothing more and its private half is discarded, but it stays trusted until the last certificate it signed expires (at once if it signed none), so nothing stops working meanwhile.`,
      content: h("p", {}, k.pickUp),
      action: "Rotate",
      id: `confirm-${k.prefix}-rotate`,
      run: () => k.rotate(ctx.api, project),
      done: () => afterwards(`Rotated: a new key signs project ${project}'s certificates.`),
      describe,
    });

  const stopTrusting = (key) =>
    confirmDialog("Stop trusting this key now?", {
      text: `Key ${key.fingerprint_sha256} is no longer trusted from now on (instead of until ${formatTime(key.retires_at)}), and ${k.revokes}`,
      content: h("p", {}, "This cannot be undone."),
      action: "Stop trusting and revoke",
      id: `confirm-${k.prefix}-key-delete`,
      run: () => k.remove(ctx.api, project, key.fingerprint_sha256),
      done: () => afterwards(`Key ${key.fingerprint_sha256} is no longer trusted.`),
      describe: (err) => {
        if (ctx.fail(err)) return null;
        if (err instanceof ApiError && err.status === 404) {
          toast("That key is no longer trusted already.", "info");
          reload();
          return null;
        }
        return explain(err, {
          conflict: "That key signs now: it can only be deleted once the CA has been rotated.",
        });
      },
    });

  const item = (key, i) => {
    const signs = key.retires_at === null || key.retires_at === undefined;
    const label = signs ? "the key that signs now" : `key ${i + 1}, rotated out`;
    return h(
      "li",
      { class: "ca-key", "data-fingerprint": key.fingerprint_sha256 },
      h(
        "div",
        { class: "fp" },
        h("code", { class: "fp-text" }, key.fingerprint_sha256),
        copyButton(key.fingerprint_sha256, `Copy fingerprint of ${label}`),
      ),
      h(
        "p",
        { class: "ca-key-state" },
        signs
          ? h("span", { class: "badge badge-ok" }, "Signs now")
          : [
              h("span", { class: "badge badge-warn" }, "Rotated out"),
              " trusted until ",
              h("time", { datetime: key.retires_at }, formatTime(key.retires_at)),
              h("span", { class: "muted small" }, ` (${relative(key.retires_at)})`),
            ],
        h(
          "span",
          { class: "muted small" },
          " · created ",
          h("time", { datetime: key.created_at }, formatTime(key.created_at)),
        ),
      ),
      mayChange && !signs
        ? h(
            "div",
            { class: "actions-left" },
            h(
              "button",
              {
                type: "button",
                class: "btn btn-small btn-danger ca-key-delete",
                "aria-label": `Stop trusting ${label} now`,
                on: { click: () => stopTrusting(key) },
              },
              "Stop trusting now…",
            ),
          )
        : null,
    );
  };

  return [
    h("h3", { id: headingId, tabindex: "-1" }, "Trusted keys"),
    h(
      "ul",
      { class: "ca-keys", id: `${k.prefix}-keys`, "aria-labelledby": headingId },
      keys.map(item),
    ),
    mayChange
      ? h(
          "div",
          { class: "actions-left" },
          h(
            "button",
            {
              type: "button",
              class: "btn",
              id: `${k.prefix}-rotate`,
              on: { click: rotate },
            },
            "Rotate…",
          ),
        )
      : null,
  ];
}

// ---------------------------------------------------------------------------------------
// The SSH access view (#/projects/{id}/ssh).

export async function renderSsh(ctx) {
  const project = ctx.project;
  const caCard = h(
    "section",
    { class: "card card-wide", id: "ca-card", "aria-labelledby": "ca-title", "aria-busy": "true" },
    h("h2", { id: "ca-title" }, "Certificate authority"),
    h("p", { class: "loading" }, "Loading…"),
  );
  const akCard = authorizedKeysCard(ctx);
  replace(
    ctx.main,
    h(
      "section",
      { class: "page", "aria-labelledby": "ssh-title" },
      h(
        "div",
        { class: "page-head" },
        h(
          "h1",
          { id: "ssh-title", tabindex: "-1" },
          "SSH access ",
          h("span", { class: "muted" }, `· project ${project}`),
        ),
      ),
      h("div", { class: "ssh-grid" }, caCard, akCard.element),
    ),
  );
  await Promise.all([fillCa(ctx, caCard), akCard.load()]);
}

async function fillCa(ctx, card) {
  const project = ctx.project;
  const title = h("h2", { id: "ca-title" }, "Certificate authority");
  let ca;
  try {
    ({ data: ca } = await ctx.api.sshCa(project));
  } catch (err) {
    card.removeAttribute("aria-busy");
    if (ctx.fail(err)) return;
    if (caMissing(err)) {
      caMissingCard(ctx, card, title);
      return;
    }
    if (caDisabled(err)) {
      replace(
        card,
        title,
        h(
          "p",
          { class: "notice", id: "ca-disabled" },
          "The SSH certificate authority is not enabled on this keypaird: there is no CA key for servers to trust, and certificates cannot be issued. authorized_keys (below) works without it.",
        ),
        h(
          "p",
          {},
          "To enable it, the operator makes a key-encryption key once and starts the service with it (keep that file safe and backed up: it seals every project's CA key):",
        ),
        ...config(
          "ca-enable",
          "commands that enable the CA",
          "keypaird ca new-kek /etc/keypaird/ca.kek\nkeypaird serve … --ca-kek-file /etc/keypaird/ca.kek\n",
        ),
      );
      return;
    }
    const text =
      err instanceof ApiError && err.status === 403
        ? `This token may not use project ${project}. Choose one of your projects in the Project menu above.`
        : explain(err);
    replace(
      card,
      title,
      h(
        "div",
        { class: "empty error", role: "alert" },
        h("h3", {}, "The certificate authority could not be loaded"),
        h("p", {}, text),
        h(
          "button",
          { type: "button", class: "btn", on: { click: () => fillCa(ctx, card) } },
          "Try again",
        ),
      ),
    );
    return;
  }
  card.removeAttribute("aria-busy");

  const krlError = h("p", { class: "field-error", id: "krl-error", role: "alert", hidden: true });
  const krlButton = h(
    "button",
    { type: "button", class: "btn", id: "download-krl" },
    "Download keypaird.krl",
  );
  krlButton.addEventListener("click", async () => {
    krlButton.disabled = true;
    krlError.hidden = true;
    try {
      const { data } = await ctx.api.krl(project);
      saveFile(data, "keypaird.krl");
      toast("Saved keypaird.krl in your downloads.", "ok");
    } catch (err) {
      if (ctx.fail(err)) return;
      krlError.textContent = explain(err);
      krlError.hidden = false;
    } finally {
      krlButton.disabled = false;
    }
  });

  // Every key servers are to trust, one line each (two while a key rotated out is trusted).
  const keys = caKeysOf(ca);
  const publicKeys = keys.map((k) => k.public_key).join("\n");
  const several = keys.length > 1;
  replace(
    card,
    title,
    h(
      "p",
      {},
      `Servers that trust this CA accept the certificates keypaird issues for keys of project ${project}, for the logins (principals) each names, until it expires. Request one on a key's page.`,
    ),
    h(
      "dl",
      { class: "details" },
      h("dt", {}, "SHA-256"),
      h("dd", {}, h("code", { id: "ca-fingerprint" }, ca.fingerprint_sha256)),
      h("dt", {}, "Created"),
      h("dd", {}, h("time", { datetime: ca.created_at }, formatTime(ca.created_at))),
    ),
    ...caKeys(ctx, ca, "user", () => fillCa(ctx, card)),
    h("h3", {}, several ? "Public keys" : "Public key"),
    several
      ? h(
          "p",
          { class: "field-hint" },
          "One line per key to trust: the key that signs now, then the keys rotated out. Servers need every line until the old keys retire.",
        )
      : null,
    h(
      "pre",
      { class: "mono pubkey", id: "ca-public-key", tabindex: "0", "aria-label": "CA public key" },
      publicKeys,
    ),
    h(
      "div",
      { class: "actions-left" },
      copyButton(publicKeys, "Copy public key of the CA", {
        className: "btn btn-small",
        text: several ? "Copy public keys" : "Copy public key",
      }),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small",
          id: "download-ca",
          on: { click: () => saveFile(publicKeys + "\n", "keypaird-ca.pub", "text/plain") },
        },
        "Download keypaird-ca.pub",
      ),
    ),
    h("h3", {}, "sshd_config"),
    h(
      "p",
      { class: "field-hint" },
      `On each server: save the public ${several ? "keys (every line)" : "key"} as ${CA_FILE} and the KRL as ${KRL_FILE}, add these lines to /etc/ssh/sshd_config, then reload sshd.`,
    ),
    ...config(
      "sshd-config",
      "sshd_config lines",
      `TrustedUserCAKeys ${CA_FILE}\nRevokedKeys ${KRL_FILE}\n`,
    ),
    h("h3", {}, "Key revocation list"),
    h(
      "p",
      { class: "field-hint" },
      "Certificates, by serial: revoked ones, and every unexpired certificate of a key deleted or disabled since. It changes whenever that happens, so refresh the servers' copy on a timer (keypaird krl).",
    ),
    h("div", { class: "actions-left" }, krlButton),
    krlError,
  );
}

// The authorized_keys preview: what sshd's AuthorizedKeysCommand gets for a selector.
function authorizedKeysCard(ctx) {
  const project = ctx.project;
  const input = h("input", {
    type: "text",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "login=deploy",
  });
  const selector = field("Label selector", input, {
    id: "ak-selector",
    hint: "As the agent sends it for a login, e.g. login=deploy. k=v, k!=v, k (has label), !k (has not); a comma means and. Empty: every usable key.",
  });
  const result = h("div", { class: "ak-result", id: "ak-result" });
  const form = h(
    "form",
    { class: "ak-form", role: "search", "aria-label": "Preview authorized_keys", novalidate: true },
    h(
      "div",
      { class: "ak-row" },
      selector.wrapper,
      h("button", { type: "submit", class: "btn", id: "ak-preview" }, "Preview"),
    ),
  );
  const element = h(
    "section",
    { class: "card card-wide", id: "ak-card", "aria-labelledby": "ak-title" },
    h("h2", { id: "ak-title" }, "authorized_keys"),
    h(
      "p",
      {},
      `What sshd gets from keypaird through AuthorizedKeysCommand: the usable keys (not disabled, not expired) of project ${project} that you can see and that match a label selector. No certificate authority is needed for it.`,
    ),
    ...config(
      "akc-config",
      "AuthorizedKeysCommand lines",
      `AuthorizedKeysCommand /usr/bin/keypaird authorized-keys --url ${location.origin} --token-file /etc/keypaird/fleet.token --project ${project} --label-selector login=%u --cache-file /var/cache/keypaird-agent/%u.keys --max-stale 1h\nAuthorizedKeysCommandUser keypaird-agent\nAuthorizedKeysFile none\n`,
    ),
    h(
      "p",
      { class: "field-hint" },
      "The token file holds a read-only token of this project, readable only by the command's user; the cache keeps logins working for --max-stale while keypaird is unreachable. keypaird authorized-keys --help lists every option.",
    ),
    h("h3", {}, "Preview"),
    form,
    result,
  );

  let seq = 0;
  async function load() {
    const mine = ++seq;
    const value = input.value.replace(/\s+/g, "");
    setFieldError(selector, []);
    result.setAttribute("aria-busy", "true");
    let text;
    try {
      ({ data: text } = await ctx.api.authorizedKeys(project, value));
    } catch (err) {
      if (mine !== seq) return;
      result.removeAttribute("aria-busy");
      if (ctx.fail(err)) return;
      if (err instanceof ApiError && err.status === 400) {
        const msgs = [].concat(err.invalidFields.label_selector || err.message);
        setFieldError(selector, `${msgs.join(" ")} Write it like login=deploy or team=db,!temp.`);
        replace(result);
        return;
      }
      replace(
        result,
        h(
          "div",
          { class: "empty error", role: "alert" },
          h("h3", {}, "authorized_keys could not be loaded"),
          h("p", {}, explain(err)),
        ),
      );
      return;
    }
    if (mine !== seq) return;
    result.removeAttribute("aria-busy");
    const lines = text.split("\n").filter(Boolean);
    if (lines.length === 0) {
      replace(
        result,
        value
          ? emptyState(
              `No key matches ${value}`,
              `sshd would accept no key through keypaird for this selector. A key is listed when it carries these labels (set them on its page, e.g. login=deploy), is usable (not disabled, not expired), and is shared in project ${project} or yours.`,
              { heading: "h3" },
            )
          : emptyState(
              `No usable keys in project ${project}`,
              "sshd would accept no key through keypaird: there are none you can see, or all of them are disabled or expired.",
              { heading: "h3" },
            ),
      );
      announce("No keys match.");
      return;
    }
    const count = `${lines.length} key${lines.length === 1 ? "" : "s"}${value ? ` for ${value}` : ""}`;
    replace(
      result,
      h("p", { class: "ak-count", id: "ak-count" }, count),
      h(
        "pre",
        {
          class: "mono pubkey",
          id: "ak-lines",
          tabindex: "0",
          "aria-label": "authorized_keys lines",
        },
        text,
      ),
      h(
        "div",
        { class: "actions-left" },
        copyButton(text, "Copy lines: authorized_keys preview", {
          className: "btn btn-small",
          text: "Copy lines",
        }),
      ),
    );
    announce(count + ".");
  }

  let timer = null;
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(load, 400);
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    window.clearTimeout(timer);
    load();
  });
  return { element, load };
}

// ---------------------------------------------------------------------------------------
// On a key's page: request a certificate for the key, show it, download or revoke it.

function certFileName(name) {
  return `${(name || "key").replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "") || "key"}-cert.pub`;
}

// The card for a key the token may change (its owner or an admin, writable token).
export function certificateCard(ctx, key, { usable }) {
  const project = ctx.project;
  const card = h(
    "section",
    { class: "card card-wide", id: "cert-card", "aria-labelledby": "cert-title" },
    h("h2", { id: "cert-title" }, "SSH certificate"),
    h(
      "p",
      {},
      `A certificate lets this key log in as the chosen principals (logins) on servers that trust project ${project}'s CA, until it expires: no authorized_keys needed. `,
      h("a", { href: `#/projects/${project}/ssh` }, "Set up servers under SSH access"),
      ".",
    ),
  );
  const mine = ctx.principalsIn(ctx.project);
  if (!usable) {
    card.appendChild(
      h(
        "p",
        { class: "notice", id: "cert-unusable" },
        "This key is disabled or expired: only a usable key can be certified.",
      ),
    );
    return card;
  }
  if (!ctx.me.admin && mine.length === 0) {
    card.appendChild(
      h(
        "p",
        { class: "notice", id: "cert-no-principals" },
        "This token may not be issued certificates: it names no principals. Ask your administrator for a token made with keypaird token create --principals …",
      ),
    );
    return card;
  }

  // Principals: the token's, to tick; an admin token may name any, so it types them.
  let principals;
  if (ctx.me.admin) {
    const input = h("input", {
      type: "text",
      id: "cert-principals",
      autocomplete: "off",
      spellcheck: "false",
      value: mine.join(","),
      placeholder: "deploy,alice",
    });
    principals = field("Principals", input, {
      hint: "The logins it is valid for, separated by commas. An admin token may name any.",
    });
    principals.read = () => input.value.split(/[\s,]+/).filter(Boolean);
    principals.focus = () => input.focus();
  } else {
    const errorId = "cert-principals-error";
    const hintId = "cert-principals-hint";
    const boxes = mine.map((p, i) => {
      const id = `cert-principal-${i}`;
      const box = h("input", { type: "checkbox", id, value: p, checked: mine.length === 1 });
      return {
        box,
        row: h("div", { class: "field-check check-inline" }, box, h("label", { for: id }, p)),
      };
    });
    const error = h("p", { class: "field-error", id: errorId, hidden: true });
    const wrapper = h(
      "fieldset",
      { class: "field", id: "cert-principals", "aria-describedby": hintId },
      h("legend", {}, "Principals"),
      h(
        "p",
        { class: "field-hint", id: hintId },
        "The logins it is valid for: those this token may be issued.",
      ),
      h(
        "div",
        { class: "check-list" },
        boxes.map((b) => b.row),
      ),
      error,
    );
    principals = {
      wrapper,
      error,
      read: () => boxes.filter((b) => b.box.checked).map((b) => b.box.value),
      focus: () => boxes[0].box.focus(),
    };
  }
  const setPrincipalsError = (messages) => {
    if (principals.input) return setFieldError(principals, messages);
    const list = [].concat(messages).filter(Boolean);
    principals.error.textContent = list.join(" ");
    principals.error.hidden = list.length === 0;
    principals.wrapper.setAttribute(
      "aria-describedby",
      list.length ? "cert-principals-hint cert-principals-error" : "cert-principals-hint",
    );
  };

  const validity = field(
    "Valid for",
    h(
      "select",
      { id: "cert-validity" },
      VALIDITIES.map(([s, t]) => h("option", { value: String(s) }, t)),
    ),
    {
      hint: "From now. The service signs up to its --ca-max-validity (24 hours unless set otherwise).",
    },
  );
  validity.input.value = "3600";
  const errorBox = formError({ id: "cert-form-error" });
  const submit = h(
    "button",
    { type: "submit", class: "btn btn-primary", id: "request-cert" },
    "Request certificate",
  );
  const form = h(
    "form",
    { class: "form cert-form", novalidate: true, "aria-label": "Request a certificate" },
    h("div", { class: "field-row" }, principals.wrapper, validity.wrapper),
    errorBox,
    h("div", { class: "actions-left" }, submit),
  );
  const result = h("div", { class: "cert-result", id: "cert-result" });
  card.append(form, result);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showFormError(errorBox, "");
    setPrincipalsError([]);
    setFieldError(validity, []);
    const chosen = principals.read();
    if (chosen.length === 0) {
      setPrincipalsError(
        "Choose at least one principal: a certificate without any would be valid for every login.",
      );
      return principals.focus();
    }
    const bad = chosen.find((p) => !PRINCIPAL_RE.test(p));
    if (bad) {
      setPrincipalsError(`“${bad}” is not a valid principal: use letters, digits and . _ @ -.`);
      return principals.focus();
    }
    submit.disabled = true;
    submit.textContent = "Requesting…";
    try {
      const { data } = await ctx.api.signKey(project, key.id, {
        principals: chosen,
        valid_for: Number(validity.input.value),
      });
      showCertificate(ctx, key, data, result);
      toast(`Certificate ${data.serial} issued.`, "ok");
    } catch (err) {
      if (ctx.fail(err)) return;
      placeCertErrors(
        err,
        { principals: setPrincipalsError, valid_for: (m) => setFieldError(validity, m) },
        errorBox,
        form,
      );
    } finally {
      submit.disabled = false;
      submit.textContent = "Request certificate";
    }
  });
  return card;
}

function placeCertErrors(err, fields, box, form) {
  if (err instanceof ApiError && err.status === 400) {
    const unplaced = placeFieldErrors(err.invalidFields, fields);
    showFormError(
      box,
      unplaced.length
        ? unplaced.join(" ")
        : Object.keys(err.invalidFields).length
          ? ""
          : explain(err),
    );
    focusFirstInvalid(form);
    return;
  }
  if (caDisabled(err)) {
    showFormError(
      box,
      "The SSH certificate authority is not enabled on this keypaird, so no certificate can be issued. The operator enables it by starting the service with --ca-kek-file (see SSH access).",
    );
    return;
  }
  showFormError(box, explain(err));
}

function showCertificate(ctx, key, cert, result) {
  const project = ctx.project;
  const fileName = certFileName(key.name);
  const status = h("span", { class: "badge badge-ok", id: "cert-status" }, "Valid");
  const download = h(
    "button",
    {
      type: "button",
      class: "btn btn-primary",
      id: "download-cert",
      on: {
        click: () => {
          saveFile(cert.certificate + "\n", fileName, "text/plain");
          toast(`Saved as ${fileName} in your downloads.`, "ok");
        },
      },
    },
    `Download ${fileName}`,
  );
  const revoke = h(
    "button",
    { type: "button", class: "btn btn-danger", id: "revoke-cert" },
    "Revoke…",
  );
  const headingId = uid("cert-heading");
  replace(
    result,
    h(
      "div",
      { class: "cert-head" },
      h("h3", { id: headingId }, `Certificate ${cert.serial}`),
      status,
    ),
    h(
      "dl",
      { class: "details" },
      h("dt", {}, "Serial"),
      h("dd", {}, h("code", { id: "cert-serial" }, cert.serial)),
      h("dt", {}, "Principals"),
      h("dd", { id: "cert-principals-issued" }, cert.principals.join(", ")),
      h("dt", {}, "Valid from"),
      h("dd", {}, h("time", { datetime: cert.valid_after }, formatTime(cert.valid_after))),
      h("dt", {}, "Valid until"),
      h(
        "dd",
        {},
        h(
          "time",
          { datetime: cert.valid_before, id: "cert-valid-before" },
          formatTime(cert.valid_before),
        ),
      ),
      h("dt", {}, "Key ID"),
      h("dd", {}, h("code", {}, cert.key_id)),
    ),
    h(
      "pre",
      { class: "mono pubkey", id: "certificate", tabindex: "0", "aria-label": "Certificate" },
      cert.certificate,
    ),
    h(
      "div",
      { class: "actions-left" },
      download,
      copyButton(cert.certificate, "Copy certificate", {
        className: "btn",
        text: "Copy certificate",
      }),
      revoke,
    ),
    h(
      "p",
      { class: "field-hint" },
      `Save it beside the private key it certifies (${fileName} next to ${fileName.replace(/-cert\.pub$/, "")}): ssh then offers it by itself. Or name it with ssh -o CertificateFile=….`,
    ),
  );
  announce(`Certificate ${cert.serial} issued, valid until ${formatTime(cert.valid_before)}.`);
  download.focus();

  revoke.addEventListener("click", () =>
    confirmDialog(`Revoke certificate ${cert.serial}?`, {
      text: `Certificate ${cert.serial} (${cert.principals.join(", ")}) goes into project ${project}'s key revocation list at once. Servers refuse it once they have the new KRL; it cannot be undone.`,
      action: "Revoke certificate",
      id: "confirm-revoke",
      run: async () => {
        await ctx.api.revokeCertificate(project, cert.serial);
        status.textContent = "Revoked";
        status.className = "badge badge-bad";
        revoke.remove();
        toast(`Certificate ${cert.serial} revoked.`, "ok");
      },
      done: () => download.focus(), // the revoke button is gone
      describe: (err) => (ctx.fail(err) ? null : explain(err)),
    }),
  );
}
