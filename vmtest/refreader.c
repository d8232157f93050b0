// refreader: a reference reader for the vmtest guest, doing in C what twitchd's ADXL345 driver
// does in bypass mode, so the feeder and the kernel side can be checked on their own: when a
// twitchd check fails and this one passes, the fault is in twitchd.
//   refreader --bus DEV --line NAME --count N [--timeout-ms 50] [--idle-ms 3000]
// Requests the line's rising edges through libgpiod v1 (gpiod_line_find,
// gpiod_line_request_rising_edge_events) or, where the header is v2's (Debian trixie, the arm64
// vmtest), the v2 equivalents (gpiod_chip_get_line_offset_from_name, gpiod_chip_request_lines
// with rising-edge detection on the monotonic clock), then loops: wait for an edge
// (gpiod_line_event_wait / gpiod_line_request_wait_edge_events, draining every pending event and
// keeping the newest kernel timestamp), read INT_SOURCE, and read DATAX0..DATAZ1 in one I2C-block transfer when
// there was an edge or INT_SOURCE says DATA_READY (the poll fallback for a line that is already
// high). Prints "t_ns x y z edge|poll" for each sample and a summary line:
// "refreader: samples N edges E polls P coalesced C". Stops after N samples (N 0: no limit) or
// --idle-ms without one. Exit 0 when N samples were read, or with N 0 when any were.
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

// Only the v1 header defines GPIOD_LINE_BULK_MAX_LINES (as Sources/CGPIOD/gpio.c decides).
#if defined(GPIOD_LINE_BULK_MAX_LINES)
#define GPIOD_V1 1
#else
#define GPIOD_V1 0
#include <dirent.h>
#endif

static int fd;

#if GPIOD_V1
struct edges {
  struct gpiod_line *line;
};

static int edges_open(struct edges *e, const char *name) {
  e->line = gpiod_line_find(name);
  if (!e->line) {
    fprintf(stderr, "refreader: line %s: %s\n", name, strerror(errno));
    return 66;
  }
  if (gpiod_line_request_rising_edge_events(e->line, "refreader") < 0) {
    fprintf(stderr, "refreader: request %s: %s\n", name, strerror(errno));
    return 71;
  }
  return 0;
}

// 1: events pending, 0: timeout, -1: error.
static int edges_wait(struct edges *e, int timeout_ms) {
  struct timespec to = {.tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L};
  return gpiod_line_event_wait(e->line, &to);
}

// Reads up to max pending events; stores the rising edges' timestamps (ns) in ts. Returns how
// many rising edges, or -1.
static int edges_read(struct edges *e, int64_t *ts, int max) {
  struct gpiod_line_event ev[16];
  int n = gpiod_line_event_read_multiple(e->line, ev, max < 16 ? max : 16);
  if (n < 0) return -1;
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (ev[i].event_type != GPIOD_LINE_EVENT_RISING_EDGE) continue;
    ts[k++] = (int64_t)ev[i].ts.tv_sec * 1000000000LL + ev[i].ts.tv_nsec;
  }
  return k;
}
#else
struct edges {
  struct gpiod_line_request *req;
  struct gpiod_edge_event_buffer *buf;
};

static int edges_open(struct edges *e, const char *name) {
  // v2 has no gpiod_line_find: look for the name on every /dev/gpiochip*.
  DIR *dir = opendir("/dev");
  struct dirent *de;
  struct gpiod_chip *chip = NULL;
  int offset = -1;
  while (dir && (de = readdir(dir)) && offset < 0) {
    if (strncmp(de->d_name, "gpiochip", 8)) continue;
    char path[300];
    snprintf(path, sizeof path, "/dev/%s", de->d_name);
    chip = gpiod_chip_open(path);
    if (!chip) continue;
    offset = gpiod_chip_get_line_offset_from_name(chip, name);
    if (offset < 0) {
      gpiod_chip_close(chip);
      chip = NULL;
    }
  }
  if (dir) closedir(dir);
  if (!chip) {
    fprintf(stderr, "refreader: line %s: not found\n", name);
    return 66;
  }
  struct gpiod_line_settings *s = gpiod_line_settings_new();
  struct gpiod_line_config *lc = gpiod_line_config_new();
  struct gpiod_request_config *rc = gpiod_request_config_new();
  unsigned int off = (unsigned int)offset;
  if (!s || !lc || !rc) return 71;
  gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT);
  gpiod_line_settings_set_edge_detection(s, GPIOD_LINE_EDGE_RISING);
  gpiod_line_settings_set_event_clock(s, GPIOD_LINE_CLOCK_MONOTONIC);
  gpiod_request_config_set_consumer(rc, "refreader");
  if (gpiod_line_config_add_line_settings(lc, &off, 1, s) < 0) return 71;
  e->req = gpiod_chip_request_lines(chip, rc, lc);
  gpiod_line_settings_free(s);
  gpiod_line_config_free(lc);
  gpiod_request_config_free(rc);
  gpiod_chip_close(chip);
  if (!e->req) {
    fprintf(stderr, "refreader: request %s: %s\n", name, strerror(errno));
    return 71;
  }
  e->buf = gpiod_edge_event_buffer_new(16);
  return e->buf ? 0 : 71;
}

static int edges_wait(struct edges *e, int timeout_ms) {
  return gpiod_line_request_wait_edge_events(e->req, (int64_t)timeout_ms * 1000000LL);
}

static int edges_read(struct edges *e, int64_t *ts, int max) {
  int n = gpiod_line_request_read_edge_events(e->req, e->buf, (size_t)(max < 16 ? max : 16));
  if (n < 0) return -1;
  int k = 0;
  for (int i = 0; i < n; i++) {
    struct gpiod_edge_event *ev = gpiod_edge_event_buffer_get_event(e->buf, (unsigned long)i);
    if (!ev || gpiod_edge_event_get_event_type(ev) != GPIOD_EDGE_EVENT_RISING_EDGE) continue;
    ts[k++] = (int64_t)gpiod_edge_event_get_timestamp_ns(ev);
  }
  return k;
}
#endif

static int smbus_read(uint8_t reg, int size, union i2c_smbus_data *d) {
  struct i2c_smbus_ioctl_data a = {.read_write = I2C_SMBUS_READ, .command = reg, .size = size, .data = d};
  return ioctl(fd, I2C_SMBUS, &a);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  const char *bus = NULL, *name = NULL;
  int count = 0, timeout_ms = 50, idle_ms = 3000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--bus")) bus = argv[i + 1];
    else if (!strcmp(argv[i], "--line")) name = argv[i + 1];
    else if (!strcmp(argv[i], "--count")) count = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--timeout-ms")) timeout_ms = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--idle-ms")) idle_ms = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "refreader: unknown option %s\n", argv[i]);
      return 64;
    }
  }
  if (!bus || !name || count < 0) {
    fprintf(stderr, "usage: refreader --bus DEV --line NAME --count N [--timeout-ms MS] [--idle-ms MS]\n");
    return 64;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  fd = open(bus, O_RDWR);
  if (fd < 0 || ioctl(fd, I2C_SLAVE, 0x53) < 0) {
    fprintf(stderr, "refreader: %s: %s\n", bus, strerror(errno));
    return 66;
  }
  struct edges lines;
  int orc = edges_open(&lines, name);
  if (orc != 0) return orc;
  int samples = 0, edges = 0, polls = 0, coalesced = 0;
  int64_t last_progress = mono_ns();
  while ((count == 0 || samples < count) && mono_ns() - last_progress < (int64_t)idle_ms * 1000000LL) {
    int rc = edges_wait(&lines, timeout_ms);
    if (rc < 0) {
      fprintf(stderr, "refreader: event wait: %s\n", strerror(errno));
      return 74;
    }
    int64_t t = 0;
    int edge = 0;
    if (rc == 1) {
      int64_t ts[16];
      int n = edges_read(&lines, ts, 16);
      if (n < 0) {
        fprintf(stderr, "refreader: event read: %s\n", strerror(errno));
        return 74;
      }
      for (int i = 0; i < n; i++) {
        if (edge) coalesced++;
        if (ts[i] <= t) {
          fprintf(stderr, "refreader: edge timestamps not increasing\n");
          return 1;
        }
        t = ts[i];
        edge = 1;
      }
    }
    union i2c_smbus_data d;
    if (smbus_read(0x30, I2C_SMBUS_BYTE_DATA, &d) < 0) {
      fprintf(stderr, "refreader: read INT_SOURCE: %s\n", strerror(errno));
      return 74;
    }
    if (!edge && !(d.byte & 0x80)) continue;
    d.block[0] = 6;
    if (smbus_read(0x32, I2C_SMBUS_I2C_BLOCK_DATA, &d) < 0 || d.block[0] != 6) {
      fprintf(stderr, "refreader: read DATAX0: %s\n", strerror(errno));
      return 74;
    }
    int16_t v[3];
    for (int i = 0; i < 3; i++) v[i] = (int16_t)(d.block[1 + 2 * i] | (d.block[2 + 2 * i] << 8));
    if (edge) edges++;
    else polls++;
    samples++;
    last_progress = mono_ns();
    printf("%lld %d %d %d %s\n", (long long)(edge ? t : last_progress), v[0], v[1], v[2], edge ? "edge" : "poll");
  }
  fprintf(stderr, "refreader: samples %d edges %d polls %d coalesced %d\n", samples, edges, polls, coalesced);
  return (count == 0 ? samples > 0 : samples == count) ? 0 : 1;
}
