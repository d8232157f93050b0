// The kernel's i2c-dev ioctl interface and libi2c's SMBus helpers.
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <i2c/smbus.h>
#include <sys/ioctl.h>
