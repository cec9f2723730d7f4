// keypaird: wiring only; see cli/cli.cc.
#include <string>
#include <vector>

#include "cli/cli.h"

int main(int argc, char** argv) {
  return keypaird::cli::Main(std::vector<std::string>(argv + 1, argv + argc));
}
