// The sign-in screen: the organisation's identity provider, when keypaird has one (a link
// to /auth/login, which comes back to this page), and an API token, checked with GET
// /api/v1/me before it is kept.
import { ApiError, explain } from "./api.js";
import { h, replace } from "./dom.js";

// The provider's host name, for the button ("Sign in with sso.example.com").
function hostOf(issuer) {
  try {
    return new URL(issuer).host;
  } catch {
    return "your identity provider";
  }
}

export function renderSignIn(main, { message, onToken, provider }) {
  const input = h("input", {
    type: "password",
    id: "token",
    name: "token",
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "off",
    required: true,
    "aria-describedby": "token-hint",
  });
  const error = h("p", { class: "form-error", id: "token-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow signin", novalidate: true, "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title", tabindex: "-1" }, "Sign in to keypaird"),
    message ? h("p", { class: "notice", role: "status" }, message) : null,
    provider
      ? h(
          "div",
          { class: "actions provider" },
          h(
            "a",
            {
              class: "btn btn-primary",
              id: "sign-in-provider",
              href: "/auth/login?return_to=" + encodeURIComponent(provider.returnTo),
            },
            "Sign in with " + hostOf(provider.issuer),
          ),
          h("p", { class: "field-hint" }, "Or, for a machine's token:"),
        )
      : null,
    h(
      "div",
      { class: "field" },
      h("label", { for: "token" }, "API token"),
      h(
        "p",
        { class: "field-hint", id: "token-hint" },
        "Paste a token made with “keypaird token create”. It stays in this browser tab only and is forgotten when you sign out or close the tab.",
      ),
      input,
      error,
    ),
    h("div", { class: "actions" }, submit),
  );

  const showError = (text) => {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "token-hint token-error");
    input.focus();
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      showError("Enter your API token.");
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      await onToken(token);
    } catch (err) {
      submit.disabled = false;
      submit.textContent = "Sign in";
      showError(
        err instanceof ApiError && err.status === 401
          ? "That token was not accepted. Check that you copied all of it and that it has not been revoked."
          : explain(err),
      );
    }
  });

  replace(main, form);
  input.focus();
}
