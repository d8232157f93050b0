// A small, uniform C API over libgpiod v1 (1.6.x) and v2 (2.x) for one rising-edge input line.
//
// Which libgpiod API is used is decided at build time by the preprocessor: only the v1 header
// defines GPIOD_LINE_BULK_MAX_LINES. Callers never see libgpiod types.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An opened, requested line (rising-edge events, input).
typedef struct twitchd_gpio_line twitchd_gpio_line;

/// What `twitchd_gpio_open` found.
typedef enum {
    TWITCHD_GPIO_OK = 0,
    /// No gpiochip device in the directory at all.
    TWITCHD_GPIO_NO_CHIPS = 1,
    /// A chip was named and none has that name, label or path.
    TWITCHD_GPIO_CHIP_NOT_FOUND = 2,
    /// No (searched) chip has a line of that name, or the offset is out of range.
    TWITCHD_GPIO_LINE_NOT_FOUND = 3,
    /// A system call failed; `*err` holds the errno (EACCES, EBUSY, ...).
    TWITCHD_GPIO_SYSTEM_ERROR = 4,
} twitchd_gpio_status;

/// 1 or 2: the libgpiod API this build was compiled against.
int twitchd_gpio_api_version(void);
/// The libgpiod library's own version string, e.g. "1.6.3".
const char *twitchd_gpio_library_version(void);

/// Finds a line and requests it as an input with rising-edge events.
///
/// - dev_dir: the directory holding `gpiochip*` device files; NULL means "/dev".
/// - chip: NULL to search every chip for a line *name*; otherwise a chip name ("gpiochip0"),
///   label ("pinctrl-bcm2711") or path ("/dev/gpiochip0").
/// - line: a line name ("GPIO17"); when `chip` is given, a decimal offset ("17") also works.
/// - consumer: shown by `gpioinfo` as the line's user, e.g. "twitchd".
/// - err: receives the errno for TWITCHD_GPIO_SYSTEM_ERROR (and the last open error otherwise,
///   e.g. EACCES when a chip could not be opened during the search), else 0.
twitchd_gpio_status twitchd_gpio_open(
    const char *dev_dir, const char *chip, const char *line, const char *consumer,
    twitchd_gpio_line **out, int *err);

/// Waits up to `timeout_ns` (negative: forever) for an edge event. Returns 1 when events are
/// pending, 0 on timeout, or a negative errno (-EINTR when a signal interrupted the wait).
int twitchd_gpio_wait(twitchd_gpio_line *line, int64_t timeout_ns);

/// Reads pending edge events (call after `twitchd_gpio_wait` returned 1; it blocks otherwise) and
/// stores the CLOCK_MONOTONIC timestamps (ns) of the rising ones, oldest first, up to `max`.
/// Returns how many were stored (0 if only falling edges came), or a negative errno.
int twitchd_gpio_read_rising(twitchd_gpio_line *line, uint64_t *timestamps_ns, int max);

/// The line's current value: 0 or 1, or a negative errno.
int twitchd_gpio_get_value(twitchd_gpio_line *line);

/// A file descriptor that becomes readable when an event is pending (for poll/epoll).
int twitchd_gpio_fd(twitchd_gpio_line *line);

/// The chip's kernel name ("gpiochip0"), its label ("pinctrl-bcm2711"), the line's offset and
/// name ("" when unnamed). Valid until the line is closed.
const char *twitchd_gpio_chip_name(const twitchd_gpio_line *line);
const char *twitchd_gpio_chip_label(const twitchd_gpio_line *line);
unsigned int twitchd_gpio_line_offset(const twitchd_gpio_line *line);
const char *twitchd_gpio_line_name(const twitchd_gpio_line *line);

/// Releases the line and closes its chip. NULL is allowed.
void twitchd_gpio_close(twitchd_gpio_line *line);

/// Describes the chips in `dev_dir` (NULL: "/dev"), one per text line, e.g.
/// `gpiochip0 [pinctrl-bcm2711] 58 lines: GPIO0 GPIO1 ...` or `gpiochip1: cannot open
/// (Permission denied)`, into `buf` (always NUL-terminated, truncated to `len`). Returns the number
/// of gpiochip device files found.
int twitchd_gpio_describe(const char *dev_dir, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
