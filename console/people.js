// The people of a project, for its administrators (docs/people.md): the grants that name
// the project (who, role, principals), adding and deleting them; and for an administrator's
// token every user, disabled or enabled again. Loaded only when opened.
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
  emptyState,
  formatDate,
  formatTime,
  toast,
  chipList,
} from "./dom.js";

const KINDS = [
  ["group", "Group", "Group name", "As the identity provider names it, e.g. ops."],
  ["user_email", "E-mail address", "E-mail address", "The address the provider says is theirs."],
  ["user_id", "User id", "User id", "A user's number (see Users, or keypaird user list)."],
];
const ROLES = [
  ["viewer", "Viewer: reads the project's keys and CA"],
  ["editor", "Editor: own keys and certificates for them"],
  ["admin", "Admin: every key, certificates, events and people"],
];

// True when this token may read but not change (a person's session changes what its role lets).
function readOnly(ctx) {
  return ctx.me.via !== "session" && ctx.me.read_only;
}

export async function renderPeople(ctx) {
  const project = ctx.project;
  const admin = ctx.roleIn(project) === "admin";
  const page = {
    ctx,
    project,
    users: null, // id -> user, when this caller may read them (an administrator's token)
    grantsBox: h("div", { id: "grants-results", "aria-busy": "true" }, loading()),
    usersBox: h("div", { id: "users-results", "aria-busy": "true" }, loading()),
  };
  replace(
    ctx.main,
    projectPage("people-title", "People", project, admin ? cards(page) : refused(project)),
  );
  if (!admin) return;
  if (ctx.me.admin) await loadUsers(page);
  await loadGrants(page);
}

function refused(project) {
  return h(
    "div",
    { class: "card", id: "people-refused" },
    emptyState(
      "Only administrators manage people",
      `Who may use project ${project}, and with which role, is decided by keypaird's administrators and the project's own administrators. Ask one of them for the admin role in project ${project}, or sign in with an administrator's token (keypaird token create --admin).`,
    ),
  );
}

function cards(page) {
  const { ctx, project } = page;
  return h(
    "div",
    { class: "people-stack" },
    h(
      "section",
      { class: "card", "aria-labelledby": "grants-title" },
      h("h2", { id: "grants-title" }, `Grants for project ${project}`),
      h(
        "p",
        { class: "field-hint" },
        "A grant gives a group, a person's e-mail address or a user a role here. A change counts from their next sign-in.",
      ),
      page.grantsBox,
    ),
    readOnly(ctx) ? readOnlyNote() : grantForm(page),
    ctx.me.admin
      ? h(
          "section",
          { class: "card", "aria-labelledby": "users-title" },
          h("h2", { id: "users-title" }, "Users"),
          page.usersBox,
        )
      : null,
  );
}

function loading() {
  return h("p", { class: "loading" }, "Loading…");
}

function readOnlyNote() {
  return h(
    "p",
    { class: "notice", id: "people-read-only" },
    "This token is read-only: it shows the grants and users but cannot change them.",
  );
}

// What a refusal means here, where the API's generic 403 text would speak of keys.
function refusal(err, what) {
  if (err instanceof ApiError && err.status === 403) {
    return `keypaird did not let you ${what}: you may manage only the grants whose projects you all administer.${err.message ? ` (keypaird said: “${err.message}”)` : ""}`;
  }
  return explain(err);
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
        h("p", {}, refusal(err, "see them")),
      ),
    );
    return null;
  }
  box.removeAttribute("aria-busy");
  return data.results || [];
}

// ---- Grants

async function loadGrants(page) {
  const { ctx, project, grantsBox } = page;
  const grants = await results(ctx, grantsBox, ctx.api.grants(), "The grants could not be loaded");
  if (!grants) return;
  const here = grants.filter((g) => g.projects.includes(project));
  if (here.length === 0) {
    replace(
      grantsBox,
      emptyState(
        `No grants name project ${project} yet`,
        readOnly(ctx)
          ? "Nobody signing in with the identity provider has a role here."
          : "Nobody signing in with the identity provider has a role here. Add a grant below: a group, a person's e-mail address or a user id, and the role they get.",
        { heading: "h3" },
      ),
    );
    return;
  }
  replace(grantsBox, grantsTable(page, here));
}

function who(g, users) {
  if (g.group !== null) return { text: `Group ${g.group}`, detail: "" };
  if (g.user_email !== null) return { text: `E-mail ${g.user_email}`, detail: "" };
  const u = users && users.get(g.user_id);
  return {
    text: `User ${g.user_id}`,
    detail: u ? [u.name, u.email].filter(Boolean).join(" · ") : "",
  };
}

function grantsTable(page, grants) {
  return h(
    "div",
    { class: "results" },
    h(
      "table",
      { class: "keys grants" },
      h("caption", { class: "visually-hidden" }, `Grants naming project ${page.project}`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Who", "Role", "Principals", "Projects", "Created", "Actions"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        grants.map((g) => grantRow(page, g)),
      ),
    ),
  );
}

function grantRow(page, g) {
  const { ctx } = page;
  const w = who(g, page.users);
  const foreign = ctx.me.admin ? [] : g.projects.filter((p) => ctx.roleIn(p) !== "admin");
  const reasonId = `grant-${g.id}-why`;
  let action;
  if (readOnly(ctx)) action = h("span", { class: "muted" }, "—");
  else
    action = [
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small btn-danger",
          id: `delete-grant-${g.id}`,
          "aria-label": `Delete the grant for ${w.text}`,
          disabled: foreign.length > 0,
          "aria-describedby": foreign.length ? reasonId : undefined,
          on: { click: () => confirmDeleteGrant(page, g, w.text) },
        },
        "Delete…",
      ),
      foreign.length
        ? h(
            "p",
            { class: "muted small", id: reasonId },
            `It also names project${foreign.length === 1 ? "" : "s"} ${foreign.join(", ")}, which you do not administer.`,
          )
        : null,
    ];
  return h(
    "tr",
    { "data-grant": g.id },
    h(
      "td",
      { "data-label": "Who" },
      h("span", { class: "grant-who" }, w.text),
      w.detail ? h("div", { class: "muted small" }, w.detail) : null,
    ),
    h("td", { "data-label": "Role" }, h("span", { class: "badge" }, g.role)),
    h("td", { "data-label": "Principals" }, chipList(g.principals, "none")),
    h("td", { "data-label": "Projects" }, g.projects.join(", ")),
    h(
      "td",
      { "data-label": "Created" },
      h(
        "time",
        { datetime: g.created_at, title: formatTime(g.created_at) },
        formatDate(g.created_at),
      ),
    ),
    h("td", { "data-label": "Actions" }, action),
  );
}

function confirmDeleteGrant(page, g, whoText) {
  const { ctx } = page;
  const projects =
    g.projects.length === 1 ? `project ${g.projects[0]}` : `projects ${g.projects.join(", ")}`;
  confirmDialog(`Delete the grant for ${whoText}?`, {
    text: `${whoText} loses the ${g.role} role in ${projects} from their next sign-in (a session open now keeps it until it ends). Other grants that match them still count.`,
    action: "Delete grant",
    id: "confirm-delete-grant",
    run: () => ctx.api.deleteGrant(g.id),
    done: async () => {
      toast(`Deleted the grant for ${whoText}.`, "ok");
      await loadGrants(page);
      const title = document.getElementById("grants-title");
      if (title) {
        title.setAttribute("tabindex", "-1");
        title.focus();
      }
    },
    describe: (err) => {
      if (ctx.fail(err)) return null;
      if (err instanceof ApiError && err.status === 404) {
        toast("That grant was deleted already.", "info");
        loadGrants(page);
        return null;
      }
      return refusal(err, "delete this grant");
    },
  });
}

// Words separated by commas or spaces.
function words(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

// A labelled select of [value, text] pairs, or a text input (no autocomplete, no spelling).
function selectField(label, id, options, hint) {
  const select = h(
    "select",
    { id },
    options.map(([v, t]) => h("option", { value: v }, t)),
  );
  return field(label, select, { hint });
}
function textField(label, id, hint, props = {}) {
  const input = h("input", {
    type: "text",
    id,
    autocomplete: "off",
    spellcheck: "false",
    ...props,
  });
  return field(label, input, { hint });
}

function grantForm(page) {
  const { ctx, project } = page;
  const kind = selectField("Who", "grant-kind", KINDS, "Whom the grant is for.");
  const value = textField(KINDS[0][2], "grant-value", KINDS[0][3], {
    required: true,
    maxlength: "255",
  });
  const valueLabel = value.wrapper.querySelector("label");
  const valueHint = value.wrapper.querySelector(".field-hint");
  kind.input.addEventListener("change", () => {
    const [, , label, hint] = KINDS.find(([v]) => v === kind.input.value);
    valueLabel.textContent = label;
    valueHint.textContent = hint;
    value.input.type = kind.input.value === "user_email" ? "email" : "text";
    value.input.inputMode = kind.input.value === "user_id" ? "numeric" : "text";
    setFieldError(value, []);
  });
  const role = selectField("Role", "grant-role", ROLES, "What they may do in these projects.");
  const principals = textField(
    "Principals (optional)",
    "grant-principals",
    "The SSH logins their certificates may name, separated by commas or spaces. Empty: none.",
  );
  const projects = textField(
    "Projects",
    "grant-projects",
    ctx.me.admin
      ? "Project ids, separated by commas or spaces."
      : "Project ids, separated by commas or spaces; you must administer each one.",
    { inputmode: "numeric", value: String(project) },
  );
  const box = formError({ id: "grant-form-error" });
  const submit = h(
    "button",
    { type: "submit", class: "btn btn-primary", id: "grant-add" },
    "Add grant",
  );
  const form = h(
    "form",
    { class: "card form", novalidate: true, "aria-labelledby": "grant-form-title" },
    h("h2", { id: "grant-form-title" }, "Add a grant"),
    box,
    h("div", { class: "field-row" }, kind.wrapper, value.wrapper),
    h("div", { class: "field-row" }, role.wrapper, projects.wrapper),
    principals.wrapper,
    h("div", { class: "actions-left" }, submit),
  );
  const all = [kind, value, role, principals, projects];

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showFormError(box, "");
    for (const f of all) setFieldError(f, []);
    const got = readGrant(kind.input.value, value, projects);
    if (got.error) {
      setFieldError(got.error[0], got.error[1]);
      got.error[0].input.focus();
      return;
    }
    const body = {
      [kind.input.value]: got.value,
      projects: got.projects,
      role: role.input.value,
      principals: words(principals.input.value),
    };
    submit.disabled = true;
    try {
      const { data } = await ctx.api.createGrant(body);
      const text = who(data, page.users).text;
      value.input.value = "";
      principals.input.value = "";
      toast(`Added the grant for ${text}.`, "ok");
      await loadGrants(page);
      value.input.focus();
    } catch (err) {
      if (ctx.fail(err)) return;
      if (err instanceof ApiError && err.status === 400) {
        const toValue = (m) => setFieldError(value, m);
        const unplaced = placeFieldErrors(err.invalidFields, {
          group: toValue,
          user_email: toValue,
          user_id: toValue,
          role: (m) => setFieldError(role, m),
          principals: (m) => setFieldError(principals, m),
          projects: (m) => setFieldError(projects, m),
        });
        showFormError(
          box,
          unplaced.length ? unplaced.join(" ") : "Correct the fields marked below and try again.",
        );
        focusFirstInvalid(form);
        return;
      }
      showFormError(box, refusal(err, "add this grant"));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// The form's who and projects, or {error: [field, message]} for what is plainly wrong.
function readGrant(kind, value, projects) {
  const text = value.input.value.trim();
  if (!text) {
    const what = { group: "a group name", user_email: "an e-mail address", user_id: "a user id" };
    return { error: [value, `Enter ${what[kind]}.`] };
  }
  let got = text;
  if (kind === "user_id") {
    if (!/^\d+$/.test(text) || Number(text) < 1)
      return { error: [value, "A user id is a whole number of 1 or more."] };
    got = Number(text);
  }
  const ids = words(projects.input.value);
  if (ids.length === 0) return { error: [projects, "Name at least one project."] };
  if (!ids.every((p) => /^\d+$/.test(p) && Number(p) >= 1))
    return { error: [projects, "Project ids are whole numbers of 1 or more, like 3, 7."] };
  return { value: got, projects: ids.map(Number) };
}

// ---- Users

async function loadUsers(page) {
  const { ctx, usersBox } = page;
  const users = await results(ctx, usersBox, ctx.api.users(), "The users could not be loaded");
  if (!users) return;
  page.users = new Map(users.map((u) => [u.id, u]));
  if (page.users.size === 0) {
    replace(
      usersBox,
      emptyState(
        "No users yet",
        "A user appears when a token is made for them (keypaird token create --user N) or when a person first signs in with the identity provider.",
        { heading: "h3" },
      ),
    );
    return;
  }
  replace(
    usersBox,
    h(
      "div",
      { class: "results" },
      h(
        "table",
        { class: "keys users" },
        h("caption", { class: "visually-hidden" }, "Every user, by id"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              "Id",
              "Name",
              "E-mail",
              "Issuer",
              "Groups",
              "Created",
              "Last sign-in",
              "State",
              "Actions",
            ].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h(
          "tbody",
          {},
          users.map((u) => userRow(page, u)),
        ),
      ),
    ),
  );
}

function userRow(page, u) {
  const { ctx } = page;
  const dash = h("span", { class: "muted" }, "—");
  const toggle = readOnly(ctx)
    ? dash
    : h(
        "button",
        {
          type: "button",
          class: u.disabled ? "btn btn-small" : "btn btn-small btn-danger",
          id: `${u.disabled ? "enable" : "disable"}-user-${u.id}`,
          "aria-label": `${u.disabled ? "Enable" : "Disable"} user ${u.id}`,
          on: {
            click: () => (u.disabled ? setDisabled(page, u, false) : confirmDisable(page, u)),
          },
        },
        u.disabled ? "Enable" : "Disable…",
      );
  return h(
    "tr",
    { "data-user": String(u.id) },
    h("td", { "data-label": "Id" }, String(u.id)),
    h("td", { "data-label": "Name" }, u.name || dash.cloneNode(true)),
    h("td", { "data-label": "E-mail" }, u.email || dash.cloneNode(true)),
    h(
      "td",
      { "data-label": "Issuer" },
      u.issuer
        ? h("span", { class: "comment" }, u.issuer)
        : h("span", { class: "muted" }, "token user"),
    ),
    h("td", { "data-label": "Groups" }, chipList(u.groups, "none")),
    h(
      "td",
      { "data-label": "Created" },
      h(
        "time",
        { datetime: u.created_at, title: formatTime(u.created_at) },
        formatDate(u.created_at),
      ),
    ),
    h(
      "td",
      { "data-label": "Last sign-in" },
      u.last_sign_in_at
        ? h("time", { datetime: u.last_sign_in_at }, formatTime(u.last_sign_in_at))
        : h("span", { class: "muted" }, "never"),
    ),
    h(
      "td",
      { "data-label": "State" },
      h(
        "span",
        { class: u.disabled ? "badge badge-bad" : "badge badge-ok" },
        u.disabled ? "Disabled" : "Active",
      ),
    ),
    h("td", { "data-label": "Actions" }, toggle),
  );
}

function userName(u) {
  const known = [u.name, u.email].filter(Boolean).join(", ");
  return known ? `user ${u.id} (${known})` : `user ${u.id}`;
}

function confirmDisable(page, u) {
  const { ctx } = page;
  const self = u.id === ctx.me.user_id;
  confirmDialog(`Disable ${userName(u)}?`, {
    text: `Every session and token of ${userName(u)} is refused at once, from the next request, on every node.${self ? " That includes the token you are using now: you will be signed out." : ""} Their keys and grants stay; enabling them again gives their tokens back (a person signs in again).`,
    action: "Disable user",
    id: "confirm-disable-user",
    run: () => setDisabled(page, u, true, { quiet: true }),
    describe: (err) => (ctx.fail(err) ? null : refusal(err, "disable this user")),
  });
}

// PATCHes the user and redraws their row, the focus on its new button. With `quiet` the
// error is thrown for the confirmation dialog to show.
async function setDisabled(page, u, disabled, { quiet = false } = {}) {
  const { ctx } = page;
  let data;
  try {
    ({ data } = await ctx.api.setUserDisabled(u.id, disabled));
  } catch (err) {
    if (quiet) throw err;
    if (!ctx.fail(err)) toast(refusal(err, "enable this user"), "error");
    return;
  }
  page.users.set(data.id, data);
  const row = page.usersBox.querySelector(`tr[data-user="${data.id}"]`);
  if (row) {
    const fresh = userRow(page, data);
    row.replaceWith(fresh);
    const button = fresh.querySelector("button");
    if (button) window.setTimeout(() => button.focus(), 0);
  }
  toast(`${userName(data)} is ${disabled ? "disabled" : "enabled again"}.`, "ok");
}
