// The documents made from the tables of config.cc: --help, keypaird(1), the env file and the
// bash completion script. Nothing here names a flag: every flag comes from Flags().
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "common/version.h"
#include "config/config.h"
#include "config/text.h"

namespace keypaird::config {
namespace {

constexpr std::string_view kSummary =
    "SSH keypair service (Gcore Cloud API \"SSH Keys\" compatible)";

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

bool HasFlags(Command c) {
  for (const Flag& f : Flags()) {
    if ((f.commands & CommandBit(c)) != 0) return true;
  }
  return false;
}

// "keypaird token create --user ID (--projects LIST | --admin) [FLAG...]"
std::string Synopsis(const Subcommand& s) {
  std::string out = Cat("keypaird ", s.words);
  if (!s.operands.empty()) out.append(" ").append(s.operands);
  if (HasFlags(s.command)) out += " [FLAG...]";
  return out;
}

// The commands a flag belongs to, as words ("serve", "token create"), or "every command".
std::string CommandsOf(CommandSet set) {
  std::vector<std::string_view> names;
  bool all = true;
  for (const Subcommand& s : Subcommands()) {
    if (s.command == Command::kHelp) continue;
    if ((set & CommandBit(s.command)) != 0) {
      names.push_back(s.words);
    } else {
      all = false;
    }
  }
  if (all) return "every command";
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

std::string FlagUsage(const Flag& f) {
  std::string out = Cat("--", f.name);
  if (!f.value.empty()) out.append(" ").append(f.value);
  return out;
}

std::string ChoicesText(const Flag& f) {
  std::string out;
  for (char ch : f.choices) out += ch == ' ' ? std::string(", ") : std::string(1, ch);
  return out;
}

// Roff-escapes text: backslashes, and hyphens as \- so that flags copy as typed.
std::string Roff(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\\') {
      out += "\\e";
    } else if (ch == '-') {
      out += "\\-";
    } else {
      out += ch;
    }
  }
  return out;
}

std::string Bold(std::string_view text) { return Cat("\\fB", Roff(text), "\\fR"); }
std::string Italic(std::string_view text) { return Cat("\\fI", Roff(text), "\\fR"); }

// A synopsis in roff: words in bold, placeholders (all capitals) in italics, the rest roman.
std::string RoffSynopsis(std::string_view text) {
  std::string out;
  char font = 'R';
  auto use = [&](char f) {
    if (f != font) out.append("\\f").push_back(f);
    font = f;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = std::min(text.find_first_of(" ()[]|", pos), text.size());
    if (end == pos) {
      if (text[pos] != ' ') use('R');
      out += text[pos++];
      continue;
    }
    const std::string_view word = text.substr(pos, end - pos);
    use(word.find_first_of("abcdefghijklmnopqrstuvwxyz") == std::string_view::npos ? 'I' : 'B');
    out += Roff(word);
    pos = end;
  }
  use('R');
  return out;
}

std::string FlagList(Command c) {
  std::string out;
  for (const Flag& f : Flags()) {
    if ((f.commands & CommandBit(c)) == 0) continue;
    if (!out.empty()) out += ", ";
    out += Bold(Cat("--", f.name));
  }
  return out;
}

}  // namespace

std::string HelpText() {
  std::string out = Cat("keypaird — ", kSummary, "\n\nUsage:\n");
  for (const Subcommand& s : Subcommands()) {
    const std::string left = Synopsis(s);
    if (left.size() < 40) {
      out += Cat("  ", Pad(left, 42), s.help, "\n");
    } else {
      out += Cat("  ", left, "\n", std::string(44, ' '), s.help, "\n");
    }
  }
  out += "  keypaird --version | --help\n\n";
  out += "Flags (each also read from the environment variable shown; a flag wins over it):\n";
  for (const Flag& f : Flags()) {
    out += Cat("  ", Pad(FlagUsage(f), 24), " ", Pad(EnvName(f.name), 27), " ",
               CommandsOf(f.commands), "\n      ", f.help);
    if (!f.choices.empty()) out += Cat(": ", ChoicesText(f));
    if (!f.value.empty() && !f.default_value.empty()) out += Cat(" [", f.default_value, "]");
    out += "\n";
  }
  out += R"(
Unauthenticated endpoints: GET /healthz (process up), GET /readyz (database reachable),
GET /metrics (Prometheus text format). Logs: one JSON object per line on stderr.
API calls need the header "Authorization: APIKey <token>". Exit status: 0 success,
1 runtime failure, 2 usage error. More: man keypaird.
)";
  return out;
}

std::string ManPage() {
  std::string out;
  out += ".\\\" keypaird(1), made by `keypaird help man` from the flag table; do not edit.\n";
  out += Cat(".TH KEYPAIRD 1 \"\" \"keypaird ", kVersion, "\" \"User Commands\"\n");
  out += ".nh\n.ad l\n";  // flags and variable names are not to be hyphenated or stretched
  out += Cat(".SH NAME\nkeypaird \\- ", Roff(kSummary), "\n");
  out += ".SH SYNOPSIS\n";
  for (const Subcommand& s : Subcommands()) out += Cat(RoffSynopsis(Synopsis(s)), "\n.br\n");
  out += Cat(Bold("keypaird"), " ", Bold("--version"), " | ", Bold("--help"), "\n");
  out += Cat(
      ".SH DESCRIPTION\n",
      Roff(
          R"(keypaird is a self-hosted SSH keypair service, wire-compatible with the "SSH Keys" part of Gcore's Cloud API. Clients import SSH public keys or have the service generate keypairs (the private key is returned once and never stored); keys are listed, fetched, shared within a project and deleted, behind API tokens that are stored only as hashes. Keys live in SQLite (the default, one file) or PostgreSQL (several nodes on one database).)"),
      "\n.PP\n",
      Roff(
          R"(API calls need the header "Authorization: APIKey TOKEN", with a token made by "keypaird token create". Without a token: GET /healthz (the process is up), GET /readyz (the database is reachable) and GET /metrics (Prometheus text format). Logs are JSON objects, one per line, on standard error.)"),
      "\n.PP\n",
      Roff(
          R"(Every flag --foo-bar is also read from the environment variable KEYPAIRD_FOO_BAR (a switch takes true, false, 1 or 0 there); a flag wins over its variable, and a variable over the default. A bad value stops the command with a message that names the flag or variable.)"),
      "\n.PP\n",
      Roff(
          R"(The commands authorized-keys and krl run on the SSH servers of a fleet, as clients of a keypaird service reached at --url (https://, or http:// to a loopback address only) with the token in --token-file (a file only its owner may read). authorized-keys is sshd's AuthorizedKeysCommand: it prints the usable keys the token sees, keeps each answer in --cache-file and prints that copy, while it is at most --max-stale old, when the service cannot be reached, times out or answers 5xx; a 401, 403 or 404 denies at once. Its messages go to standard error and to syslog (sshd discards its command's standard error). krl writes the project's OpenSSH key revocation list to --out for sshd's RevokedKeys, replacing the file only with a complete list; the keypaird-krl.timer unit runs it.)"),
      "\n.PP\n",
      Roff(
          R"(login is for people, on a laptop or a jump host: it prints a page and a code to open and approve in any browser, signs the person in there (device authorization, RFC 8628), then has a fresh Ed25519 key certified by the project's CA for --ttl and adds it to the running ssh-agent, which forgets it when the certificate ends; or, with --out FILE, writes FILE and FILE-cert.pub (mode 0600).)"),
      "\n");
  out += ".SH COMMANDS\n";
  for (const Subcommand& s : Subcommands()) {
    out += Cat(".TP\n", RoffSynopsis(Synopsis(s)), "\n", Roff(s.help), ".");
    if (HasFlags(s.command)) out += Cat(" Flags: ", FlagList(s.command), ".");
    out += "\n";
  }
  out += Cat(".TP\n", Bold("keypaird --version"), "\nPrint the version.\n");
  out += ".SH OPTIONS\n";
  for (const Flag& f : Flags()) {
    out += Cat(".TP\n", Bold(Cat("--", f.name)));
    if (!f.value.empty()) out += Cat(" ", Italic(f.value));
    out += Cat("\n", Roff(f.help));
    if (!f.choices.empty()) out += Cat(": ", Roff(ChoicesText(f)));
    out += ". ";
    if (!f.value.empty() && !f.default_value.empty()) {
      out += Cat("Default: ", Bold(f.default_value), ". ");
    }
    out += Cat("Variable: ", Bold(EnvName(f.name)), ". For: ", Roff(CommandsOf(f.commands)), ".\n");
  }
  out += Cat(".TP\n", Bold("--help"), ", ", Bold("-h"),
             "\nPrint the help text (also after a command, instead of running it).\n");
  out += ".SH ENVIRONMENT\n";
  for (const Flag& f : Flags()) {
    out += Cat(".TP\n", Bold(EnvName(f.name)), "\nAs ", Bold(Cat("--", f.name)), ".\n");
  }
  out += R"(.SH FILES
.TP
.I /etc/keypaird/keypaird.env
The settings of the keypaird service as KEYPAIRD_* variables (read by systemd,
EnvironmentFile=), each one commented out with its default; made by
.BR "keypaird help env" .
Mode 0600: a PostgreSQL URL may hold a password.
.TP
.I /var/lib/keypaird/keypaird.db
The service's SQLite database (StateDirectory=keypaird), with its \-wal and \-shm files
while open. The service migrates it when it starts.
.TP
.I ./data/keypaird.db
The default database of a keypaird started by hand.
.TP
.I /etc/keypaird/krl.env
The settings of keypaird\-krl.service (KEYPAIRD_URL, KEYPAIRD_TOKEN_FILE, KEYPAIRD_PROJECT);
the service does nothing until it exists.
.TP
.I /var/lib/keypaird\-krl/revoked.krl
Where keypaird\-krl.service writes the key revocation list, for sshd's RevokedKeys.
.SH "EXIT STATUS"
0 on success, 1 on a runtime failure (for example the database cannot be opened), 2 on a
usage error (an unknown command or flag, a bad value). authorized\-keys exits 1 when it
prints no keys (sshd then lets no key in), krl when the file was left as it was.
.SH EXAMPLES
.nf
keypaird migrate \-\-database sqlite:/var/lib/keypaird/keypaird.db
keypaird token create \-\-user 1 \-\-projects 1,2
keypaird serve \-\-listen 0.0.0.0:8443 \-\-tls\-cert cert.pem \-\-tls\-key key.pem
KEYPAIRD_DATABASE=postgresql://keypaird@db:5432/keypaird keypaird serve
keypaird authorized\-keys \-\-url https://keys.example.com \-\-token\-file /etc/keypaird/fleet.token \e
    \-\-project 1 \-\-label\-selector login=%u \-\-cache\-file /var/cache/keypaird/%u.keys
.fi
.SH "SEE ALSO"
.BR sshd_config (5),
.BR ssh\-keygen (1),
.BR systemctl (1),
.BR systemd.exec (5),
.BR sqlite3 (1)
)";
  return out;
}

std::string EnvFile(const std::map<std::string, std::string>& defaults) {
  std::string out =
      Cat("# The settings of keypaird serve, as KEYPAIRD_* environment variables (keypaird(1)).\n"
          "# Made by `keypaird help env` (keypaird ",
          kVersion, R"(). Every setting is commented out with its
# default: uncomment a line and change its value, then restart the service. A value is taken
# as written, without quotes; one shown empty is unset by default. The keypaird command line
# takes the same variables.
)");
  for (const Flag& f : Flags()) {
    if ((f.commands & CommandBit(Command::kServe)) == 0) continue;
    std::string value(f.default_value);
    if (auto it = defaults.find(std::string(f.name)); it != defaults.end()) value = it->second;
    out += Cat("\n# --", f.name, ": ", f.help);
    if (!f.choices.empty()) out += Cat(": ", ChoicesText(f));
    out += Cat("\n#", EnvName(f.name), "=", value, "\n");
  }
  return out;
}

std::string BashCompletion() {
  std::string value_flags;  // flags that take a separate value: "--listen|--database|..."
  std::string value_cases;  // what to offer after one of them
  std::string free_flags;   // ... nothing: any value
  for (const Flag& f : Flags()) {
    if (f.value.empty()) continue;
    const std::string flag = Cat("--", f.name);
    value_flags += Cat(value_flags.empty() ? "" : "|", flag);
    if (f.value == "FILE") {
      value_cases +=
          Cat("    ", flag,
              ")\n      compopt -o filenames 2>/dev/null\n"
              "      mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n      return ;;\n");
    } else if (!f.choices.empty()) {
      value_cases += Cat("    ", flag, ") words=\"", f.choices, "\" ;;\n");
    } else {
      free_flags += Cat(free_flags.empty() ? "" : "|", flag);
    }
  }
  if (!free_flags.empty()) {
    value_cases += Cat("    ", free_flags, ") return ;;  # the user's own value\n");
  }
  // What follows each command (its flags), a group word (its second words), or nothing.
  std::string first_words;
  std::string command_cases;
  std::string group_cases;
  for (const Subcommand& s : Subcommands()) {
    const std::string words(s.words);
    const size_t space = words.find(' ');
    const std::string first = words.substr(0, space);
    if (Cat(" ", first_words).find(Cat(" ", first, " ")) == std::string::npos) {
      first_words += Cat(first, " ");
      if (space != std::string::npos) {
        std::string members;
        for (std::string_view m : CommandsUnder(first)) {
          members += Cat(members.empty() ? "" : " ", m);
        }
        group_cases += Cat("        \"", first, "\") words=\"", members, "\" ;;\n");
      }
    }
    std::string candidates = "--help";
    if (s.command == Command::kHelp) candidates = "man env bash-completion";
    for (const Flag& f : Flags()) {
      if ((f.commands & CommandBit(s.command)) != 0) candidates += Cat(" --", f.name);
    }
    command_cases +=
        Cat("        \"", words, "\" | \"", words, " \"*) words=\"", candidates, "\" ;;\n");
  }
  return Cat(
      "# bash completion for keypaird(1); made by `keypaird help bash-completion` (keypaird ",
      kVersion, ").\n", R"(_keypaird() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local command="" words="" i
  # The command so far: the words before the current one, less flags and their values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      )",
      value_flags, R"() i=$((i + 1)) ;;
      -*) ;;
      *) command="${command:+$command }${COMP_WORDS[i]}" ;;
    esac
  done
  case $prev in
)",
      value_cases, R"(    *)
      case $command in
        "") words=")",
      first_words, R"(--version --help" ;;
)",
      group_cases, command_cases, R"(      esac ;;
  esac
  mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}
complete -F _keypaird keypaird
)");
}

std::string HelpDocument(const Config& c) {
  switch (c.help_format) {
    case HelpFormat::kMan:
      return ManPage();
    case HelpFormat::kEnv:
      return EnvFile(c.help_defaults);
    case HelpFormat::kBashCompletion:
      return BashCompletion();
    case HelpFormat::kText:
      break;
  }
  return HelpText();
}

}  // namespace keypaird::config
