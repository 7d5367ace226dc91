#!/usr/bin/env bash
# Prove that the host C toolchain links what the tests build: ASan + UBSan and libFuzzer
# (clang runtime archives from Debian's libclang-rt-dev) and the Cortex-M7 cross compiler
# with newlib. One line per failure and a non-zero exit, so a fresh machine with a
# missing package fails in set-up, not deep inside `make test`.
set -uo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

cat > "$tmp/fuzz.c" <<'C'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return (size > 0 && data[0] == 0xFF) ? 1 : 0; }
C
cat > "$tmp/main.c" <<'C'
#include <stdio.h>
int main(void) { puts("ok"); return 0; }
C

CC=${CLANG:-clang}
if ! "$CC" -fsanitize=address,undefined -o "$tmp/asan" "$tmp/main.c" >"$tmp/log" 2>&1 || ! "$tmp/asan" >/dev/null 2>&1; then
  echo "error: $CC cannot build and run with -fsanitize=address,undefined (install libclang-rt-dev): $(grep -m1 -i error "$tmp/log")" >&2
  fail=1
fi
if ! "$CC" -fsanitize=fuzzer,address -o "$tmp/fuzz" "$tmp/fuzz.c" >"$tmp/log" 2>&1; then
  echo "error: $CC cannot link libFuzzer (-fsanitize=fuzzer; install libclang-rt-dev): $(grep -m1 -i error "$tmp/log")" >&2
  fail=1
fi
if ! arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb --specs=nosys.specs -o "$tmp/arm.elf" "$tmp/main.c" >"$tmp/log" 2>&1; then
  echo "error: arm-none-eabi-gcc cannot link for Cortex-M7 with newlib (install gcc-arm-none-eabi libnewlib-arm-none-eabi): $(grep -m1 -i error "$tmp/log")" >&2
  fail=1
fi
if [ "$fail" = 0 ]; then
  echo "setup: toolchain links (ASan/UBSan, libFuzzer, arm-none-eabi + newlib)"
fi
exit "$fail"
