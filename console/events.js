// The audit trail of a project, for administrators (GET /api/v1/events): newest first,
// filtered by action and resource, in keyset pages. Loaded only when opened.
import { ApiError, explain } from "./api.js";
import { h, replace, announce, emptyState, fillPager, projectPage } from "./dom.js";

const PAGE_SIZE = 50;
const ACTIONS = [
  ["", "Any action"],
  ["key.create", "Key created"],
  ["key.update", "Key changed"],
  ["key.delete", "Key deleted"],
  ["ca.create", "CA made"],
  ["certificate.issue", "Certificate issued"],
  ["certificate.revoke", "Certificate revoked"],
  ["grant.create", "Grant made"],
  ["grant.delete", "Grant deleted"],
];
const ACTION_NAMES = Object.fromEntries(ACTIONS.filter(([a]) => a));

export async function renderEvents(ctx) {
  const project = ctx.project;
  if (ctx.roleIn(project) !== "admin") {
    replace(
      ctx.main,
      projectPage(
        "events-title",
        "Events",
        project,
        emptyState(
          "Only administrators read the audit trail",
          "Sign in with an administrator's token (keypaird token create --admin) to see who changed what in this project.",
        ),
      ),
    );
    return;
  }
  const actionSelect = h(
    "select",
    { id: "events-action" },
    ACTIONS.map(([value, text]) => h("option", { value }, text)),
  );
  const resourceInput = h("input", {
    id: "events-resource",
    type: "search",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "a key id or a certificate serial",
  });
  const list = {
    ctx,
    project,
    f: { action: "", resource_id: "" },
    cursors: [null],
    seq: 0,
    results: h("div", { class: "results", id: "events-results" }),
    pager: h("nav", { class: "pager", "aria-label": "Pages of events" }),
  };
  const filters = h(
    "form",
    {
      class: "filters events-filters",
      role: "search",
      "aria-label": "Filter events",
      novalidate: true,
    },
    h("div", { class: "field" }, h("label", { for: "events-action" }, "Action"), actionSelect),
    h(
      "div",
      { class: "field grow" },
      h("label", { for: "events-resource" }, "Resource"),
      resourceInput,
    ),
    h(
      "div",
      { class: "field" },
      h("button", { type: "submit", class: "btn", id: "events-apply" }, "Filter"),
    ),
  );
  const apply = () => {
    list.f = { action: actionSelect.value, resource_id: resourceInput.value.trim() };
    list.cursors = [null];
    load(list);
  };
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    apply();
  });
  actionSelect.addEventListener("change", apply);
  replace(
    ctx.main,
    projectPage("events-title", "Events", project, filters, list.results, list.pager),
  );
  await load(list);
}

async function load(list) {
  const { ctx, results, pager } = list;
  const mine = ++list.seq;
  const page = list.cursors.length - 1;
  results.setAttribute("aria-busy", "true");
  let data;
  try {
    ({ data } = await ctx.api.events({
      project_id: list.project,
      limit: PAGE_SIZE,
      cursor: list.cursors[page],
      ...list.f,
    }));
  } catch (err) {
    if (mine !== list.seq) return;
    results.removeAttribute("aria-busy");
    replace(pager);
    if (ctx.fail(err)) return;
    const text =
      err instanceof ApiError && err.status === 400
        ? `${err.message} Clear the resource filter or correct it.`
        : explain(err);
    replace(
      results,
      h(
        "div",
        { class: "empty error", role: "alert" },
        h("h2", {}, "The events could not be loaded"),
        h("p", {}, text),
      ),
    );
    return;
  }
  if (mine !== list.seq) return;
  results.removeAttribute("aria-busy");
  const events = data.results || [];
  if (events.length === 0) {
    const filtered = Boolean(list.f.action || list.f.resource_id);
    replace(
      results,
      emptyState(
        filtered ? "No events match these filters" : `No events in project ${list.project} yet`,
        filtered
          ? "Change or clear the filters to see more."
          : "Every change to the project's keys, certificates and certificate authority appears here.",
      ),
    );
    replace(pager);
    announce("No events.");
    return;
  }
  replace(results, eventsTable(list, events, page));
  showPager(list, page, data.next_cursor);
  announce(`Page ${page + 1}: ${events.length} event${events.length === 1 ? "" : "s"}.`);
}

function actor(e) {
  if (e.actor.via === "cli") return "command line";
  const who = e.actor.user_id === null ? "someone" : `user ${e.actor.user_id}`;
  return e.actor.token_id ? `${who} (token ${e.actor.token_id})` : who;
}

function resource(e) {
  const r = e.resource;
  const name = r.name ? ` ${r.name}` : "";
  if (r.type === "certificate") return `certificate ${r.id}${name ? ` of${name}` : ""}`;
  if (r.type === "ssh_ca") return "the certificate authority";
  if (r.type === "token") return `token ${r.id}`;
  if (r.type === "grant") {
    // A grant's event belongs to its first project; its details say whom it was for.
    const d = e.details || {};
    const whom = d.group
      ? `group ${d.group}`
      : d.user_email || (d.user_id ? `user ${d.user_id}` : "");
    return whom ? `grant for ${whom}` : "grant";
  }
  return `key${name}`;
}

// To the second (an audit trail orders what happened within a minute); the exact time in
// the tooltip.
function eventTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

function eventRow(e) {
  return h(
    "tr",
    { "data-event": e.id },
    h(
      "td",
      { "data-label": "Time" },
      h("time", { datetime: e.time, title: e.time }, eventTime(e.time)),
    ),
    h(
      "td",
      { "data-label": "Action" },
      h("span", { class: "badge" }, ACTION_NAMES[e.action] || e.action),
    ),
    h(
      "td",
      { "data-label": "Resource" },
      resource(e),
      e.resource.type === "ssh_key" || e.resource.type === "grant"
        ? h("div", { class: "muted small" }, h("code", {}, e.resource.id))
        : null,
    ),
    h("td", { "data-label": "By" }, actor(e)),
    h(
      "td",
      { "data-label": "From" },
      e.source_ip || "—",
      e.user_agent ? h("div", { class: "muted small" }, e.user_agent) : null,
    ),
  );
}

function eventsTable(list, events, page) {
  return h(
    "table",
    { class: "keys events" },
    h(
      "caption",
      { class: "visually-hidden" },
      `Events of project ${list.project}, newest first, page ${page + 1}`,
    ),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Time", "Action", "Resource", "By", "From"].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    h("tbody", {}, events.map(eventRow)),
  );
}

function showPager(list, page, nextCursor) {
  fillPager(list.pager, {
    page,
    hasNext: Boolean(nextCursor),
    ids: ["events-newer", "events-older", "events-page-no"],
    labels: ["Newer", "Older"],
    back: () => {
      list.cursors.pop();
      return load(list);
    },
    forward: () => {
      list.cursors.push(nextCursor);
      return load(list);
    },
  });
}
