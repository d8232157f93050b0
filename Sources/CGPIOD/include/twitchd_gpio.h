// Placeholder; the GPIO owner writes the libgpiod v1/v2 shim here.
#pragma once
int twitchd_gpio_api_version(void);
