// "Your account" (#/account, from the name in the header): who is signed in — a person's
// identity from the provider and their groups, or a token's scope — and the role and SSH
// principals in each project. Everything comes from GET /api/v1/me, read at sign-in.
import { h, replace, detail, chipList, emptyState } from "./dom.js";

export function renderAccount(ctx) {
  const me = ctx.me;
  const person = me.via === "session";
  replace(
    ctx.main,
    h(
      "section",
      { class: "page", "aria-labelledby": "account-title" },
      h(
        "div",
        { class: "page-head" },
        h("h1", { id: "account-title", tabindex: "-1" }, "Your account"),
      ),
      h("div", { class: "people-stack" }, person ? personCard(me) : tokenCard(me), rolesCard(ctx)),
    ),
  );
}

// The card saying how the caller signed in: `title`, the details, then `after`.
function identityCard(title, details, after = null) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "identity-title", id: "identity" },
    h("h2", { id: "identity-title" }, title),
    h("dl", { class: "details" }, details),
    after,
  );
}

function personCard(me) {
  const unknown = () => h("span", { class: "muted" }, "not given");
  return identityCard(
    "Signed in with your identity provider",
    [
      detail("Name", me.name || unknown()),
      detail("E-mail", me.email || unknown()),
      detail("Provider", h("code", {}, me.issuer)),
      detail("Groups", h("span", { id: "account-groups" }, chipList(me.groups, "none"))),
      detail("User id", String(me.user_id)),
    ],
    h(
      "p",
      { class: "field-hint" },
      "Your roles come from the grants that matched you when you signed in. A change of grants or groups counts from your next sign-in.",
    ),
  );
}

function tokenCard(me) {
  return identityCard("Signed in with an API token", [
    detail("Token", h("code", {}, me.token_id)),
    detail("User id", String(me.user_id)),
    detail(
      "Scope",
      me.admin ? "administrator: every project" : `projects ${me.projects.join(", ") || "none"}`,
      me.read_only ? " · read-only" : "",
    ),
    detail("SSH principals", chipList(me.principals || [], "none")),
  ]);
}

function rolesCard(ctx) {
  const roles = ctx.me.roles || [];
  const body =
    roles.length === 0
      ? emptyState(
          ctx.me.admin ? "Every project" : "No project yet",
          ctx.me.admin
            ? "An administrator's token may open any project, with every right in it."
            : "No grant gives you a role in a project. Ask a project's administrator for one, then sign in again.",
          { heading: "h3" },
        )
      : h(
          "table",
          { class: "keys roles", id: "account-roles" },
          h("caption", { class: "visually-hidden" }, "Your role in each project"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Project", "Role", "SSH principals"].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          h(
            "tbody",
            {},
            roles.map((r) =>
              h(
                "tr",
                {},
                h(
                  "td",
                  { "data-label": "Project" },
                  h("a", { href: ctx.keysHash(r.project_id) }, `Project ${r.project_id}`),
                ),
                h("td", { "data-label": "Role" }, r.role),
                h("td", { "data-label": "SSH principals" }, chipList(r.principals, "none")),
              ),
            ),
          ),
        );
  return h(
    "section",
    { class: "card", "aria-labelledby": "roles-title" },
    h("h2", { id: "roles-title" }, "Projects"),
    body,
  );
}
