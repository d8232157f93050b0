// refreader: a reference reader for the vmtest guest, doing in C what twitchd's ADXL345 driver
// does in bypass mode, so the feeder and the kernel side can be checked on their own: when a
// twitchd check fails and this one passes, the fault is in twitchd.
//   refreader --bus DEV --line NAME --count N [--timeout-ms 50] [--idle-ms 3000]
// Requests the line's rising edges through libgpiod v1 (gpiod_line_find,
// gpiod_line_request_rising_edge_events), then loops: wait for an edge (gpiod_line_event_wait,
// draining every pending event with gpiod_line_event_read_multiple and keeping the newest
// kernel timestamp), read INT_SOURCE, and read DATAX0..DATAZ1 in one I2C-block transfer when
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

static int fd;

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
  struct gpiod_line *line = gpiod_line_find(name);
  if (!line) {
    fprintf(stderr, "refreader: line %s: %s\n", name, strerror(errno));
    return 66;
  }
  if (gpiod_line_request_rising_edge_events(line, "refreader") < 0) {
    fprintf(stderr, "refreader: request %s: %s\n", name, strerror(errno));
    return 71;
  }
  int samples = 0, edges = 0, polls = 0, coalesced = 0;
  int64_t last_progress = mono_ns();
  while ((count == 0 || samples < count) && mono_ns() - last_progress < (int64_t)idle_ms * 1000000LL) {
    struct timespec to = {.tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L};
    int rc = gpiod_line_event_wait(line, &to);
    if (rc < 0) {
      fprintf(stderr, "refreader: event wait: %s\n", strerror(errno));
      return 74;
    }
    int64_t t = 0;
    int edge = 0;
    if (rc == 1) {
      struct gpiod_line_event ev[16];
      int n = gpiod_line_event_read_multiple(line, ev, 16);
      if (n < 0) {
        fprintf(stderr, "refreader: event read: %s\n", strerror(errno));
        return 74;
      }
      for (int i = 0; i < n; i++) {
        if (ev[i].event_type != GPIOD_LINE_EVENT_RISING_EDGE) continue;
        int64_t e = (int64_t)ev[i].ts.tv_sec * 1000000000LL + ev[i].ts.tv_nsec;
        if (edge) coalesced++;
        if (e <= t) {
          fprintf(stderr, "refreader: edge timestamps not increasing\n");
          return 1;
        }
        t = e;
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
