// feeder: plays an ADXL345 in bypass (non-FIFO) mode on top of the kernel's passive i2c-stub
// register file, for the vmtest guest. Static, no libraries.
//
// For each sample of a generic-CSV trace (time_s,ax_g,ay_g,az_g; `#` metadata lines) it
//   1. writes X/Y/Z (little-endian, 3.9 mg/LSB full resolution) to DATAX0..DATAZ1 (0x32..0x37)
//      in one I2C-block write;
//   2. makes a rising edge on the data-ready line (gpio-sim `pull` attribute: pull-up) and sets
//      DATA_READY (0x80) in INT_SOURCE (0x30);
//   3. waits until the reader has consumed the sample, then clears INT_SOURCE and pulls the line
//      down, as the real chip does when its data registers are read;
//   4. sleeps until the next sample is due: the trace's own time_s column on an absolute
//      CLOCK_MONOTONIC schedule (so a trace whose chip clock is a few % off plays at that rate),
//      or a fixed --rate.
//
// Handshake (step 3). i2c-stub is passive: it cannot tell anyone it was read. The kernel can: the
// `smbus:smbus_reply` tracepoint fires after every completed SMBus read with the register and the
// bytes returned. The feeder filters it to INT_SOURCE and DATAX0 reads at the chip's address and
// reads tracefs `trace_pipe`. A sample counts as consumed when a DATAX0 burst returned exactly the
// bytes written for it; a read of INT_SOURCE that returned DATA_READY clears INT_SOURCE at once
// (so a reader that polls on a timeout cannot take the same sample twice). This needs nothing
// from the program under test, cannot be fooled by output buffering, and checks the bytes the
// reader got, not just that it read.
//
// Modes for the fault checks:
//   --start-high         raise the line (and DATA_READY) for the first sample before the reader
//                        runs: a line already high gives no edge, so the reader must poll.
//   --pause PID:K:M      at sample K send SIGSTOP to PID and feed M samples with edges: the
//                        first M-1 without handshake (their edges queue in the kernel while the
//                        reader is stopped), the last one with SIGCONT right after its edge and
//                        the usual handshake, so the reader's one wake-up for all M edges must
//                        take the newest sample; the schedule goes on as if nothing happened.
//   --reset K:MS         before sample K zero the whole register file (what a chip power cycle, or
//                        rmmod/modprobe of i2c-stub, does), wait MS, restore DEVID and wait until
//                        the reader has configured the chip again (POWER_CTL measure bit) before
//                        going on.
//   --static SECONDS     no trace, no line: a chip at rest for the probe's self-check. The data
//                        registers hold 1 g on Z (plus the self-test deflection X +0.5 g,
//                        Y -0.5 g, Z +1 g while DATA_FORMAT.SELF_TEST is set), FIFO_STATUS
//                        always holds the watermark the reader set in FIFO_CTL, and INT_SOURCE
//                        says DATA_READY|WATERMARK, so every FIFO read returns that frame.
//   --no-data-ready      leave INT_SOURCE.DATA_READY clear for samples announced by an edge
//                        (the --start-high sample still sets it). A reader that polls after a
//                        wait timed out (or was cut short) then finds nothing to read, so it
//                        cannot take a sample by polling and again on its late edge.
// Without --start-high the feeder first waits until the reader has configured the chip
// (POWER_CTL measure bit set, FIFO_CTL bypass, DATA_READY enabled) and says so.
//
// Prints one summary line: "feeder: fed N handshaken H unconsumed U stale S maxwait_ms W
// meanwait_ms M late_ms L" (W, M: the longest and mean wait for the reader; L: the furthest the
// feeder fell behind its schedule).
// Exit 0 when every handshaken sample was consumed, 1 on a handshake timeout, 64+ on misuse.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum {
  REG_DEVID = 0x00,
  REG_BW_RATE = 0x2C,
  REG_POWER_CTL = 0x2D,
  REG_INT_ENABLE = 0x2E,
  REG_INT_SOURCE = 0x30,
  REG_DATA_FORMAT = 0x31,
  REG_DATAX0 = 0x32,
  REG_FIFO_CTL = 0x38,
  REG_FIFO_STATUS = 0x39,
  WATERMARK = 0x02,
  SELF_TEST = 0x80,
  DEVID_ADXL345 = 0xE5,
  DATA_READY = 0x80,
  MEASURE = 0x08,
};

static const char *tracefs = "/sys/kernel/tracing";
static int i2c_fd = -1;
static int pull_fd = -1;
static int pipe_fd = -1;
static int verbose = 0;

static void die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "feeder: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(code);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t t) {
  struct timespec ts = {.tv_sec = t / 1000000000LL, .tv_nsec = t % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void sleep_ms(int ms) { sleep_until(now_ns() + (int64_t)ms * 1000000LL); }

static int smbus(char rw, uint8_t reg, int size, union i2c_smbus_data *d) {
  struct i2c_smbus_ioctl_data a = {.read_write = rw, .command = reg, .size = size, .data = d};
  return ioctl(i2c_fd, I2C_SMBUS, &a);
}

static void write_reg(uint8_t reg, uint8_t v) {
  union i2c_smbus_data d = {.byte = v};
  if (smbus(I2C_SMBUS_WRITE, reg, I2C_SMBUS_BYTE_DATA, &d) < 0)
    die(74, "write 0x%02x: %s", reg, strerror(errno));
}

static int read_reg(uint8_t reg) {
  union i2c_smbus_data d;
  if (smbus(I2C_SMBUS_READ, reg, I2C_SMBUS_BYTE_DATA, &d) < 0)
    die(74, "read 0x%02x: %s", reg, strerror(errno));
  return d.byte;
}

static void write_block(uint8_t reg, const uint8_t *b, int n) {
  union i2c_smbus_data d;
  d.block[0] = (uint8_t)n;
  memcpy(d.block + 1, b, (size_t)n);
  if (smbus(I2C_SMBUS_WRITE, reg, I2C_SMBUS_I2C_BLOCK_DATA, &d) < 0)
    die(74, "block write 0x%02x: %s", reg, strerror(errno));
}

static void set_line(int high) {
  const char *v = high ? "pull-up" : "pull-down";
  if (pwrite(pull_fd, v, strlen(v), 0) < 0) die(74, "write %s to pull: %s", v, strerror(errno));
}

static void write_file(const char *name, const char *value) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", tracefs, name);
  int fd = open(path, O_WRONLY | O_TRUNC);
  if (fd < 0 || write(fd, value, strlen(value)) < 0)
    die(69, "write '%s' to %s: %s (is tracefs mounted?)", value, path, strerror(errno));
  close(fd);
}

// ---- tracepoint handshake ----

static char pbuf[65536];
static size_t plen = 0;

// One parsed smbus_reply line.
struct reply {
  int reg;
  int len;  // bytes that follow the I2C-block length byte (or 1 for byte reads)
  uint8_t data[40];
};

// Parses "... smbus_reply: i2c-0 a=053 f=0000 c=32 I2C_BLOCK_DATA l=7 [06-01-02-03-04-05-06]".
static int parse_reply(const char *line, int addr, struct reply *r) {
  const char *p = strstr(line, "smbus_reply:");
  if (!p) return 0;
  unsigned a, c, l;
  char proto[32];
  const char *q = strstr(p, " a=");
  if (!q || sscanf(q, " a=%x f=%*x c=%x %31s l=%u", &a, &c, proto, &l) != 4) return 0;
  if ((int)a != addr) return 0;
  const char *b = strchr(q, '[');
  if (!b) return 0;
  uint8_t raw[40];
  unsigned n = 0;
  b++;
  while (n < l && n < sizeof raw) {
    unsigned v;
    if (sscanf(b, "%2x", &v) != 1) break;
    raw[n++] = (uint8_t)v;
    b += 2;
    if (*b == '-') b++;
  }
  r->reg = (int)c;
  if (strcmp(proto, "I2C_BLOCK_DATA") == 0 && n >= 1) {
    // The tracepoint logs the length byte first.
    r->len = (int)n - 1;
    memcpy(r->data, raw + 1, (size_t)r->len);
  } else {
    r->len = (int)n;
    memcpy(r->data, raw, n);
  }
  return 1;
}

// Reads complete lines from trace_pipe; returns 1 and fills *r for the next reply at `addr`, 0 on
// timeout.
static int next_reply(int addr, int64_t deadline, struct reply *r) {
  for (;;) {
    char *nl;
    while ((nl = memchr(pbuf, '\n', plen)) != NULL) {
      *nl = 0;
      int ok = parse_reply(pbuf, addr, r);
      if (verbose && ok) fprintf(stderr, "feeder: trace %s\n", pbuf);
      size_t used = (size_t)(nl - pbuf) + 1;
      memmove(pbuf, pbuf + used, plen - used);
      plen -= used;
      if (ok) return 1;
    }
    int64_t left = deadline - now_ns();
    if (left <= 0) return 0;
    struct pollfd pfd = {.fd = pipe_fd, .events = POLLIN};
    int pr = poll(&pfd, 1, (int)(left / 1000000 + 1));
    if (pr < 0 && errno != EINTR) die(74, "poll trace_pipe: %s", strerror(errno));
    if (pr <= 0) continue;
    ssize_t got = read(pipe_fd, pbuf + plen, sizeof pbuf - 1 - plen);
    if (got < 0 && errno != EAGAIN && errno != EINTR) die(74, "read trace_pipe: %s", strerror(errno));
    if (got > 0) plen += (size_t)got;
    if (plen >= sizeof pbuf - 1) plen = 0;  // a line longer than the buffer: drop it
  }
}

static void drain_pipe(void) {
  char tmp[4096];
  while (read(pipe_fd, tmp, sizeof tmp) > 0) {
  }
  plen = 0;
}

static void trace_setup(int addr) {
  char filter[128];
  write_file("tracing_on", "0");
  write_file("events/smbus/smbus_reply/enable", "0");
  snprintf(filter, sizeof filter, "addr == %d && (command == %d || command == %d)", addr, REG_INT_SOURCE,
           REG_DATAX0);
  write_file("events/smbus/smbus_reply/filter", filter);
  write_file("events/smbus/smbus_reply/enable", "1");
  write_file("trace", "");
  write_file("tracing_on", "1");
  char path[256];
  snprintf(path, sizeof path, "%s/trace_pipe", tracefs);
  pipe_fd = open(path, O_RDONLY | O_NONBLOCK);
  if (pipe_fd < 0) die(69, "open %s: %s", path, strerror(errno));
}

static void trace_teardown(void) {
  write_file("events/smbus/smbus_reply/enable", "0");
  write_file("events/smbus/smbus_reply/filter", "0");
}

// ---- trace file ----

struct sample {
  double t;  // time_s from the trace
  uint8_t bytes[6];
};

static int16_t to_lsb(double g, double lsb_g) {
  double v = round(g / lsb_g);
  if (v > 32767) v = 32767;
  if (v < -32768) v = -32768;
  return (int16_t)v;
}

static struct sample *load_trace(const char *path, double lsb_g, int *count) {
  FILE *f = fopen(path, "r");
  if (!f) die(66, "open %s: %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  struct sample *s = malloc(cap * sizeof *s);
  char line[512];
  int lineno = 0, header = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (line[0] == '#' || line[0] == '\n') continue;
    if (!header) {
      header = 1;
      if (strncmp(line, "time_s,", 7) != 0) die(65, "%s:%d: not a generic CSV header", path, lineno);
      continue;
    }
    double t, x, y, z;
    if (sscanf(line, "%lf,%lf,%lf,%lf", &t, &x, &y, &z) != 4) die(65, "%s:%d: bad row", path, lineno);
    if (n == cap) s = realloc(s, (cap *= 2) * sizeof *s);
    int16_t v[3] = {to_lsb(x, lsb_g), to_lsb(y, lsb_g), to_lsb(z, lsb_g)};
    if (n > 0 && !(t > s[n - 1].t)) die(65, "%s:%d: time %f not after the previous row", path, lineno, t);
    s[n].t = t;
    for (int i = 0; i < 3; i++) {
      s[n].bytes[2 * i] = (uint8_t)(v[i] & 0xFF);
      s[n].bytes[2 * i + 1] = (uint8_t)(((uint16_t)v[i]) >> 8);
    }
    n++;
  }
  fclose(f);
  *count = (int)n;
  return s;
}

// ---- a resting chip for the self-check ----

static void put_frame(int x, int y, int z) {
  int16_t v[3] = {(int16_t)x, (int16_t)y, (int16_t)z};
  uint8_t b[6];
  for (int i = 0; i < 3; i++) {
    b[2 * i] = (uint8_t)(v[i] & 0xFF);
    b[2 * i + 1] = (uint8_t)(((uint16_t)v[i]) >> 8);
  }
  write_block(REG_DATAX0, b, 6);
}

static int run_static(double seconds, double lsb_g) {
  int one_g = (int)lround(1.0 / lsb_g), half_g = (int)lround(0.5 / lsb_g);
  int64_t end = now_ns() + (int64_t)(seconds * 1e9);
  int st = -1, wm = -1, self_tests = 0;
  while (now_ns() < end) {
    int fmt = read_reg(REG_DATA_FORMAT), fifo = read_reg(REG_FIFO_CTL);
    int want_st = (fmt & SELF_TEST) != 0, want_wm = fifo & 0x1F;
    if (want_st != st) {
      if (want_st) put_frame(half_g, -half_g, 2 * one_g);
      else put_frame(0, 0, one_g);
      if (want_st) self_tests++;
      st = want_st;
    }
    if (want_wm != wm) {
      write_reg(REG_FIFO_STATUS, (uint8_t)(want_wm ? want_wm : 1));
      write_reg(REG_INT_SOURCE, DATA_READY | WATERMARK);
      wm = want_wm;
    }
    sleep_ms(1);
  }
  printf("feeder: static chip for %.1f s, self-test switched on %d times\n", seconds, self_tests);
  return 0;
}

// ---- main ----

static void usage(void) {
  die(64,
      "usage: feeder --bus DEV --pull PATH --trace CSV [--rate HZ] [--addr 0x53] [--start K] [--count N]\n"
      "       [--start-high] [--pause PID:K:M] [--reset K:MS] [--timeout-ms MS]\n"
      "       [--no-data-ready] [--lsb-g 0.0039] [--verbose]\n"
      "       feeder --bus DEV --static SECONDS [--addr 0x53]");
}

// Waits until the reader has configured the chip for bypass streaming.
static int wait_configured(int timeout_ms, int quiet) {
  int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000LL;
  while (now_ns() < deadline) {
    if ((read_reg(REG_POWER_CTL) & MEASURE) && read_reg(REG_DEVID) == DEVID_ADXL345) {
      int fifo = read_reg(REG_FIFO_CTL), ie = read_reg(REG_INT_ENABLE);
      int bw = read_reg(REG_BW_RATE), fmt = read_reg(REG_DATA_FORMAT);
      if (!quiet)
        printf("feeder: reader configured the chip: BW_RATE 0x%02x DATA_FORMAT 0x%02x FIFO_CTL 0x%02x "
               "INT_ENABLE 0x%02x\n",
               bw, fmt, fifo, ie);
      if ((fifo & 0xC0) != 0) die(1, "FIFO_CTL 0x%02x is not bypass mode", fifo);
      if (!(ie & DATA_READY)) die(1, "INT_ENABLE 0x%02x lacks DATA_READY", ie);
      return 1;
    }
    sleep_ms(5);
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *bus = NULL, *pull = NULL, *trace = NULL;
  int addr = 0x53, start = 0, count = -1, start_high = 0, timeout_ms = 5000;
  int pause_pid = 0, pause_at = -1, pause_n = 0, reset_at = -1, reset_ms = 0, data_ready = 1;
  double rate = 0, lsb_g = 0.0039, static_s = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
    if (ARG("--bus")) bus = v;
    else if (ARG("--pull")) pull = v;
    else if (ARG("--trace")) trace = v;
    else if (ARG("--rate")) rate = atof(v);
    else if (ARG("--addr")) addr = (int)strtol(v, NULL, 0);
    else if (ARG("--start")) start = atoi(v);
    else if (ARG("--count")) count = atoi(v);
    else if (ARG("--timeout-ms")) timeout_ms = atoi(v);
    else if (ARG("--lsb-g")) lsb_g = atof(v);
    else if (ARG("--static")) static_s = atof(v);
    else if (ARG("--pause")) {
      if (sscanf(v, "%d:%d:%d", &pause_pid, &pause_at, &pause_n) != 3) usage();
    } else if (ARG("--reset")) {
      if (sscanf(v, "%d:%d", &reset_at, &reset_ms) != 2) usage();
    } else if (strcmp(a, "--start-high") == 0) start_high = 1;
    else if (strcmp(a, "--verbose") == 0) verbose = 1;
    else if (strcmp(a, "--no-data-ready") == 0) data_ready = 0;
    else usage();
#undef ARG
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (bus && static_s > 0) {
    i2c_fd = open(bus, O_RDWR);
    if (i2c_fd < 0) die(66, "open %s: %s", bus, strerror(errno));
    if (ioctl(i2c_fd, I2C_SLAVE, addr) < 0) die(74, "I2C_SLAVE 0x%02x: %s", addr, strerror(errno));
    return run_static(static_s, lsb_g);
  }
  if (!bus || !pull || !trace || rate < 0) usage();
  // Real-time priority (best effort) keeps the schedule tight inside the guest; the host's
  // scheduling of the emulated CPUs is out of reach.
  struct sched_param sp = {.sched_priority = 50};
  if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0 && verbose) fprintf(stderr, "feeder: no SCHED_FIFO\n");

  int total;
  struct sample *s = load_trace(trace, lsb_g, &total);
  if (start < 0 || start > total) die(64, "--start %d outside the trace's %d samples", start, total);
  int end = count < 0 ? total : (start + count < total ? start + count : total);

  i2c_fd = open(bus, O_RDWR);
  if (i2c_fd < 0) die(66, "open %s: %s", bus, strerror(errno));
  if (ioctl(i2c_fd, I2C_SLAVE, addr) < 0) die(74, "I2C_SLAVE 0x%02x: %s", addr, strerror(errno));
  pull_fd = open(pull, O_WRONLY);
  if (pull_fd < 0) die(66, "open %s: %s", pull, strerror(errno));
  trace_setup(addr);

  // Sample k is due at base + offset(k); base moves when the schedule restarts (pause, reset).
  int64_t period = 0;
  if (rate > 0) period = (int64_t)(1e9 / rate);
  else if (end - start > 1) period = (int64_t)((s[end - 1].t - s[start].t) / (end - 1 - start) * 1e9);
  else period = 10000000;
#define OFFSET(k) (rate > 0 ? (int64_t)((k)-start) * period : (int64_t)((s[k].t - s[start].t) * 1e9))
  int fed = 0, handshaken = 0, unconsumed = 0, stale = 0;
  int64_t maxwait = 0, sumwait = 0, maxlate = 0;

  if (start_high) {
    // The first sample is ready and the line high before the reader exists.
    write_block(REG_DATAX0, s[start].bytes, 6);
    write_reg(REG_INT_SOURCE, DATA_READY);
    set_line(1);
  } else {
    set_line(0);
    write_reg(REG_INT_SOURCE, 0);
    if (!wait_configured(timeout_ms * 4, 0)) die(1, "the reader never configured the chip");
    // Turn-on time before the first sample (the real chip needs 1/ODR + ~1 ms): lets the reader
    // finish starting up, so a poll in its start-up and the first edge do not meet.
    sleep_ms(100);
  }
  drain_pipe();
  int64_t base = now_ns();
  for (int k = start; k < end; k++) {
    if (k == reset_at) {
      // Power cycle: every register back to 0, as a fresh i2c-stub has them.
      static const uint8_t zeros[32];
      set_line(0);
      for (int r = 0; r < 256; r += 32) write_block((uint8_t)r, zeros, 32);
      printf("feeder: registers reset before sample %d\n", k);
      sleep_ms(reset_ms);
      write_reg(REG_DEVID, DEVID_ADXL345);
      if (!wait_configured(timeout_ms * 4, 0)) die(1, "the reader never configured the chip again");
      sleep_ms(100);
      drain_pipe();
      base = now_ns() - OFFSET(k);
    }
    int paused = pause_at >= 0 && k >= pause_at && k < pause_at + pause_n - 1;
    int resume = pause_at >= 0 && k == pause_at + pause_n - 1;
    if (pause_at >= 0 && k == pause_at) {
      if (kill(pause_pid, SIGSTOP) < 0) die(71, "SIGSTOP %d: %s", pause_pid, strerror(errno));
      printf("feeder: reader %d stopped at sample %d\n", pause_pid, k);
    }
    sleep_until(base + OFFSET(k));
    int64_t late = now_ns() - (base + OFFSET(k));
    if (late > maxlate) maxlate = late;
    int first_high = start_high && k == start;
    if (!first_high) {
      // The edge before DATA_READY: a reader whose wait timed out just now and that polls
      // INT_SOURCE then either sees no DATA_READY (and takes the queued edge next) or sees both
      // and has the edge already queued. The other order leaves a gap in which a reader takes the
      // sample by polling and then again on the edge that follows.
      write_block(REG_DATAX0, s[k].bytes, 6);
      set_line(1);
      if (data_ready) write_reg(REG_INT_SOURCE, DATA_READY);
    }
    fed++;
    if (paused) {
      // Nobody reads: the edge is queued or lost while the reader is stopped.
      sleep_until(base + OFFSET(k) + period / 2);
      write_reg(REG_INT_SOURCE, 0);
      set_line(0);
      unconsumed++;
      continue;
    }
    if (resume) {
      // gpio-sim's edges reach the reader's queue through an irq_work and the line-event IRQ
      // thread, which can run after the feeder's next step: give them 30 ms, so the reader's one
      // wake-up finds all of them (else a late one wakes it again for the same sample).
      sleep_ms(30);
      drain_pipe();
      if (kill(pause_pid, SIGCONT) < 0) die(71, "SIGCONT %d: %s", pause_pid, strerror(errno));
      printf("feeder: reader %d continued at sample %d\n", pause_pid, k);
    }
    // Wait for the reader to take exactly this sample's bytes.
    int64_t t0 = now_ns();
    int64_t deadline = t0 + (int64_t)(first_high ? timeout_ms * 4 : timeout_ms) * 1000000LL;
    int cleared = 0, consumed = 0;
    struct reply r;
    while (!consumed && next_reply(addr, deadline, &r)) {
      if (r.reg == REG_INT_SOURCE && r.len >= 1 && (r.data[0] & DATA_READY) && !cleared) {
        write_reg(REG_INT_SOURCE, 0);
        cleared = 1;
      } else if (r.reg == REG_DATAX0) {
        if (r.len >= 6 && memcmp(r.data, s[k].bytes, 6) == 0) consumed = 1;
        else stale++;
      }
    }
    if (!consumed) {
      fprintf(stderr, "feeder: sample %d not read within %d ms\n", k, timeout_ms);
      printf("feeder: fed %d handshaken %d unconsumed %d stale %d maxwait_ms %.1f\n", fed, handshaken,
             unconsumed + 1, stale, maxwait / 1e6);
      trace_teardown();
      return 1;
    }
    if (!cleared) write_reg(REG_INT_SOURCE, 0);
    set_line(0);
    handshaken++;
    int64_t w = now_ns() - t0;
    if (w > maxwait) maxwait = w;
    sumwait += w;
    if (first_high && k + 1 < end) base = now_ns() + period - OFFSET(k + 1);
  }
  trace_teardown();
  // late_ms: how far behind its schedule the feeder got (an emulated guest that cannot keep up).
  printf("feeder: fed %d handshaken %d unconsumed %d stale %d maxwait_ms %.1f meanwait_ms %.2f late_ms %.1f\n",
         fed, handshaken, unconsumed, stale, maxwait / 1e6, handshaken ? sumwait / 1e6 / handshaken : 0.0,
         maxlate / 1e6);
  return 0;
}
