// libsystemd's sd-journal reader (package libsystemd-dev): twitchd report reads the journal
// through it. The daemon keeps its own native-protocol writer and does not link this.
#include <systemd/sd-journal.h>
