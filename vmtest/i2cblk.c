// i2cblk: SMBus I2C-block access for the vmtest guest (i2c-stub does SMBus I2C-block transfers
// but not raw I2C_RDWR, which is all busybox's i2ctransfer uses). Static, no libi2c.
//   i2cblk funcs BUS                      print the adapter's I2C_FUNCS bits (hex)
//   i2cblk read BUS ADDR REG N            print N bytes read from REG as "0x01 0x02 ..."
//   i2cblk write BUS ADDR REG BYTE...     write the bytes starting at REG in one transfer
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int xfer(int fd, char rw, unsigned char reg, int size, union i2c_smbus_data *data) {
  struct i2c_smbus_ioctl_data args = {.read_write = rw, .command = reg, .size = size, .data = data};
  return ioctl(fd, I2C_SMBUS, &args);
}

static int usage(void) {
  fprintf(stderr, "usage: i2cblk funcs BUS | read BUS ADDR REG N | write BUS ADDR REG BYTE...\n");
  return 64;
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  int fd = open(argv[2], O_RDWR);
  if (fd < 0) {
    fprintf(stderr, "i2cblk: open %s: %s\n", argv[2], strerror(errno));
    return 66;
  }
  if (strcmp(argv[1], "funcs") == 0) {
    unsigned long funcs = 0;
    if (ioctl(fd, I2C_FUNCS, &funcs) < 0) {
      fprintf(stderr, "i2cblk: I2C_FUNCS: %s\n", strerror(errno));
      return 74;
    }
    printf("0x%08lx\n", funcs);
    return 0;
  }
  if (argc < 5) return usage();
  long addr = strtol(argv[3], NULL, 0);
  unsigned char reg = (unsigned char)strtol(argv[4], NULL, 0);
  if (ioctl(fd, I2C_SLAVE, addr) < 0) {
    fprintf(stderr, "i2cblk: I2C_SLAVE 0x%02lx: %s\n", addr, strerror(errno));
    return 74;
  }
  union i2c_smbus_data data;
  if (strcmp(argv[1], "read") == 0 && argc == 6) {
    int n = atoi(argv[5]);
    if (n < 1 || n > I2C_SMBUS_BLOCK_MAX) return usage();
    data.block[0] = (unsigned char)n;
    if (xfer(fd, I2C_SMBUS_READ, reg, I2C_SMBUS_I2C_BLOCK_DATA, &data) < 0) {
      fprintf(stderr, "i2cblk: block read 0x%02x: %s\n", reg, strerror(errno));
      return 74;
    }
    for (int i = 1; i <= data.block[0]; i++) printf(i > 1 ? " 0x%02x" : "0x%02x", data.block[i]);
    printf("\n");
    return 0;
  }
  if (strcmp(argv[1], "write") == 0 && argc > 5) {
    int n = argc - 5;
    if (n > I2C_SMBUS_BLOCK_MAX) return usage();
    data.block[0] = (unsigned char)n;
    for (int i = 0; i < n; i++) data.block[i + 1] = (unsigned char)strtol(argv[5 + i], NULL, 0);
    if (xfer(fd, I2C_SMBUS_WRITE, reg, I2C_SMBUS_I2C_BLOCK_DATA, &data) < 0) {
      fprintf(stderr, "i2cblk: block write 0x%02x: %s\n", reg, strerror(errno));
      return 74;
    }
    return 0;
  }
  return usage();
}
