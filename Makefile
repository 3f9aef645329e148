# SPDX-License-Identifier: GPL-2.0
#
# natk top-level Makefile.
#
#   make                 natk.ko for the running kernel (or the newest
#                        installed headers) and natkctl
#   make KVER=6.12.x     natk.ko for that kernel release
#   make modules-all     natk.ko for every kernel with headers installed
#   make W=1 / C=2       extra warnings / sparse, as in the kernel
#   make module NATK_RACE=y  a test build with widened race windows
#                        (build/<release>-race/; make check-debug uses it)
#   make module NATK_MUTANT=NAME  a test build with one behaviour broken on
#                        purpose (build/<release>-mutant-NAME/)
#   make check-mutants   every mutant must fail a test (tests/check-mutants.sh)
#   make checkpatch      checkpatch.pl --strict over kmod/ and include/
#   make check           every test, on every installed Debian kernel, in VMs
#   make check-debug     the VM scenarios on a KASAN/lockdep/kmemleak kernel
#                        (docs/debug-kernel.md)
#   make demo            a VM with a private subnet behind natk
#
# Module builds for different kernels coexist: build/<kernel release>/natk.ko.

KERNELS := $(shell ls -1 /lib/modules 2>/dev/null | while read k; do \
	[ -e /lib/modules/$$k/build/Makefile ] && echo $$k; done | sort -V)
KVER ?= $(shell k=$$(uname -r); [ -e /lib/modules/$$k/build/Makefile ] && \
	echo $$k || echo $(lastword $(KERNELS)))
KDIR ?= /lib/modules/$(KVER)/build
# NATK_RACE=y: a test build with widened race windows (Kbuild), kept apart.
# NATK_MUTANT=NAME: a test build with natk_mutant(NAME) on (Kbuild), apart.
BUILD := $(CURDIR)/build/$(KVER)$(if $(filter y,$(NATK_RACE)),-race)$(if $(NATK_MUTANT),-mutant-$(NATK_MUTANT))
# The mutants kmod/ knows: each natk_mutant(name) used there (sources and
# headers; not the macro's own definition), as name-with-dashes.
MUTANTS = $(sort $(shell grep -ho 'natk_mutant([a-z0-9_]*)' kmod/*.c kmod/*.h | \
	grep -vx 'natk_mutant(name)' | sed 's/natk_mutant(\(.*\))/\1/' | tr _ -))

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
CC ?= cc

.PHONY: all module modules-all natkctl clean checkpatch check check-slowpath check-quick \
	demo deps kunit install uninstall dkms-install dkms-remove bench check-debug \
	check-mutants deb

all: module natkctl

module:
	@test -n "$(KVER)" -a -e "$(KDIR)/Makefile" || { echo "natk: no kernel headers for '$(KVER)'; install linux-headers-$(KVER) (make deps installs Debian's)" >&2; exit 1; }
	@test -z "$(NATK_MUTANT)" -o -n "$(filter $(NATK_MUTANT),$(MUTANTS))" || { echo "natk: no mutant '$(NATK_MUTANT)'; kmod/ has: $(MUTANTS)" >&2; exit 1; }
	@mkdir -p $(BUILD)/kmod $(BUILD)/include/uapi/linux
	@ln -sf $(CURDIR)/Kbuild $(BUILD)/Kbuild
	@for f in kmod/*.c kmod/*.h include/uapi/linux/*.h; do \
		ln -sf $(CURDIR)/$$f $(BUILD)/$$f; done
	@for f in $(BUILD)/kmod/*.c $(BUILD)/kmod/*.h; do \
		[ -e "$$f" ] || rm -f "$$f"; done
	$(MAKE) -C $(KDIR) M=$(BUILD) NATK_RACE=$(NATK_RACE) NATK_MUTANT=$(NATK_MUTANT) modules
	@echo "natk: built $(BUILD)/natk.ko"

modules-all:
	@for k in $(KERNELS); do $(MAKE) --no-print-directory module KVER=$$k || exit 1; done

natkctl:
	$(MAKE) -C userctl

checkpatch:
	@./tests/checkpatch.sh

deps:
	@./tests/deps.sh

check:
	@./tests/check.sh

check-debug:
	@./tests/check-debug.sh

# Every scenario with the fast path off (natk.ko fast_path=off): the slow
# path alone must do everything the fast path does.
check-slowpath:
	@NATK_FAST_PATH=off NATK_SKIP_SUITES=1 ./tests/check.sh

check-mutants:
	@./tests/check-mutants.sh

# The mutants kmod/ has (for tests/check-mutants.sh).
.PHONY: list-mutants
list-mutants:
	@echo $(MUTANTS)

demo:
	@./tests/demo.sh

kunit:
	@./tests/kunit.sh

bench:
	@./tests/bench.sh

# Paths for scripts/install.sh (it also reads LIBEXECDIR, DOCDIR, UNITDIR).
INSTALL_ENV = PREFIX=$(PREFIX) SBINDIR=$(SBINDIR) MANDIR=$(MANDIR) MAKE=$(MAKE)

install:
	@$(INSTALL_ENV) ./scripts/install.sh install

uninstall:
	@$(INSTALL_ENV) ./scripts/install.sh uninstall

dkms-install:
	@$(INSTALL_ENV) ./scripts/install.sh dkms-install

dkms-remove:
	@$(INSTALL_ENV) ./scripts/install.sh dkms-remove

# Debian packages natk-dkms and natkctl in build/deb/ (scripts/deb.sh).
deb:
	@./scripts/deb.sh

# Boots a Debian 12 VM three times: install, reboot, kernel upgrade,
# uninstall (tests/reboot/run.sh). Not part of `make check`.
.PHONY: check-reboot
check-reboot:
	@./tests/reboot/run.sh

clean:
	rm -rf build
	$(MAKE) -C userctl clean
