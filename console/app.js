// The console's entry point: the session (a token in sessionStorage only, or a person's
// sign-in with the identity provider: an HttpOnly cookie the console never sees), the
// header with the project switcher and the project's sections, and the routes
// (#/projects/{id}/keys, #/projects/{id}/keys/{key}, #/projects/{id}/ssh,
// #/projects/{id}/hosts, #/projects/{id}/events, #/projects/{id}/people; the last four load
// their modules on demand; #/account, who is signed in and their roles (from the name in the header);
// #/device, where a signed-in person approves `keypaird login` on another device).
import { Api, ApiError, explain } from "./api.js";
import { h, replace, announce } from "./dom.js";
import { renderSignIn } from "./signin.js";
import { renderKeys } from "./keys.js";
import { renderKey } from "./key.js";

const TOKEN_KEY = "keypaird.console.token";
const PROJECT_KEY = "keypaird.console.project";

const main = document.getElementById("main");
const sessionNav = document.getElementById("session");
const projectSelect = document.getElementById("project-select");
const who = document.getElementById("who");
const sectionsNav = document.getElementById("sections");
const navKeys = document.getElementById("nav-keys");
const navSsh = document.getElementById("nav-ssh");
const navHosts = document.getElementById("nav-hosts");
const navEvents = document.getElementById("nav-events");
const navPeople = document.getElementById("nav-people");

const ctx = {
  api: null,
  me: null,
  project: null,
  main,
  // GET /auth/info: whether people may sign in with the identity provider.
  auth: { sign_in: false, issuer: null, signed_in: false },
  // The role ("viewer", "editor", "admin") in a project, or null.
  roleIn(project) {
    if (!this.me) return null;
    if (this.me.admin) return "admin";
    const r = (this.me.roles || []).find((x) => x.project_id === Number(project));
    return r ? r.role : null;
  },
  // The SSH principals certificates may name in a project.
  principalsIn(project) {
    if (!this.me) return [];
    if (this.me.via !== "session") return this.me.principals || [];
    const r = (this.me.roles || []).find((x) => x.project_id === Number(project));
    return r ? r.principals : [];
  },
  // True when the caller's token may only read. An admin token may be read-only too, and
  // its role is still "admin"; a person's session may do what its roles let.
  get readOnly() {
    return Boolean(this.me && this.me.via !== "session" && this.me.read_only);
  },
  // True when the caller may change keys in the open project.
  get canWrite() {
    if (this.readOnly) return false;
    const role = this.roleIn(this.project);
    return role === "editor" || role === "admin";
  },
  // True when the caller may change this key (its owner, or the project's admin).
  canEdit(key) {
    return (
      this.canWrite && (this.roleIn(this.project) === "admin" || key.owner_id === this.me.user_id)
    );
  },
  go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  },
  keysHash(project = this.project) {
    return `#/projects/${project}/keys`;
  },
  keyHash(id, project = this.project) {
    return `#/projects/${project}/keys/${encodeURIComponent(id)}`;
  },
  sshHash(project = this.project) {
    return `#/projects/${project}/ssh`;
  },
  hostsHash(project = this.project) {
    return `#/projects/${project}/hosts`;
  },
  eventsHash(project = this.project) {
    return `#/projects/${project}/events`;
  },
  peopleHash(project = this.project) {
    return `#/projects/${project}/people`;
  },
  // A 401 anywhere ends the session.
  fail(err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut("Your token is no longer accepted (revoked, expired or mistyped). Sign in again.");
      return true;
    }
    return false;
  },
};

async function signOut(message) {
  if (ctx.me && ctx.me.via === "session") {
    try {
      await ctx.api.signOut(); // ends the session on the server, on every node
    } catch {
      // Signed out already, or the server is away: the cookie is gone from the page anyway.
    }
    ctx.auth.signed_in = false;
  }
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(PROJECT_KEY);
  ctx.api = null;
  ctx.me = null;
  ctx.project = null;
  sessionNav.hidden = true;
  sectionsNav.hidden = true;
  if (location.hash) history.replaceState(null, "", location.pathname);
  showSignIn(message);
}

function showSignIn(message) {
  renderSignIn(main, {
    message,
    onToken: signIn,
    provider: ctx.auth.sign_in ? { issuer: ctx.auth.issuer, returnTo: returnTo() } : null,
  });
}

// Where the identity provider sends the person back to: this page of the console.
function returnTo() {
  return "/console/" + (location.hash || "");
}

// Checks the token with GET /api/v1/me; on success keeps it for this tab only.
async function signIn(token) {
  const api = new Api(token);
  const { data } = await api.me(); // throws ApiError / NetworkError for the form to show
  sessionStorage.setItem(TOKEN_KEY, token);
  startSession(api, data);
  announce("Signed in.");
}

function startSession(api, me) {
  ctx.api = api;
  ctx.me = me;
  showWho();
  sessionNav.hidden = false;
  fillProjects();
  render(true);
}

// Who is signed in, and their role in the open project.
function showWho() {
  const me = ctx.me;
  const name =
    me.via === "session" ? me.name || me.email || `User ${me.user_id}` : `User ${me.user_id}`;
  const role = me.admin ? "admin" : ctx.project !== null ? ctx.roleIn(ctx.project) : null;
  const tags = [role, me.via !== "session" && me.read_only ? "read-only" : null].filter(Boolean);
  who.textContent = name + (tags.length ? ` · ${tags.join(", ")}` : "");
  who.title = me.via === "session" ? `${me.email || ""} (${me.issuer})` : `token ${me.token_id}`;
}

function projectsOf(me) {
  return [...new Set((me.projects || []).map(Number))].sort((a, b) => a - b);
}

function fillProjects() {
  const projects = projectsOf(ctx.me);
  const current = ctx.project;
  if (current !== null && !projects.includes(current)) projects.push(current);
  replace(
    projectSelect,
    projects.map((p) => h("option", { value: String(p) }, `Project ${p}`)),
    ctx.me.admin ? h("option", { value: "other" }, "Another project…") : null,
  );
  if (current !== null) projectSelect.value = String(current);
}

projectSelect.addEventListener("change", () => {
  if (projectSelect.value === "other") {
    ctx.go("#/projects");
    return;
  }
  // Stay in the same section (keys, SSH access, hosts, events or people) of the other project.
  const project = Number(projectSelect.value);
  const section = location.hash.match(/^#\/projects\/\d+\/(ssh|hosts|events|people)\/?$/);
  const hashOf = {
    ssh: ctx.sshHash,
    hosts: ctx.hostsHash,
    events: ctx.eventsHash,
    people: ctx.peopleHash,
  };
  ctx.go((section ? hashOf[section[1]] : ctx.keysHash).call(ctx, project));
});

// The project's sections in the header: links for the current project, the open one marked.
function showSections(current) {
  if (ctx.project === null || current === null) {
    sectionsNav.hidden = true;
    return;
  }
  navKeys.setAttribute("href", ctx.keysHash());
  navSsh.setAttribute("href", ctx.sshHash());
  navHosts.setAttribute("href", ctx.hostsHash());
  navEvents.setAttribute("href", ctx.eventsHash());
  navPeople.setAttribute("href", ctx.peopleHash());
  // Only administrators (of keypaird, or of the project) read events and manage people.
  navEvents.hidden = navPeople.hidden = ctx.roleIn(ctx.project) !== "admin";
  for (const [link, name] of [
    [navKeys, "keys"],
    [navSsh, "ssh"],
    [navHosts, "hosts"],
    [navEvents, "events"],
    [navPeople, "people"],
  ]) {
    if (name === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  sectionsNav.hidden = false;
}

document.getElementById("sign-out").addEventListener("click", () => {
  signOut(
    ctx.me && ctx.me.via === "session"
      ? "You are signed out. Your session has ended."
      : "You are signed out. The token was removed from this browser tab.",
  );
});

// An admin's token names no projects: any project id may be opened.
function renderProjectPicker(message) {
  const input = h("input", {
    type: "number",
    min: "1",
    step: "1",
    inputmode: "numeric",
    required: true,
    id: "project-id",
  });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, "Open a project"),
    h("p", {}, message || "This admin token may use every project. Enter the project id to open."),
    h("div", { class: "field" }, h("label", { for: "project-id" }, "Project id"), input),
    error,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Open"),
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = Number(input.value);
    if (!Number.isInteger(id) || id < 1) {
      error.textContent = "Enter a whole number of 1 or more.";
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    ctx.go(ctx.keysHash(id));
  });
  replace(main, form);
  input.focus();
}

function renderNoProjects() {
  replace(
    main,
    h(
      "section",
      { class: "card narrow empty" },
      h("h1", { tabindex: "-1" }, "No projects for this token"),
      h(
        "p",
        {},
        "This token may not use any project, so there are no keys to show. Ask your administrator for a token that includes a project (keypaird token create --projects …), then sign in with it.",
      ),
    ),
  );
}

let lastHash = null;

async function render(force = false) {
  const device = (location.hash || "").match(/^#\/device(?:\?user_code=([^&]*))?$/);
  if (device) {
    showSections(null);
    const { renderDevice } = await import("./device.js");
    renderDevice(ctx, device[1] ? decodeURIComponent(device[1]) : "");
    return;
  }
  if (!ctx.me) return;
  const hash = location.hash || "";
  const focusHeading = force || hash !== lastHash;
  lastHash = hash;
  if (hash === "#/account") {
    showSections(null);
    const { renderAccount } = await import("./account.js");
    renderAccount(ctx);
    if (focusHeading) main.querySelector("h1").focus();
    return;
  }
  const m = hash.match(
    /^#\/projects(?:\/(\d+)(?:\/keys(?:\/([^/]+))?|\/(ssh|hosts|events|people))?)?\/?$/,
  );
  const projects = projectsOf(ctx.me);
  if (!m || (!m[1] && hash !== "#/projects")) {
    showSections(null);
    const remembered = Number(sessionStorage.getItem(PROJECT_KEY));
    const first =
      projects.includes(remembered) || (ctx.me.admin && remembered) ? remembered : projects[0];
    if (first) ctx.go(ctx.keysHash(first));
    else if (ctx.me.admin) renderProjectPicker();
    else renderNoProjects();
    return;
  }
  if (!m[1]) {
    showSections(null);
    if (ctx.me.admin) renderProjectPicker();
    else ctx.go("#/");
    return;
  }
  ctx.project = Number(m[1]);
  sessionStorage.setItem(PROJECT_KEY, String(ctx.project));
  fillProjects();
  showWho();
  showSections(m[3] || "keys");
  if (m[3] === "ssh") {
    const { renderSsh } = await import("./ssh.js");
    await renderSsh(ctx);
  } else if (m[3] === "hosts") {
    const { renderHosts } = await import("./hosts.js");
    await renderHosts(ctx);
  } else if (m[3] === "events") {
    const { renderEvents } = await import("./events.js");
    await renderEvents(ctx);
  } else if (m[3] === "people") {
    const { renderPeople } = await import("./people.js");
    await renderPeople(ctx);
  } else if (m[2]) await renderKey(ctx, decodeURIComponent(m[2]));
  else await renderKeys(ctx);
  if (focusHeading) {
    const heading = main.querySelector("h1");
    if (heading) heading.focus({ preventScroll: false });
  }
}

window.addEventListener("hashchange", () => render());

async function boot() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  try {
    if (!token) {
      // No token in this tab: a person's session, if the cookie is one (asked without a
      // request that would fail for everyone else), else the sign-in screen.
      ({ data: ctx.auth } = await new Api(null).authInfo());
      if (!ctx.auth.signed_in) {
        showSignIn();
        render();
        return;
      }
      const api = new Api(null);
      const { data } = await api.me();
      api.csrf = data.csrf_token;
      startSession(api, data);
      return;
    }
    const api = new Api(token);
    const { data } = await api.me();
    startSession(api, data);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut("Your token is no longer accepted (revoked, expired or mistyped). Sign in again.");
    } else {
      replace(
        main,
        h(
          "section",
          { class: "card narrow" },
          h("h1", { tabindex: "-1" }, "Cannot reach keypaird"),
          h("p", { role: "alert" }, explain(err)),
          h(
            "div",
            { class: "actions" },
            h(
              "button",
              { type: "button", class: "btn btn-primary", on: { click: boot } },
              "Try again",
            ),
          ),
        ),
      );
    }
  }
}

boot();
