// SSH access: the project's certificate authority (its public key and the sshd_config lines
// that trust it, the KRL to download) and the authorized_keys sshd would get for a label
// selector. Loaded only when it is opened, so the first load stays small.
import { ApiError, explain } from "./api.js";
import { h, replace, copyButton, formatTime, field, setFieldError, toast, announce, saveFile } from "./dom.js";

const CA_FILE = "/etc/ssh/keypaird_ca.pub";
const KRL_FILE = "/etc/ssh/keypaird.krl";

// A 404 from a CA route that means "this service runs without a CA" (not "no such key").
export function caDisabled(err) {
  return err instanceof ApiError && err.status === 404 && /ca-kek-file|certificate authority/i.test(err.message);
}

function config(id, label, text) {
  return [
    h("pre", { class: "mono pubkey config", id, tabindex: "0", "aria-label": label }, text),
    h("div", { class: "actions-left" }, copyButton(text, `Copy lines: ${label}`, { className: "btn btn-small", text: "Copy lines" })),
  ];
}

function emptyState(title, text) {
  return h("div", { class: "empty" }, h("h3", {}, title), h("p", {}, text));
}

// ---------------------------------------------------------------------------------------
// The SSH access view (#/projects/{id}/ssh).

export async function renderSsh(ctx) {
  const project = ctx.project;
  const caCard = h("section", { class: "card card-wide", id: "ca-card", "aria-labelledby": "ca-title", "aria-busy": "true" }, h("h2", { id: "ca-title" }, "Certificate authority"), h("p", { class: "loading" }, "Loading…"));
  const akCard = authorizedKeysCard(ctx);
  replace(
    ctx.main,
    h(
      "section",
      { class: "page", "aria-labelledby": "ssh-title" },
      h("div", { class: "page-head" }, h("h1", { id: "ssh-title", tabindex: "-1" }, "SSH access ", h("span", { class: "muted" }, `· project ${project}`))),
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
    if (caDisabled(err)) {
      replace(
        card,
        title,
        h("p", { class: "notice", id: "ca-disabled" }, "The SSH certificate authority is not enabled on this keypaird: there is no CA key for servers to trust, and certificates cannot be issued. authorized_keys (below) works without it."),
        h("p", {}, "To enable it, the operator makes a key-encryption key once and starts the service with it (keep that file safe and backed up: it seals every project's CA key):"),
        ...config("ca-enable", "commands that enable the CA", "keypaird ca new-kek /etc/keypaird/ca.kek\nkeypaird serve … --ca-kek-file /etc/keypaird/ca.kek\n"),
      );
      return;
    }
    const text =
      err instanceof ApiError && err.status === 403
        ? `This token may not use project ${project}. Choose one of your projects in the Project menu above.`
        : explain(err);
    replace(card, title, h("div", { class: "empty error", role: "alert" }, h("h3", {}, "The certificate authority could not be loaded"), h("p", {}, text), h("button", { type: "button", class: "btn", on: { click: () => fillCa(ctx, card) } }, "Try again")));
    return;
  }
  card.removeAttribute("aria-busy");

  const krlError = h("p", { class: "field-error", id: "krl-error", role: "alert", hidden: true });
  const krlButton = h("button", { type: "button", class: "btn", id: "download-krl" }, "Download keypaird.krl");
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

  replace(
    card,
    title,
    h("p", {}, `Servers that trust this CA accept the certificates keypaird issues for keys of project ${project}, for the logins (principals) each names, until it expires. Request one on a key's page.`),
    h(
      "dl",
      { class: "details" },
      h("dt", {}, "SHA-256"),
      h("dd", {}, h("code", { id: "ca-fingerprint" }, ca.fingerprint_sha256)),
      h("dt", {}, "Created"),
      h("dd", {}, h("time", { datetime: ca.created_at }, formatTime(ca.created_at))),
    ),
    h("h3", {}, "Public key"),
    h("pre", { class: "mono pubkey", id: "ca-public-key", tabindex: "0", "aria-label": "CA public key" }, ca.public_key),
    h(
      "div",
      { class: "actions-left" },
      copyButton(ca.public_key, "Copy public key of the CA", { className: "btn btn-small", text: "Copy public key" }),
      h("button", { type: "button", class: "btn btn-small", id: "download-ca", on: { click: () => saveFile(ca.public_key + "\n", "keypaird_ca.pub", "text/plain") } }, "Download keypaird_ca.pub"),
    ),
    h("h3", {}, "sshd_config"),
    h("p", { class: "field-hint" }, `On each server: save the public key as ${CA_FILE} and the KRL as ${KRL_FILE}, add these lines to /etc/ssh/sshd_config, then reload sshd.`),
    ...config("sshd-config", "sshd_config lines", `TrustedUserCAKeys ${CA_FILE}\nRevokedKeys ${KRL_FILE}\n`),
    h("h3", {}, "Key revocation list"),
    h("p", { class: "field-hint" }, "Revoked certificates, and keys deleted or disabled after they were certified. It changes whenever that happens, so refresh the servers' copy on a timer (keypaird krl)."),
    h("div", { class: "actions-left" }, krlButton),
    krlError,
  );
}

// The authorized_keys preview: what sshd's AuthorizedKeysCommand gets for a selector.
function authorizedKeysCard(ctx) {
  const project = ctx.project;
  const input = h("input", { type: "text", autocomplete: "off", spellcheck: "false", placeholder: "login=deploy" });
  const selector = field("Label selector", input, {
    id: "ak-selector",
    hint: "As the agent sends it for a login, e.g. login=deploy. k=v, k!=v, k (has label), !k (has not); a comma means and. Empty: every usable key.",
  });
  const result = h("div", { class: "ak-result", id: "ak-result" });
  const form = h(
    "form",
    { class: "ak-form", role: "search", "aria-label": "Preview authorized_keys", novalidate: true },
    h("div", { class: "ak-row" }, selector.wrapper, h("button", { type: "submit", class: "btn", id: "ak-preview" }, "Preview")),
  );
  const element = h(
    "section",
    { class: "card card-wide", id: "ak-card", "aria-labelledby": "ak-title" },
    h("h2", { id: "ak-title" }, "authorized_keys"),
    h("p", {}, `What sshd gets from keypaird through AuthorizedKeysCommand: the usable keys (not disabled, not expired) of project ${project} that you can see and that match a label selector. No certificate authority is needed for it.`),
    ...config("akc-config", "AuthorizedKeysCommand lines", "AuthorizedKeysCommand /usr/bin/keypaird authorized-keys --label-selector login=%u\nAuthorizedKeysCommandUser nobody\n"),
    h("p", { class: "field-hint" }, "The agent also needs the service's address, the project and a read-only token: keypaird authorized-keys --help lists its options."),
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
      replace(result, h("div", { class: "empty error", role: "alert" }, h("h3", {}, "authorized_keys could not be loaded"), h("p", {}, explain(err))));
      return;
    }
    if (mine !== seq) return;
    result.removeAttribute("aria-busy");
    const lines = text.split("\n").filter(Boolean);
    if (lines.length === 0) {
      replace(
        result,
        value
          ? emptyState(`No key matches ${value}`, `sshd would accept no key through keypaird for this selector. A key is listed when it carries these labels (set them on its page, e.g. login=deploy), is usable (not disabled, not expired), and is shared in project ${project} or yours.`)
          : emptyState(`No usable keys in project ${project}`, "sshd would accept no key through keypaird: there are none you can see, or all of them are disabled or expired."),
      );
      announce("No keys match.");
      return;
    }
    const count = `${lines.length} key${lines.length === 1 ? "" : "s"}${value ? ` for ${value}` : ""}`;
    replace(
      result,
      h("p", { class: "ak-count", id: "ak-count" }, count),
      h("pre", { class: "mono pubkey", id: "ak-lines", tabindex: "0", "aria-label": "authorized_keys lines" }, text),
      h("div", { class: "actions-left" }, copyButton(text, "Copy lines: authorized_keys preview", { className: "btn btn-small", text: "Copy lines" })),
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
