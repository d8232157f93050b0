# twitchd: build, test, demo, install.
#   make demo      run the daemon pipeline on a simulated limb, printing twitches live, then a report
#   make test      install what is missing, then run the whole test suite
#   make release   optimised build at .build/release/twitchd, Swift runtime linked in statically
#   make vmtest    boot a kernel under qemu and test the real I2C/GPIO code (docs/testing-vm.md);
#                  make vmtest ARCH=arm64: Debian trixie's arm64 kernel and the arm64 twitchd
#                  (VMTEST_ARM64=cross: everything cross-built at native speed, as CI runs it)
#   make soak      a long run under journald restarts, reloads and tail clients (BENCHMARKS.md, not CI)
#   make fuzz      libFuzzer on the trace reader, configuration, spool and tail parsers (Fuzz/)
#   make arm64-check  build and test on arm64 with Debian trixie's Swift, emulated (docs/testing.md)
#   make arm64-cross  cross-build the arm64 binary with the same Swift, smoke-test it (CI)
#   make deb       twitchd_VERSION_ARCH.deb for amd64 and arm64, each installed and purged in a
#                  clean root (docs/testing.md)

SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all build release test demo deps clean vmtest fuzz

all: build

deps:
	@scripts/install-deps build
	@SWIFT="$(SWIFT)" scripts/swift-log-compat

build: deps
	$(SWIFT) build

# The Swift runtime and FoundationEssentials are linked in statically: the daemon then needs no
# Swift toolchain on the machine it runs on, and it stays under 16 MiB resident (BENCHMARKS.md,
# "Memory"). check-footprint fails the build if Foundation's ICU layer creeps back in.
# SCRATCH: SwiftPM's build folder (scripts/arm64-check builds the arm64 binary in .build-arm64).
SCRATCH ?= .build
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(SCRATCH)
	scripts/check-footprint $(SCRATCH)/release/twitchd

# The demo writes into a journal namespace of its own (never the system journal), marked
# simulated; the report after it reads that namespace back.
DEMO_NAMESPACE ?= twitchd-demo
demo: release
	@scripts/demo-journal $(DEMO_NAMESPACE)
	.build/release/twitchd demo --duration 60s --namespace $(DEMO_NAMESPACE)
	.build/release/twitchd report --namespace $(DEMO_NAMESPACE) --simulated --since today --by hour

test:
	@scripts/install-deps test
	@SWIFT="$(SWIFT)" scripts/swift-log-compat
	$(SWIFT) test

# Kernel-level test under qemu: real i2c-dev/libgpiod code against i2c-stub and gpio-sim
# (docs/testing-vm.md). Installs its packages through apt. ARCH=arm64 boots trixie's arm64 kernel
# with the arm64 twitchd (built in the emulated root unless VMTEST_TWITCHD names one);
# VMTEST_ARM64=cross cross-builds the modules, helpers and twitchd instead (CI; testing-vm.md).
# Only an ARCH given on the command line counts (kernel developers often have one in the environment).
vmtest:
	vmtest/run --arch $(if $(filter command line,$(origin ARCH)),$(ARCH),amd64)

# Soak (not run in CI; needs root for a journald namespace): by default a day of daemon time on the
# simulated bus at 3200 Hz, 100x faster than real time (about 15 minutes). SOAK_ARGS picks
# another length, e.g. make soak SOAK_ARGS="--sim-hours 6 --speed 60".
SOAK_ARGS ?=
.PHONY: soak
soak: release
	scripts/soak --binary .build/release/twitchd $(SOAK_ARGS)

# Each fuzz target for FUZZ_SECONDS (default 60) from its seeds in Fuzz/corpus; fails on any crash,
# trap, leak or timeout (the input is kept in .build-fuzz/artifacts). docs/testing.md, "Fuzzing".
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

clean:
	rm -rf .build .build-fuzz

# --- install / uninstall (systemd unit, config, udev rule) ---
# make release && sudo make install      then: sudo systemctl enable --now twitchd
# PREFIX (default /usr/local) and DESTDIR (staging root, for packages) are honoured; the
# configuration goes to $(SYSCONFDIR)/twitchd/twitchd.toml only if there is none yet.
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
SYSCONFDIR ?= /etc
DOCDIR ?= $(PREFIX)/share/doc/twitchd
UNITDIR ?= $(LIBDIR)/systemd/system
SYSUSERSDIR ?= $(LIBDIR)/sysusers.d
UDEVRULESDIR ?= $(LIBDIR)/udev/rules.d
CATALOGDIR ?= $(LIBDIR)/systemd/catalog
# Where the unit's ExecStart looks for the binary (verify-unit points it into a staging tree).
UNIT_BINDIR ?= $(BINDIR)
INSTALL ?= install
# The binary to install.
TWITCHD_BIN ?= $(SCRATCH)/release/twitchd

.PHONY: install uninstall verify-unit

install:
	@test -x $(TWITCHD_BIN) || { echo "make install: no $(TWITCHD_BIN); run 'make release' first" >&2; exit 66; }
	$(INSTALL) -D -m 0755 $(TWITCHD_BIN) $(DESTDIR)$(BINDIR)/twitchd
	$(INSTALL) -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/local/bin/twitchd|$(UNIT_BINDIR)/twitchd|g' \
	    -e 's|/usr/local/share/doc/twitchd|$(DOCDIR)|g' \
	    -e 's|/etc/twitchd/|$(SYSCONFDIR)/twitchd/|g' \
	    systemd/twitchd.service > $(DESTDIR)$(UNITDIR)/twitchd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/twitchd.service
	$(INSTALL) -D -m 0644 systemd/twitchd.sysusers $(DESTDIR)$(SYSUSERSDIR)/twitchd.conf
	$(INSTALL) -D -m 0644 systemd/60-twitchd.rules $(DESTDIR)$(UDEVRULESDIR)/60-twitchd.rules
	$(INSTALL) -D -m 0644 systemd/twitchd.catalog $(DESTDIR)$(CATALOGDIR)/twitchd.catalog
	$(INSTALL) -d -m 0755 $(DESTDIR)$(DOCDIR)
	for f in README.md docs/*.md systemd/twitchd-realtime.conf; do \
	    [ -f "$$f" ] && $(INSTALL) -m 0644 "$$f" $(DESTDIR)$(DOCDIR)/ || true; done
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/twitchd/twitchd.toml ]; then \
	    echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/twitchd/twitchd.toml"; \
	else \
	    $(INSTALL) -D -m 0644 systemd/twitchd.toml $(DESTDIR)$(SYSCONFDIR)/twitchd/twitchd.toml && \
	    echo "installed example configuration $(DESTDIR)$(SYSCONFDIR)/twitchd/twitchd.toml: edit it, then 'twitchd config check'"; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemd-sysusers $(SYSUSERSDIR)/twitchd.conf && \
	    udevadm control --reload && \
	    udevadm trigger --subsystem-match=i2c-dev --subsystem-match=gpio && \
	    systemctl daemon-reload && \
	    journalctl --update-catalog && \
	    echo "installed; start with: systemctl enable --now twitchd"; \
	else \
	    echo "staged in '$(DESTDIR)' (no systemd running here): on the target run systemd-sysusers, udevadm control --reload, systemctl daemon-reload, journalctl --update-catalog"; \
	fi

# Leaves the configuration ($(SYSCONFDIR)/twitchd), the spool (/var/lib/twitchd) and the
# twitchd user in place; remove them by hand if wanted.
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemctl disable --now twitchd.service 2>/dev/null || true; fi
	rm -f $(DESTDIR)$(BINDIR)/twitchd $(DESTDIR)$(UNITDIR)/twitchd.service \
	    $(DESTDIR)$(SYSUSERSDIR)/twitchd.conf $(DESTDIR)$(UDEVRULESDIR)/60-twitchd.rules \
	    $(DESTDIR)$(CATALOGDIR)/twitchd.catalog
	rm -rf $(DESTDIR)$(DOCDIR)
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemctl daemon-reload; udevadm control --reload; journalctl --update-catalog; fi
	@echo "left in place: $(SYSCONFDIR)/twitchd/, /var/lib/twitchd/, user twitchd"

# Checks the unit: systemd-analyze verify on a staged install (verify needs ExecStart's binary to
# exist, so the staged unit points at the staged binary; a stub stands in if nothing is built)
# and the offline security score (must stay at or below 2.0).
verify-unit:
	@set -e; stage=$$(mktemp -d); trap 'rm -rf "$$stage"' EXIT; \
	if [ ! -x $(TWITCHD_BIN) ]; then \
	    mkdir -p "$$stage/build" && printf '#!/bin/sh\nexit 0\n' > "$$stage/build/twitchd" && chmod 0755 "$$stage/build/twitchd"; \
	    echo "verify-unit: no release build, verifying with a stub binary"; \
	    bin="$$stage/build/twitchd"; \
	else bin=$(TWITCHD_BIN); fi; \
	$(INSTALL) -D -m 0755 "$$bin" "$$stage$(BINDIR)/twitchd"; \
	sed -e 's|/usr/local/bin/twitchd|'"$$stage$(BINDIR)"'/twitchd|g' systemd/twitchd.service > "$$stage/twitchd.service"; \
	echo "systemd-analyze verify (staged in $$stage):"; \
	systemd-analyze verify "$$stage/twitchd.service"; \
	echo "systemd-analyze verify: clean"; \
	systemd-analyze security --offline=true --threshold=20 systemd/twitchd.service | tail -1

# --- arm64 (Raspberry Pi OS / Debian trixie) and Debian packages: docs/testing.md ---
# arm64-check: an emulated arm64 trixie root with Debian's swiftlang 6.0.3 (cached in
# .build-arm64root/), release build, footprint, smoke test, then the test suite.
# arm64-smoke: the same without the test suite.
# arm64-cross: the arm64 release binary cross-built at native speed with trixie's swiftlang 6.0.3
# (amd64) against trixie's arm64 packages, then the smoke test under qemu-user (what CI runs;
# about 7 minutes from nothing, against 20 or more for arm64-smoke). Output in .build-arm64cross/.
# deb: the amd64 package from `make release` and the arm64 one built inside the emulated root,
# each tested by scripts/deb-test in a clean root (amd64: the host's release; arm64: trixie).
# DEB_ARCHES=amd64 (or arm64) limits it to one.
DEB_ARCHES ?= amd64 arm64
.PHONY: arm64-check arm64-smoke arm64-cross deb

arm64-check:
	@scripts/install-deps deb
	scripts/arm64-check

arm64-smoke:
	@scripts/install-deps deb
	scripts/arm64-check --no-tests

arm64-cross:
	@scripts/install-deps deb
	scripts/arm64-cross

deb:
	@scripts/install-deps deb
	@set -e; for a in $(DEB_ARCHES); do \
	  case $$a in \
	    amd64) $(MAKE) release; deb=$$(scripts/make-deb .build/release/twitchd .build-deb) ;; \
	    arm64) scripts/arm64-check --no-tests; \
	           scripts/arm64-root run sh -c 'command -v dpkg-shlibdeps >/dev/null || \
	             DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null'; \
	           deb=$$(scripts/arm64-root run env DEB_COMMIT=$$(git rev-parse --short HEAD) \
	             DEB_COMMIT_TIME=$$(git log -1 --format=%ct) \
	             scripts/make-deb .build-arm64/release/twitchd .build-deb) ;; \
	    *) echo "make deb: unknown architecture $$a" >&2; exit 64 ;; \
	  esac; \
	  echo "built $$deb"; \
	  scripts/lintian-check "$$deb"; \
	  scripts/deb-test "$$deb"; \
	done
