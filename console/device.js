// #/device?user_code=…: a person approves (or denies) `keypaird login` on another device,
// a laptop's terminal or a jump host with no browser. Only a person signed in with the
// identity provider decides: a machine's token cannot, so a token's tab is asked to sign in.
import { ApiError, explain } from "./api.js";
import { h, replace, announce } from "./dom.js";

function signInLink(ctx, text) {
  if (!ctx.auth.sign_in) return null;
  return h(
    "a",
    {
      class: "btn btn-primary",
      id: "device-sign-in",
      href: "/auth/login?return_to=" + encodeURIComponent("/console/" + location.hash),
    },
    text,
  );
}

function card(...children) {
  return h(
    "section",
    { class: "card narrow", "aria-labelledby": "device-title" },
    h("h1", { id: "device-title", tabindex: "-1" }, "Sign in on another device"),
    ...children,
  );
}

export function renderDevice(ctx, userCode) {
  if (!ctx.me || ctx.me.via !== "session") {
    replace(
      ctx.main,
      card(
        h(
          "p",
          {},
          ctx.auth.sign_in
            ? "keypaird login is waiting for you to approve it. Sign in with your identity provider first: you come back here."
            : "Sign-in with an identity provider is not enabled on this keypaird, so keypaird login cannot be approved here.",
        ),
        h("div", { class: "actions" }, signInLink(ctx, "Sign in to approve")),
      ),
    );
    ctx.main.querySelector("h1").focus();
    return;
  }
  const input = h("input", {
    type: "text",
    id: "user-code",
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "characters",
    required: true,
    value: userCode,
    "aria-describedby": "user-code-hint",
  });
  const error = h("p", { class: "form-error", id: "user-code-error", role: "alert", hidden: true });
  const approve = h(
    "button",
    { type: "submit", class: "btn btn-primary", id: "approve" },
    "Approve",
  );
  const deny = h("button", { type: "button", class: "btn", id: "deny" }, "Deny");
  const form = h(
    "form",
    { novalidate: true },
    h(
      "p",
      {},
      `You are signed in as ${ctx.me.name || ctx.me.email}. Approve only if you just ran keypaird login and your terminal shows this code: the device then gets your rights for up to an hour.`,
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "user-code" }, "Code shown by keypaird login"),
      h("p", { class: "field-hint", id: "user-code-hint" }, "Eight letters, such as BCDF-GHJK."),
      input,
      error,
    ),
    h("div", { class: "actions" }, approve, deny),
  );
  const done = (text) => {
    replace(ctx.main, card(h("p", { class: "notice", role: "status", id: "device-done" }, text)));
    announce(text);
    ctx.main.querySelector("h1").focus();
  };
  const decide = async (yes) => {
    const code = input.value.trim();
    if (!code) {
      error.textContent = "Enter the code your terminal shows.";
      error.hidden = false;
      input.focus();
      return;
    }
    approve.disabled = deny.disabled = true;
    try {
      await ctx.api.decideDevice(code, yes);
      done(
        yes
          ? "Approved. Go back to your terminal: keypaird login finishes there."
          : "Denied. The device got nothing.",
      );
    } catch (err) {
      if (ctx.fail(err)) return;
      approve.disabled = deny.disabled = false;
      error.textContent =
        err instanceof ApiError && err.status === 404 ? err.message : explain(err);
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    decide(true);
  });
  deny.addEventListener("click", () => decide(false));
  replace(ctx.main, card(form));
  ctx.main.querySelector("h1").focus();
}
