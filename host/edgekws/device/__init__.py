"""Firmware on devices: build (CMake), run in QEMU, flash a board, ELF memory.

Modules, one job each:

* :mod:`edgekws.device.build` - ``build_firmware(board, bundle_or_model_dir, out_dir)``
* :mod:`edgekws.device.emulator` - ``Emulator`` (QEMU mps2-an500), ``run_selftest``
* :mod:`edgekws.device.flash` - ``flash(elf, board)`` with pyOCD or st-flash
* :mod:`edgekws.device.memory` - ``elf_memory(elf, board)`` and the fit check
"""
