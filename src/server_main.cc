// keypaird-server: the service (serve, migrate, token, ca) and every other command; the
// lean `keypaird` (client_main.cc) execs it for the service's commands. Wiring only; see
// cli/cli.cc.
#include <string>
#include <vector>

#include "cli/cli.h"

int main(int argc, char** argv) {
  return keypaird::cli::Main(std::vector<std::string>(argv + 1, argv + argc));
}
