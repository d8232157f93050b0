# twitchd: build, test, demo, install.
#   make demo      run the daemon pipeline on a simulated limb, printing twitches live
#   make test      install what is missing, then run the whole test suite
#   make release   optimised build at .build/release/twitchd
#   make vmtest    boot a kernel under qemu and test the real I2C/GPIO code (docs/testing-vm.md)

SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build release test demo deps clean vmtest

all: build

deps:
	@scripts/install-deps build

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

demo: release
	.build/release/twitchd demo --duration 60s

test:
	@scripts/install-deps test
	$(SWIFT) test

# Kernel-level test under qemu: real i2c-dev/libgpiod code against i2c-stub and gpio-sim
# (docs/testing-vm.md). Installs its packages through apt.
vmtest:
	vmtest/run

clean:
	rm -rf .build

# --- install / uninstall (systemd unit, config, udev rule) ---
