#include "twitchd_gpio.h"
int twitchd_gpio_api_version(void) { return 0; }
