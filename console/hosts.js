// Hosts (#/projects/{id}/hosts; docs/ssh-access.md "Hosts"): the project's host CA and the
// known_hosts line that trusts it (for everyone in the project); for its administrators the
// enrolled hosts (names, key fingerprints, certificate expiry, deleted after asking) and the
// join tokens servers enrol with (made, the token shown once, listed, deleted). Loaded only
// when opened.
import { ApiError, explain } from "./api.js";
import {
  h,
  replace,
  projectPage,
  field,
  setFieldError,
  formError,
  showFormError,
  placeFieldErrors,
  focusFirstInvalid,
  confirmDialog,
  copyButton,
  emptyState,
  formatTime,
  chipList,
  toast,
  announce,
  relative,
} from "./dom.js";
import { caDisabled, caKeys } from "./ssh.js";

const DAY_MS = 24 * 3600 * 1000;
const EXPIRIES = [
  [3600, "1 hour"],
  [24 * 3600, "1 day"],
  [7 * 24 * 3600, "7 days"],
  [30 * 24 * 3600, "30 days"],
];
const TOKEN_FILE = "/root/join-token";

// True when this token may read but not change (a person's session changes what its role lets).
function readOnly(ctx) {
  return ctx.me.via !== "session" && ctx.me.read_only;
}

// A 404 from reading the host CA of a project that has none yet (a read never makes one).
function hostCaMissing(err) {
  return (
    err instanceof ApiError &&
    err.status === 404 &&
    /has no SSH host certificate authority yet/i.test(err.message)
  );
}

export async function renderHosts(ctx) {
  const project = ctx.project;
  const admin = ctx.roleIn(project) === "admin";
  const page = {
    ctx,
    project,
    admin,
    // May make the host CA: any token of the project that may write.
    mayMakeCa: ctx.canWrite && !readOnly(ctx),
    // May make and delete join tokens and delete hosts.
    mayChange: admin && !readOnly(ctx),
    caCard: h(
      "section",
      {
        class: "card",
        id: "host-ca-card",
        "aria-labelledby": "host-ca-title",
        "aria-busy": "true",
      },
      h("h2", { id: "host-ca-title" }, "Host certificate authority"),
      loading(),
    ),
    hostsBox: h("div", { id: "hosts-results", "aria-busy": "true" }, loading()),
    tokensBox: h("div", { id: "join-tokens-results", "aria-busy": "true" }, loading()),
    madeBox: h("div", { id: "join-token-made-box" }),
  };
  replace(
    ctx.main,
    projectPage(
      "hosts-title",
      "Hosts",
      project,
      h(
        "div",
        { class: "people-stack" },
        admin ? hostsCard(page) : refused(project),
        page.caCard,
        admin ? tokensCard(page) : null,
      ),
    ),
  );
  const loads = [fillHostCa(page)];
  if (admin) loads.push(loadHosts(page), loadTokens(page));
  await Promise.all(loads);
}

function loading() {
  return h("p", { class: "loading" }, "Loading…");
}

function refused(project) {
  return h(
    "div",
    { class: "card", id: "hosts-refused" },
    emptyState(
      "Only administrators manage hosts",
      `The servers enrolled in project ${project} and the join tokens they enrol with are for the project's administrators. What you need to trust those servers from your computer is below: the host certificate authority's known_hosts line.`,
    ),
  );
}

function readOnlyNote(what) {
  return h(
    "p",
    { class: "notice", id: `${what}-read-only` },
    "This token is read-only: it shows them but cannot change them.",
  );
}

// Puts `heading`'s focus back after its list was redrawn (a deleted row's button is gone).
function focusHeading(id) {
  const title = document.getElementById(id);
  if (title) {
    title.setAttribute("tabindex", "-1");
    title.focus();
  }
}

// The `results` of a list's answer (`call`, a pending API call), or null when it failed,
// which `box` then says under `heading`.
async function results(ctx, box, call, heading) {
  let data;
  try {
    ({ data } = await call);
  } catch (err) {
    if (ctx.fail(err)) return null;
    box.removeAttribute("aria-busy");
    replace(
      box,
      h(
        "div",
        { class: "empty error", role: "alert" },
        h("h3", {}, heading),
        h("p", {}, explain(err)),
      ),
    );
    return null;
  }
  box.removeAttribute("aria-busy");
  return data.results || [];
}

function time(iso, id) {
  return h("time", { datetime: iso, id }, formatTime(iso));
}

// ---- Hosts

function hostsCard(page) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "hosts-list-title" },
    h("h2", { id: "hosts-list-title" }, `Hosts enrolled in project ${page.project}`),
    h(
      "p",
      { class: "field-hint" },
      "Servers that enrolled with a join token (keypaird host enroll) and carry host certificates for their names, signed by the host certificate authority below. keypaird host renew renews them once a third of their validity is left.",
    ),
    readOnly(page.ctx) ? readOnlyNote("hosts") : null,
    page.hostsBox,
  );
}

async function loadHosts(page) {
  const { ctx, project, hostsBox } = page;
  const hosts = await results(
    ctx,
    hostsBox,
    ctx.api.hosts(project),
    "The hosts could not be loaded",
  );
  if (!hosts) return;
  if (hosts.length === 0) {
    replace(
      hostsBox,
      emptyState(
        `No hosts enrolled in project ${project} yet`,
        page.mayChange
          ? "A server enrols with a join token: make one below, then run keypaird host enroll on the server with it."
          : "A server enrols with a join token that an administrator of the project makes.",
        { heading: "h3" },
      ),
    );
    return;
  }
  replace(hostsBox, hostsTable(page, hosts));
}

// How a host's certificates stand: expired, soon to expire, or valid. "Soon": less than a
// week left, or for short certificates less than the third of their validity at which
// `keypaird host renew` renews them (a host past that has missed its renewals).
export function expiryOf(host, now = Date.now()) {
  const before = Date.parse(host.valid_before);
  if (Number.isNaN(before)) return { text: "Unknown", cls: "muted" };
  if (before <= now) return { text: "Expired", cls: "bad" };
  const issued = Date.parse(host.renewed_at);
  const third = Number.isNaN(issued) ? Infinity : (before - issued) / 3;
  if (before - now < Math.min(7 * DAY_MS, third)) return { text: "Expires soon", cls: "warn" };
  return { text: "Valid", cls: "ok" };
}

function hostName(host) {
  return host.hostnames[0] || `host ${host.id}`;
}

function hostsTable(page, hosts) {
  return h(
    "div",
    { class: "results" },
    h(
      "table",
      { class: "keys hosts" },
      h("caption", { class: "visually-hidden" }, `Hosts enrolled in project ${page.project}`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Host names", "Key fingerprints", "Certificates", "Enrolled", "Last renewed"]
            .concat(page.mayChange ? ["Actions"] : [])
            .map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h(
        "tbody",
        {},
        hosts.map((host) => hostRow(page, host)),
      ),
    ),
  );
}

function hostRow(page, host) {
  const expiry = expiryOf(host);
  const name = hostName(host);
  return h(
    "tr",
    { "data-host": host.id },
    h(
      "td",
      { "data-label": "Host names" },
      chipList(host.hostnames, "none"),
      h("div", { class: "muted small" }, `Host ${host.id}`),
    ),
    h(
      "td",
      { "data-label": "Key fingerprints" },
      h(
        "div",
        { class: "fps" },
        host.key_fingerprints.map((fp, i) =>
          h(
            "div",
            { class: "fp" },
            h("code", { class: "fp-text" }, fp),
            copyButton(fp, `Copy fingerprint ${i + 1} of ${name}`),
          ),
        ),
      ),
    ),
    h(
      "td",
      { "data-label": "Certificates" },
      h(
        "div",
        { class: "expiry" },
        h("span", { class: `badge badge-${expiry.cls}`, "data-expiry": expiry.cls }, expiry.text),
        h(
          "span",
          {},
          expiry.cls === "bad" ? "expired " : "until ",
          time(host.valid_before),
          h("span", { class: "muted small" }, ` (${relative(host.valid_before)})`),
        ),
      ),
    ),
    h("td", { "data-label": "Enrolled" }, time(host.enrolled_at)),
    h(
      "td",
      { "data-label": "Last renewed" },
      host.renewed_at === host.enrolled_at
        ? h("span", { class: "muted" }, "not yet")
        : time(host.renewed_at),
    ),
    page.mayChange
      ? h(
          "td",
          { "data-label": "Actions" },
          h(
            "button",
            {
              type: "button",
              class: "btn btn-small btn-danger",
              id: `delete-host-${host.id}`,
              "aria-label": `Delete host ${name}`,
              on: { click: () => confirmDeleteHost(page, host) },
            },
            "Delete…",
          ),
        )
      : null,
  );
}

function confirmDeleteHost(page, host) {
  const { ctx, project } = page;
  const name = hostName(host);
  confirmDialog(`Delete host ${name}?`, {
    text: `Host ${host.id} (${host.hostnames.join(", ")}) leaves project ${project} at once, on every node: its host token stops, so it can no longer renew its certificates or read the project's CA keys, KRL and authorized_keys, and its certificates are revoked (their serials go into the project's KRL until they expire; clients with RevokedHostKeys refuse them). To come back, the server enrols again with a join token.`,
    action: "Delete host",
    id: "confirm-delete-host",
    run: () => ctx.api.deleteHost(project, host.id),
    done: async () => {
      toast(`Deleted host ${name}.`, "ok");
      await loadHosts(page);
      focusHeading("hosts-list-title");
    },
    describe: (err) => {
      if (ctx.fail(err)) return null;
      if (err instanceof ApiError && err.status === 404) {
        toast("That host was deleted already.", "info");
        loadHosts(page);
        return null;
      }
      return explain(err);
    },
  });
}

// ---- The host CA and its known_hosts line

async function fillHostCa(page) {
  const { ctx, project, caCard: card } = page;
  const title = h("h2", { id: "host-ca-title" }, "Host certificate authority");
  let ca;
  try {
    ({ data: ca } = await ctx.api.sshHostCa(project));
  } catch (err) {
    card.removeAttribute("aria-busy");
    if (ctx.fail(err)) return;
    if (hostCaMissing(err)) {
      hostCaMissingCard(page, title);
      return;
    }
    if (caDisabled(err)) {
      replace(
        card,
        title,
        h(
          "p",
          { class: "notice", id: "host-ca-disabled" },
          "The SSH certificate authority is not enabled on this keypaird, so hosts cannot enrol: there is nothing to certify them with. The operator enables it by starting the service with --ca-kek-file (see SSH access).",
        ),
      );
      return;
    }
    replace(
      card,
      title,
      h(
        "div",
        { class: "empty error", role: "alert" },
        h("h3", {}, "The host certificate authority could not be loaded"),
        h("p", {}, explain(err)),
        h(
          "button",
          { type: "button", class: "btn", on: { click: () => fillHostCa(page) } },
          "Try again",
        ),
      ),
    );
    return;
  }
  card.removeAttribute("aria-busy");
  const kh = knownHostsForm(page);
  replace(
    card,
    title,
    h(
      "p",
      {},
      `It signs the host certificates of project ${project}'s servers. A computer that trusts it for their names connects to them without asking about their host keys, and is warned if a server shows another key.`,
    ),
    h(
      "dl",
      { class: "details" },
      h("dt", {}, "SHA-256"),
      h("dd", {}, h("code", { id: "host-ca-fingerprint" }, ca.fingerprint_sha256)),
      h("dt", {}, "Created"),
      h("dd", {}, time(ca.created_at)),
    ),
    ...caKeys(ctx, ca, "host", () => fillHostCa(page)),
    h("h3", { id: "known-hosts-title" }, "known_hosts"),
    kh.element,
  );
  await kh.load();
}

function hostCaMissingCard(page, title) {
  const { ctx, project, caCard: card } = page;
  const parts = [
    title,
    h(
      "p",
      { class: "notice", id: "host-ca-missing" },
      `Project ${project} has no host certificate authority yet. The first server that enrols makes it; make it now to give computers its known_hosts line before any server enrols.`,
    ),
  ];
  if (!page.mayMakeCa) {
    replace(card, ...parts);
    return;
  }
  const error = h("p", {
    class: "field-error",
    id: "create-host-ca-error",
    role: "alert",
    hidden: true,
  });
  const button = h(
    "button",
    { type: "button", class: "btn btn-primary", id: "create-host-ca" },
    "Make the host certificate authority",
  );
  button.addEventListener("click", async () => {
    button.disabled = true;
    error.hidden = true;
    try {
      await ctx.api.createSshHostCa(project);
      toast(`Project ${project} has its host certificate authority.`, "ok");
      await fillHostCa(page);
      focusHeading("host-ca-title");
    } catch (err) {
      if (ctx.fail(err)) return;
      error.textContent = caDisabled(err)
        ? "The SSH certificate authority is not enabled on this keypaird (serve --ca-kek-file)."
        : explain(err);
      error.hidden = false;
      button.disabled = false;
    }
  });
  replace(card, ...parts, h("div", { class: "actions-left" }, button), error);
}

// The known_hosts line for the patterns typed (every host, `*`, when none), with Copy.
function knownHostsForm(page) {
  const { ctx, project } = page;
  const input = h("input", {
    type: "text",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "*.example.com",
  });
  const patterns = field("Trusted for the host names", input, {
    id: "known-hosts-patterns",
    hint: "known_hosts patterns, separated by commas, e.g. *.example.com. Empty: every host (*). Name only your servers' domains: the CA is then trusted for nothing else.",
  });
  const result = h("div", { class: "kh-result", id: "known-hosts-result" });
  const form = h(
    "form",
    {
      class: "ak-form",
      novalidate: true,
      "aria-label": "known_hosts line for host names",
    },
    h(
      "div",
      { class: "ak-row" },
      patterns.wrapper,
      h("button", { type: "submit", class: "btn", id: "known-hosts-show" }, "Show line"),
    ),
  );

  // Answers true when the line is shown.
  let seq = 0;
  async function load() {
    const mine = ++seq;
    const value = input.value.replace(/\s+/g, "");
    setFieldError(patterns, []);
    result.setAttribute("aria-busy", "true");
    let text;
    try {
      ({ data: text } = await ctx.api.hostKnownHosts(project, value));
    } catch (err) {
      if (mine !== seq) return false;
      result.removeAttribute("aria-busy");
      if (ctx.fail(err)) return false;
      if (err instanceof ApiError && err.status === 400) {
        setFieldError(patterns, [].concat(err.invalidFields.hosts || err.message));
        replace(result);
        input.focus();
        return false;
      }
      replace(result, h("p", { class: "field-error", role: "alert" }, explain(err)));
      return false;
    }
    if (mine !== seq) return false;
    result.removeAttribute("aria-busy");
    const shown = value || "*";
    const command = `keypaird ssh-config --url ${location.origin} --project ${project} --hosts '${shown}' --write ~/.ssh/known_hosts`;
    replace(
      result,
      h(
        "pre",
        {
          class: "mono pubkey",
          id: "known-hosts-line",
          tabindex: "0",
          "aria-label": "known_hosts line",
        },
        text,
      ),
      h(
        "div",
        { class: "actions-left" },
        copyButton(text, "Copy line: known_hosts", {
          className: "btn btn-small",
          text: "Copy line",
        }),
      ),
      h(
        "p",
        { class: "field-hint" },
        "On each computer that connects to these servers, add the line to ~/.ssh/known_hosts (or /etc/ssh/ssh_known_hosts for every user), or let keypaird write it there, replacing its earlier line for the same names:",
      ),
      h(
        "pre",
        {
          class: "mono pubkey config",
          id: "ssh-config-command",
          tabindex: "0",
          "aria-label": "keypaird ssh-config command",
        },
        command,
      ),
      h(
        "div",
        { class: "actions-left" },
        copyButton(command, "Copy command: keypaird ssh-config", {
          className: "btn btn-small",
          text: "Copy command",
        }),
      ),
    );
    return true;
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load().then((shown) => shown && announce("known_hosts line updated."));
  });
  return { element: h("div", {}, form, result), load };
}

// ---- Join tokens

function tokensCard(page) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "join-tokens-title" },
    h("h2", { id: "join-tokens-title" }, "Join tokens"),
    h(
      "p",
      { class: "field-hint" },
      "A server enrols with a join token: it names the host names the server may take, how many servers may use it and until when. keypaird keeps only its hash, so it is shown once, when made.",
    ),
    page.mayChange ? joinTokenForm(page) : readOnlyNote("join-tokens"),
    page.madeBox,
    h("h3", { id: "join-tokens-list-title" }, "Tokens of this project"),
    page.tokensBox,
  );
}

async function loadTokens(page) {
  const { ctx, project, tokensBox } = page;
  const tokens = await results(
    ctx,
    tokensBox,
    ctx.api.joinTokens(project),
    "The join tokens could not be loaded",
  );
  if (!tokens) return;
  if (tokens.length === 0) {
    replace(
      tokensBox,
      emptyState(
        `No join tokens in project ${project}`,
        page.mayChange
          ? "Make one above for the servers that are to enrol."
          : "An administrator of the project with a token that may write makes them.",
        { heading: "h4" },
      ),
    );
    return;
  }
  replace(
    tokensBox,
    h(
      "div",
      { class: "results" },
      h(
        "table",
        { class: "keys join-tokens" },
        h("caption", { class: "visually-hidden" }, `Join tokens of project ${project}`),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Id", "Host names", "Uses left", "Expires", "Created"]
              .concat(page.mayChange ? ["Actions"] : [])
              .map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h(
          "tbody",
          {},
          tokens.map((t) => tokenRow(page, t)),
        ),
      ),
    ),
  );
}

function tokenState(t, now = Date.now()) {
  if (Date.parse(t.expires_at) <= now) return { text: "Expired", cls: "bad" };
  if (t.uses_left <= 0) return { text: "Used up", cls: "muted" };
  return { text: "Usable", cls: "ok" };
}

function tokenRow(page, t) {
  const st = tokenState(t);
  return h(
    "tr",
    { "data-join-token": t.id },
    h("td", { "data-label": "Id" }, h("code", { class: "fp-text" }, t.id)),
    h("td", { "data-label": "Host names" }, chipList(t.hostnames, "none")),
    h("td", { "data-label": "Uses left" }, `${t.uses_left} of ${t.uses}`),
    h(
      "td",
      { "data-label": "Expires" },
      h(
        "div",
        { class: "expiry" },
        h("span", { class: `badge badge-${st.cls}` }, st.text),
        time(t.expires_at),
      ),
    ),
    h("td", { "data-label": "Created" }, time(t.created_at)),
    page.mayChange
      ? h(
          "td",
          { "data-label": "Actions" },
          h(
            "button",
            {
              type: "button",
              class: "btn btn-small btn-danger",
              id: `delete-join-token-${t.id}`,
              "aria-label": `Delete join token ${t.id}`,
              on: { click: () => confirmDeleteToken(page, t) },
            },
            "Delete…",
          ),
        )
      : null,
  );
}

function confirmDeleteToken(page, t) {
  const { ctx, project } = page;
  confirmDialog(`Delete join token ${t.id}?`, {
    text: `No server can enrol with it from now on (it allows ${t.hostnames.join(", ")}; ${t.uses_left} of ${t.uses} uses left). The servers that enrolled with it stay enrolled.`,
    action: "Delete join token",
    id: "confirm-delete-join-token",
    run: () => ctx.api.deleteJoinToken(project, t.id),
    done: async () => {
      toast(`Deleted join token ${t.id}.`, "ok");
      await loadTokens(page);
      focusHeading("join-tokens-list-title");
    },
    describe: (err) => {
      if (ctx.fail(err)) return null;
      if (err instanceof ApiError && err.status === 404) {
        toast("That join token was deleted already.", "info");
        loadTokens(page);
        return null;
      }
      return explain(err);
    },
  });
}

// Words separated by commas or spaces.
function words(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

function joinTokenForm(page) {
  const { ctx, project } = page;
  const hostnames = field(
    "Host names",
    h("input", {
      type: "text",
      autocomplete: "off",
      spellcheck: "false",
      required: true,
      placeholder: "web-1.example.com, *.db.example.com",
    }),
    {
      id: "join-hostnames",
      hint: "The names servers may enrol as, separated by commas or spaces: DNS names, or *.name for exactly one more label (*.db.example.com allows pg-1.db.example.com, not db.example.com).",
    },
  );
  const uses = field(
    "Uses",
    h("input", {
      type: "number",
      min: "1",
      max: "1000",
      step: "1",
      inputmode: "numeric",
      value: "1",
    }),
    { id: "join-uses", hint: "How many servers may enrol with it (1 to 1000)." },
  );
  const expires = field(
    "Usable for",
    h(
      "select",
      {},
      EXPIRIES.map(([s, t]) => h("option", { value: String(s) }, t)),
    ),
    { id: "join-expires", hint: "From now; enrolled servers stay after it expires." },
  );
  const box = formError({ id: "join-form-error" });
  const submit = h(
    "button",
    { type: "submit", class: "btn btn-primary", id: "join-create" },
    "Make join token",
  );
  const form = h(
    "form",
    { class: "form join-form", novalidate: true, "aria-labelledby": "join-form-title" },
    h("h3", { id: "join-form-title" }, "Make a join token"),
    box,
    hostnames.wrapper,
    h("div", { class: "field-row" }, uses.wrapper, expires.wrapper),
    h("div", { class: "actions-left" }, submit),
  );
  const all = [hostnames, uses, expires];

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showFormError(box, "");
    for (const f of all) setFieldError(f, []);
    const names = words(hostnames.input.value);
    if (names.length === 0) {
      setFieldError(hostnames, "Name at least one host name, like web-1.example.com.");
      hostnames.input.focus();
      return;
    }
    const count = Number(uses.input.value);
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      setFieldError(uses, "A whole number from 1 to 1000.");
      uses.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const { data } = await ctx.api.createJoinToken(project, {
        hostnames: names,
        uses: count,
        expires_in: Number(expires.input.value),
      });
      hostnames.input.value = "";
      uses.input.value = "1";
      showToken(page, data);
      await loadTokens(page);
    } catch (err) {
      if (ctx.fail(err)) return;
      if (err instanceof ApiError && err.status === 400) {
        const unplaced = placeFieldErrors(err.invalidFields, {
          hostnames: (m) => setFieldError(hostnames, m),
          uses: (m) => setFieldError(uses, m),
          expires_in: (m) => setFieldError(expires, m),
        });
        showFormError(
          box,
          unplaced.length
            ? unplaced.join(" ")
            : Object.keys(err.invalidFields).length
              ? "Correct the fields marked below and try again."
              : explain(err),
        );
        focusFirstInvalid(form);
        return;
      }
      showFormError(box, explain(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// The command a server enrols with: the first name the token allows (a pattern's `*` as
// HOST, to be replaced by the server's own name).
function enrollCommand(project, made) {
  const name = (made.hostnames[0] || "HOST").replace(/^\*\./, "HOST.");
  return [
    `install -m 0600 /dev/stdin ${TOKEN_FILE}   # paste the token, Enter, then Ctrl-D`,
    `keypaird host enroll --url ${location.origin} --project ${project} --join-token-file ${TOKEN_FILE} --hostname ${name}`,
  ].join("\n");
}

// The token just made, shown this once in the join tokens card: gone when hidden or when
// the page is left (nothing keeps it but this view).
function showToken(page, made) {
  const { project, madeBox } = page;
  let secret = made.token;
  const area = h("textarea", {
    class: "mono secret",
    readonly: true,
    rows: "2",
    id: "join-token-secret",
    spellcheck: "false",
    "aria-describedby": "join-token-warning",
  });
  area.value = secret;
  const command = enrollCommand(project, made);
  const copy = copyButton(() => secret || "", "Copy join token", {
    className: "btn",
    text: "Copy join token",
  });
  copy.id = "join-token-copy";
  const hide = h(
    "button",
    {
      type: "button",
      class: "btn",
      id: "join-token-done",
      on: {
        click: () => {
          secret = null;
          area.value = "";
          replace(madeBox);
          announce("The join token is hidden; it cannot be shown again.");
          document.getElementById("join-hostnames").focus();
        },
      },
    },
    "Done, hide it",
  );
  const uses = made.uses === 1 ? "one server" : `${made.uses} servers`;
  replace(
    madeBox,
    h(
      "div",
      { class: "secret-view join-token-made", id: "join-token-made" },
      h("h3", {}, `Join token ${made.id}`),
      h(
        "div",
        { class: "warning", id: "join-token-warning", role: "alert" },
        h("strong", {}, "Copy the join token now. "),
        "This is the only time it is shown: keypaird keeps only its hash, and hiding it or leaving this page forgets it. Whoever holds it can enrol a server under the names it allows, so pass it on as you would a password.",
      ),
      h("label", { for: "join-token-secret" }, "Join token"),
      area,
      h("div", { class: "actions-left" }, copy, hide),
      h(
        "p",
        {},
        `It lets ${uses} enrol as ${made.hostnames.join(", ")} until ${formatTime(made.expires_at)}. On each server, as root, save it in a file only root can read, then enrol:`,
      ),
      h(
        "pre",
        {
          class: "mono pubkey config",
          id: "enroll-command",
          tabindex: "0",
          "aria-label": "keypaird host enroll command",
        },
        command,
      ),
      h(
        "div",
        { class: "actions-left" },
        copyButton(command, "Copy commands: keypaird host enroll", {
          className: "btn btn-small",
          text: "Copy commands",
        }),
      ),
      h(
        "p",
        { class: "field-hint" },
        `keypaird host enroll sends the server's host keys (/etc/ssh/ssh_host_*_key.pub) and its --hostname (repeat it for more names, each one the token allows) to project ${project}, puts a host certificate beside each key and the sshd_config lines that use them, and keeps the host's own token for keypaird host renew. Add --reload-command 'systemctl reload ssh' to reload sshd when something changed.`,
      ),
    ),
  );
  announce(`Join token ${made.id} made. Copy it now: it is shown only this once.`);
  copy.focus();
}
