// keypaird: the command everyone types. The agent commands, help and --version run here;
// the service's commands exec keypaird-server (cli/client.h).
#include "cli/client.h"

int main(int argc, char** argv) { return keypaird::cli::ClientMain(argc, argv); }
