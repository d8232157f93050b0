// libgpiod v1/v2 shim: see include/twitchd_gpio.h.
#define _GNU_SOURCE
#include "twitchd_gpio.h"

#include <dirent.h>
#include <errno.h>
#include <gpiod.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Only the v1 header defines GPIOD_LINE_BULK_MAX_LINES.
#if defined(GPIOD_LINE_BULK_MAX_LINES)
#define TWITCHD_GPIOD_V1 1
#else
#define TWITCHD_GPIOD_V2 1
#endif

#define TWITCHD_EVENT_BATCH 16

struct twitchd_gpio_line {
    struct gpiod_chip *chip;
#if TWITCHD_GPIOD_V1
    struct gpiod_line *line;
#else
    struct gpiod_line_request *request;
    struct gpiod_edge_event_buffer *events;
#endif
    unsigned int offset;
    char chip_name[64];
    char chip_label[64];
    char line_name[64];
};

int twitchd_gpio_api_version(void) {
#if TWITCHD_GPIOD_V1
    return 1;
#else
    return 2;
#endif
}

const char *twitchd_gpio_library_version(void) {
#if TWITCHD_GPIOD_V1
    return gpiod_version_string();
#else
    return gpiod_api_version();
#endif
}

static void copy_str(char *dst, size_t len, const char *src) {
    snprintf(dst, len, "%s", src ? src : "");
}

// ---- Chip enumeration (the same for v1 and v2: scan the directory ourselves) ----

static int chip_number(const char *name) {
    // "gpiochip12" -> 12; anything else sorts last.
    const char *p = name + strlen("gpiochip");
    if (*p == '\0') return 1 << 30;
    char *end = NULL;
    long n = strtol(p, &end, 10);
    return (end && *end == '\0' && n >= 0 && n < (1 << 30)) ? (int)n : (1 << 30);
}

static int compare_chips(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int nx = chip_number(x), ny = chip_number(y);
    if (nx != ny) return nx < ny ? -1 : 1;
    return strcmp(x, y);
}

// Lists "gpiochip*" entries of dir, sorted by number. Returns the count (<= max); names are
// malloc'd and must be freed with free_names.
static int list_chip_files(const char *dir, char **names, int max) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (strncmp(e->d_name, "gpiochip", 8) != 0) continue;
        names[n] = strdup(e->d_name);
        if (names[n]) n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(char *), compare_chips);
    return n;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
}

// Chip name and label, version-independently.
static void chip_identity(struct gpiod_chip *chip, char *name, size_t nlen, char *label, size_t llen,
                          unsigned int *num_lines) {
#if TWITCHD_GPIOD_V1
    copy_str(name, nlen, gpiod_chip_name(chip));
    copy_str(label, llen, gpiod_chip_label(chip));
    *num_lines = gpiod_chip_num_lines(chip);
#else
    struct gpiod_chip_info *info = gpiod_chip_get_info(chip);
    if (info) {
        copy_str(name, nlen, gpiod_chip_info_get_name(info));
        copy_str(label, llen, gpiod_chip_info_get_label(info));
        *num_lines = (unsigned int)gpiod_chip_info_get_num_lines(info);
        gpiod_chip_info_free(info);
    } else {
        copy_str(name, nlen, "");
        copy_str(label, llen, "");
        *num_lines = 0;
    }
#endif
}

// Offset of the line called `name` on `chip`, or -1 (errno ENOENT when there is none).
static int find_offset(struct gpiod_chip *chip, const char *name) {
#if TWITCHD_GPIOD_V1
    struct gpiod_line *l = gpiod_chip_find_line(chip, name);
    if (!l) return -1;
    return (int)gpiod_line_offset(l);
#else
    return gpiod_chip_get_line_offset_from_name(chip, name);
#endif
}

// Name of the line at offset (copied into buf; "" when unnamed or on error).
static void line_name_at(struct gpiod_chip *chip, unsigned int offset, char *buf, size_t len) {
#if TWITCHD_GPIOD_V1
    struct gpiod_line *l = gpiod_chip_get_line(chip, offset);
    copy_str(buf, len, l ? gpiod_line_name(l) : "");
#else
    struct gpiod_line_info *info = gpiod_chip_get_line_info(chip, offset);
    copy_str(buf, len, info ? gpiod_line_info_get_name(info) : "");
    if (info) gpiod_line_info_free(info);
#endif
}

static int parse_offset(const char *s, unsigned int *out) {
    if (!s || !*s) return 0;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || !end || *end != '\0' || v > 0xFFFFu) return 0;
    *out = (unsigned int)v;
    return 1;
}

// Requests `offset` on `chip` for rising edges into `l`. Returns 0 or an errno.
static int request_line(twitchd_gpio_line *l, const char *consumer) {
#if TWITCHD_GPIOD_V1
    struct gpiod_line *line = gpiod_chip_get_line(l->chip, l->offset);
    if (!line) return errno ? errno : EINVAL;
    if (gpiod_line_request_rising_edge_events(line, consumer) < 0) return errno ? errno : EIO;
    l->line = line;
    return 0;
#else
    int rc = 0;
    struct gpiod_line_settings *settings = gpiod_line_settings_new();
    struct gpiod_line_config *line_cfg = gpiod_line_config_new();
    struct gpiod_request_config *req_cfg = gpiod_request_config_new();
    if (!settings || !line_cfg || !req_cfg) {
        rc = ENOMEM;
        goto out;
    }
    gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_INPUT);
    gpiod_line_settings_set_edge_detection(settings, GPIOD_LINE_EDGE_RISING);
    gpiod_line_settings_set_event_clock(settings, GPIOD_LINE_CLOCK_MONOTONIC);
    unsigned int offset = l->offset;
    if (gpiod_line_config_add_line_settings(line_cfg, &offset, 1, settings) < 0) {
        rc = errno ? errno : EINVAL;
        goto out;
    }
    gpiod_request_config_set_consumer(req_cfg, consumer);
    l->request = gpiod_chip_request_lines(l->chip, req_cfg, line_cfg);
    if (!l->request) {
        rc = errno ? errno : EIO;
        goto out;
    }
    l->events = gpiod_edge_event_buffer_new(TWITCHD_EVENT_BATCH);
    if (!l->events) {
        rc = ENOMEM;
        gpiod_line_request_release(l->request);
        l->request = NULL;
    }
out:
    if (settings) gpiod_line_settings_free(settings);
    if (line_cfg) gpiod_line_config_free(line_cfg);
    if (req_cfg) gpiod_request_config_free(req_cfg);
    return rc;
#endif
}

#define TWITCHD_MAX_CHIPS 64

twitchd_gpio_status twitchd_gpio_open(const char *dev_dir, const char *chip, const char *line,
                                      const char *consumer, twitchd_gpio_line **out, int *err) {
    *out = NULL;
    *err = 0;
    if (!line || !*line) return TWITCHD_GPIO_LINE_NOT_FOUND;
    const char *dir = dev_dir ? dev_dir : "/dev";
    char *names[TWITCHD_MAX_CHIPS];
    int n = list_chip_files(dir, names, TWITCHD_MAX_CHIPS);
    if (n == 0) return TWITCHD_GPIO_NO_CHIPS;

    twitchd_gpio_status status = chip ? TWITCHD_GPIO_CHIP_NOT_FOUND : TWITCHD_GPIO_LINE_NOT_FOUND;
    int open_errno = 0;
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        errno = 0;
        struct gpiod_chip *c = gpiod_chip_open(path);
        if (!c) {
            open_errno = errno ? errno : ENODEV;
            // A named chip we cannot open is the answer when its file name matches.
            if (chip && (strcmp(chip, names[i]) == 0 || strcmp(chip, path) == 0)) {
                status = TWITCHD_GPIO_SYSTEM_ERROR;
                break;
            }
            continue;
        }
        char cname[64], clabel[64];
        unsigned int num_lines = 0;
        chip_identity(c, cname, sizeof cname, clabel, sizeof clabel, &num_lines);
        if (chip && strcmp(chip, cname) != 0 && strcmp(chip, clabel) != 0 && strcmp(chip, path) != 0 &&
            strcmp(chip, names[i]) != 0) {
            gpiod_chip_close(c);
            continue;
        }
        unsigned int offset = 0;
        int found = 0;
        if (chip && parse_offset(line, &offset)) {
            found = offset < num_lines;
        } else {
            errno = 0;
            int o = find_offset(c, line);
            if (o >= 0) {
                offset = (unsigned int)o;
                found = 1;
            } else if (errno && errno != ENOENT) {
                open_errno = errno;
            }
        }
        if (!found) {
            gpiod_chip_close(c);
            if (chip) {
                status = TWITCHD_GPIO_LINE_NOT_FOUND;
                break;
            }
            continue;
        }
        twitchd_gpio_line *l = calloc(1, sizeof *l);
        if (!l) {
            gpiod_chip_close(c);
            open_errno = ENOMEM;
            status = TWITCHD_GPIO_SYSTEM_ERROR;
            break;
        }
        l->chip = c;
        l->offset = offset;
        copy_str(l->chip_name, sizeof l->chip_name, cname[0] ? cname : names[i]);
        copy_str(l->chip_label, sizeof l->chip_label, clabel);
        line_name_at(c, offset, l->line_name, sizeof l->line_name);
        int rc = request_line(l, consumer ? consumer : "twitchd");
        if (rc != 0) {
            gpiod_chip_close(c);
            free(l);
            open_errno = rc;
            status = TWITCHD_GPIO_SYSTEM_ERROR;
            break;
        }
        *out = l;
        status = TWITCHD_GPIO_OK;
        open_errno = 0;
        break;
    }
    free_names(names, n);
    // A search that failed while some chip could not be opened (typically EACCES) reports that:
    // the line may well be on the chip we could not read.
    if (status != TWITCHD_GPIO_OK && open_errno == EACCES) status = TWITCHD_GPIO_SYSTEM_ERROR;
    *err = open_errno;
    return status;
}

int twitchd_gpio_wait(twitchd_gpio_line *l, int64_t timeout_ns) {
    int rc;
    errno = 0;
#if TWITCHD_GPIOD_V1
    struct timespec ts;
    if (timeout_ns < 0) timeout_ns = (int64_t)3600 * 1000000000LL;  // v1 has no "forever"
    ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
    ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
    rc = gpiod_line_event_wait(l->line, &ts);
#else
    rc = gpiod_line_request_wait_edge_events(l->request, timeout_ns);
#endif
    if (rc < 0) return errno ? -errno : -EIO;
    return rc > 0 ? 1 : 0;
}

int twitchd_gpio_read_rising(twitchd_gpio_line *l, uint64_t *timestamps_ns, int max) {
    if (max <= 0) return 0;
    int stored = 0;
    errno = 0;
#if TWITCHD_GPIOD_V1
    struct gpiod_line_event events[TWITCHD_EVENT_BATCH];
    int want = max < TWITCHD_EVENT_BATCH ? max : TWITCHD_EVENT_BATCH;
    int n = gpiod_line_event_read_multiple(l->line, events, (unsigned int)want);
    if (n < 0) return errno ? -errno : -EIO;
    for (int i = 0; i < n; i++) {
        if (events[i].event_type != GPIOD_LINE_EVENT_RISING_EDGE) continue;
        timestamps_ns[stored++] =
            (uint64_t)events[i].ts.tv_sec * 1000000000ULL + (uint64_t)events[i].ts.tv_nsec;
    }
#else
    size_t want = (size_t)(max < TWITCHD_EVENT_BATCH ? max : TWITCHD_EVENT_BATCH);
    int n = gpiod_line_request_read_edge_events(l->request, l->events, want);
    if (n < 0) return errno ? -errno : -EIO;
    for (int i = 0; i < n; i++) {
        struct gpiod_edge_event *e = gpiod_edge_event_buffer_get_event(l->events, (unsigned long)i);
        if (!e || gpiod_edge_event_get_event_type(e) != GPIOD_EDGE_EVENT_RISING_EDGE) continue;
        timestamps_ns[stored++] = gpiod_edge_event_get_timestamp_ns(e);
    }
#endif
    return stored;
}

int twitchd_gpio_get_value(twitchd_gpio_line *l) {
    errno = 0;
#if TWITCHD_GPIOD_V1
    int v = gpiod_line_get_value(l->line);
#else
    int v = (int)gpiod_line_request_get_value(l->request, l->offset);
#endif
    if (v < 0) return errno ? -errno : -EIO;
    return v ? 1 : 0;
}

int twitchd_gpio_fd(twitchd_gpio_line *l) {
#if TWITCHD_GPIOD_V1
    return gpiod_line_event_get_fd(l->line);
#else
    return gpiod_line_request_get_fd(l->request);
#endif
}

const char *twitchd_gpio_chip_name(const twitchd_gpio_line *l) { return l->chip_name; }
const char *twitchd_gpio_chip_label(const twitchd_gpio_line *l) { return l->chip_label; }
unsigned int twitchd_gpio_line_offset(const twitchd_gpio_line *l) { return l->offset; }
const char *twitchd_gpio_line_name(const twitchd_gpio_line *l) { return l->line_name; }

void twitchd_gpio_close(twitchd_gpio_line *l) {
    if (!l) return;
#if TWITCHD_GPIOD_V1
    if (l->line) gpiod_line_release(l->line);
#else
    if (l->events) gpiod_edge_event_buffer_free(l->events);
    if (l->request) gpiod_line_request_release(l->request);
#endif
    if (l->chip) gpiod_chip_close(l->chip);
    free(l);
}

// Appends formatted text to buf at *pos without overflowing.
static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...) {
    if (*pos + 1 >= len) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    *pos += (size_t)w;
    if (*pos >= len) *pos = len - 1;
}

int twitchd_gpio_describe(const char *dev_dir, char *buf, size_t len) {
    if (!buf || len == 0) return 0;
    buf[0] = '\0';
    size_t pos = 0;
    const char *dir = dev_dir ? dev_dir : "/dev";
    char *names[TWITCHD_MAX_CHIPS];
    int n = list_chip_files(dir, names, TWITCHD_MAX_CHIPS);
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        errno = 0;
        struct gpiod_chip *c = gpiod_chip_open(path);
        if (!c) {
            int e = errno ? errno : ENODEV;
            append(buf, len, &pos, "%s: cannot open (%s)\n", names[i], strerror(e));
            continue;
        }
        char cname[64], clabel[64];
        unsigned int num_lines = 0;
        chip_identity(c, cname, sizeof cname, clabel, sizeof clabel, &num_lines);
        append(buf, len, &pos, "%s [%s] %u lines:", cname[0] ? cname : names[i], clabel, num_lines);
        unsigned int unnamed = 0;
        for (unsigned int o = 0; o < num_lines && o < 512; o++) {
            char lname[64];
            line_name_at(c, o, lname, sizeof lname);
            if (lname[0])
                append(buf, len, &pos, " %s", lname);
            else
                unnamed++;
        }
        if (unnamed) append(buf, len, &pos, " (%u unnamed)", unnamed);
        append(buf, len, &pos, "\n");
        gpiod_chip_close(c);
    }
    free_names(names, n);
    return n;
}
