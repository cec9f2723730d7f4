// The native API (/api/v1) as the console uses it: one fetch wrapper that adds the token,
// reads JSON answers and ETags, and turns error bodies into ApiError. The token is held by
// the session module (sessionStorage); it never goes into a URL. Signed in with the
// identity provider there is no token: the browser sends the session cookie (HttpOnly:
// the console never sees it) and changes carry the session's CSRF token.

export class ApiError extends Error {
  constructor(status, body, requestId) {
    super((body && body.message) || `The server answered ${status}.`);
    this.status = status;
    this.exceptionClass = (body && body.exception_class) || "";
    this.invalidFields = (body && body.invalid_fields) || {};
    this.requestId = (body && body.request_id) || requestId || "";
  }
}

// A failure before any answer: the server is down, or the network between.
export class NetworkError extends Error {
  constructor() {
    super("keypaird did not answer. Check that it is running and reachable, then try again.");
    this.status = 0;
    this.invalidFields = {};
  }
}

export class Api {
  // `token`: an API token, or null for the session cookie (then `csrf`, from /me).
  constructor(token, csrf = null) {
    this.token = token;
    this.csrf = csrf;
  }

  // Answers {data, etag} for 2xx (data null on 204), throws ApiError or NetworkError.
  // `as`: how to read a 2xx body: "json" (default), "text", or "bytes" (an ArrayBuffer).
  async call(method, path, { body, query, ifMatch, as = "json", base = "/api/v1" } = {}) {
    let url = base + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
      }
      const qs = params.toString();
      if (qs) url += "?" + qs;
    }
    const accept = {
      json: "application/json",
      text: "text/plain",
      bytes: "application/octet-stream",
    }[as];
    const headers = { Accept: accept };
    if (this.token) headers.Authorization = "Bearer " + this.token;
    else if (this.csrf && method !== "GET") headers["X-CSRF-Token"] = this.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (ifMatch) headers["If-Match"] = ifMatch;
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: this.token ? "omit" : "same-origin",
        referrerPolicy: "no-referrer",
      });
    } catch {
      throw new NetworkError();
    }
    const etag = response.headers.get("ETag");
    if (response.ok && as === "bytes") return { data: await response.arrayBuffer(), etag };
    const text = await response.text();
    if (response.ok && as === "text") return { data: text, etag };
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      throw new ApiError(response.status, data, response.headers.get("X-Request-ID"));
    }
    return { data, etag };
  }

  me() {
    return this.call("GET", "/me");
  }
  // Sign-in (/auth): whether it is on and this tab's cookie a session; sign-out; a
  // decision on another device's sign-in (keypaird login).
  authInfo() {
    return this.call("GET", "/info", { base: "/auth" });
  }
  signOut() {
    return this.call("POST", "/logout", { base: "/auth" });
  }
  decideDevice(userCode, approve) {
    return this.call("POST", "/device/approve", {
      base: "/auth",
      body: { user_code: userCode, approve },
    });
  }
  listKeys(project, query) {
    return this.call("GET", `/projects/${project}/keys`, { query });
  }
  getKey(project, key) {
    return this.call("GET", `/projects/${project}/keys/${encodeURIComponent(key)}`);
  }
  createKey(project, body) {
    return this.call("POST", `/projects/${project}/keys`, { body });
  }
  patchKey(project, key, body, etag) {
    return this.call("PATCH", `/projects/${project}/keys/${encodeURIComponent(key)}`, {
      body,
      ifMatch: etag,
    });
  }
  deleteKey(project, key, etag) {
    return this.call("DELETE", `/projects/${project}/keys/${encodeURIComponent(key)}`, {
      ifMatch: etag,
    });
  }
  // SSH access: the project's CA, its KRL, authorized_keys, certificates.
  sshCa(project) {
    return this.call("GET", `/projects/${project}/ssh_ca`);
  }
  createSshCa(project) {
    return this.call("POST", `/projects/${project}/ssh_ca`);
  }
  // Rotation (docs/ssh-access.md "Rotating a CA"), the project's administrators only: a new
  // key signs from now on; a key rotated out is trusted until it is deleted or its last
  // certificate expires. `fingerprint` as the CA's `keys` show it.
  rotateSshCa(project) {
    return this.call("POST", `/projects/${project}/ssh_ca/rotate`);
  }
  deleteSshCaKey(project, fingerprint) {
    return this.call(
      "DELETE",
      `/projects/${project}/ssh_ca/keys/${encodeURIComponent(fingerprint)}`,
    );
  }
  krl(project) {
    return this.call("GET", `/projects/${project}/ssh_ca/krl`, { as: "bytes" });
  }
  authorizedKeys(project, labelSelector) {
    return this.call("GET", `/projects/${project}/authorized_keys`, {
      query: { label_selector: labelSelector },
      as: "text",
    });
  }
  signKey(project, key, body) {
    return this.call("POST", `/projects/${project}/keys/${encodeURIComponent(key)}/certificates`, {
      body,
    });
  }
  // Hosts (docs/ssh-access.md "Hosts"): the project's enrolled servers and the join tokens
  // they enrol with (its administrators only), and the host CA clients trust them by.
  hosts(project) {
    return this.call("GET", `/projects/${project}/hosts`);
  }
  deleteHost(project, id) {
    return this.call("DELETE", `/projects/${project}/hosts/${encodeURIComponent(id)}`);
  }
  joinTokens(project) {
    return this.call("GET", `/projects/${project}/host_join_tokens`);
  }
  createJoinToken(project, body) {
    return this.call("POST", `/projects/${project}/host_join_tokens`, { body });
  }
  deleteJoinToken(project, id) {
    return this.call("DELETE", `/projects/${project}/host_join_tokens/${encodeURIComponent(id)}`);
  }
  sshHostCa(project) {
    return this.call("GET", `/projects/${project}/ssh_host_ca`);
  }
  createSshHostCa(project) {
    return this.call("POST", `/projects/${project}/ssh_host_ca`);
  }
  rotateSshHostCa(project) {
    return this.call("POST", `/projects/${project}/ssh_host_ca/rotate`);
  }
  deleteSshHostCaKey(project, fingerprint) {
    return this.call(
      "DELETE",
      `/projects/${project}/ssh_host_ca/keys/${encodeURIComponent(fingerprint)}`,
    );
  }
  hostKnownHosts(project, patterns) {
    return this.call("GET", `/projects/${project}/ssh_host_ca/known_hosts`, {
      query: { hosts: patterns },
      as: "text",
    });
  }
  // The audit trail (administrators only).
  events(query) {
    return this.call("GET", "/events", { query });
  }
  revokeCertificate(project, serial) {
    return this.call(
      "POST",
      `/projects/${project}/certificates/${encodeURIComponent(serial)}/revoke`,
    );
  }
  // People (docs/people.md): the grants that give roles in projects, and the users.
  grants() {
    return this.call("GET", "/grants");
  }
  createGrant(body) {
    return this.call("POST", "/grants", { body });
  }
  deleteGrant(id) {
    return this.call("DELETE", `/grants/${encodeURIComponent(id)}`);
  }
  users() {
    return this.call("GET", "/users");
  }
  setUserDisabled(id, disabled) {
    return this.call("PATCH", `/users/${encodeURIComponent(id)}`, { body: { disabled } });
  }
}

// What an error means for the user and what to do next, in one sentence or two.
export function explain(err, { conflict } = {}) {
  if (!(err instanceof ApiError)) {
    if (err instanceof NetworkError) return err.message;
    return "Something went wrong in the console: " + (err && err.message ? err.message : err);
  }
  const said = err.message ? ` (keypaird said: “${err.message}”)` : "";
  switch (err.status) {
    case 400:
      return "Some values were not accepted. Correct the fields marked below and try again." + said;
    case 401:
      return "Your token was not accepted: it may be mistyped, revoked or expired. Sign in again with a valid token.";
    case 403:
      return (
        "This token is not allowed to do that here: it may be read-only, limited to other projects, or the key belongs to someone else." +
        said
      );
    case 404:
      return "Not found: it may have been deleted, or it is not shared with you." + said;
    case 409:
      return (
        (conflict ||
          "That conflicts with another key: a key of that name already exists in this project. Choose another name.") +
        said
      );
    case 412:
      return "This key was changed elsewhere (by someone else, or in another tab) after you opened it, so nothing was saved. Reload it to see the current version, then make your change again.";
    case 413:
      return "That is too large for keypaird to accept. Use a shorter value.";
    case 429:
      return "Too many requests with this token. Wait a few seconds, then try again.";
    case 503:
      return "keypaird is busy or cannot reach its database right now. Try again in a moment.";
    default:
      if (err.status >= 500) {
        return `keypaird failed to complete this (${err.status}). Try again; if it keeps failing, give your administrator the request id ${err.requestId}.`;
      }
      return `keypaird answered ${err.status}.` + said;
  }
}
