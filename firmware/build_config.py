#!/usr/bin/env python3
"""The one list of firmware sources, include dirs, defines and flags per board.

Why one file: the firmware is built two ways (CMake for CI and ``edgekws
firmware build``; PlatformIO for users who flash with ``pio run -t upload``),
and two hand-kept lists drift. Both builds ask this script instead:

* CMake: ``python3 firmware/build_config.py cmake --board B --model-dir D``
  prints ``set(...)`` lines that firmware/CMakeLists.txt includes;
* PlatformIO: ``build_flags = !python3 firmware/build_config.py pio-flags ...``
  gives the compile flags, and ``extra_scripts = pre:firmware/build_config.py``
  runs this same file inside PlatformIO's SCons to add the sources (the model
  C lives outside ``src_dir``), the string defines and the link flags;
* ``json`` prints everything for tests and tools.

Standard library only: PlatformIO and CMake run it with whatever python3 they
find, outside the project's virtual environment.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

if __name__ not in sys.modules:
    # Executed by SCons as a PlatformIO extra script: dataclasses look their
    # defining module up in sys.modules, so give this namespace an entry.
    sys.modules[__name__] = types.ModuleType(__name__)

BOARDS_HELP = "mps2_an500 (QEMU Cortex-M7), nucleo_f767zi (STM32F767ZI), host (x86)"

# Cortex-M7 with the double-precision FPU; DSP (SIMD) instructions are part of armv7e-m.
CPU_FLAGS = ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard")
C_FLAGS = (
    "-std=c11",
    "-O2",
    "-g",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-common",
)
# Own startup code (no crt0); newlib-nano only for memcpy/memset-style helpers.
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")
LINK_LIBS = ("-lm", "-lc", "-lgcc")

STACK_SIZE = 16 * 1024


@dataclass(frozen=True)
class Region:
    """One memory region of a board: what the fit check compares against."""

    name: str
    origin: int
    length: int
    kind: str  # "flash" or "ram"


@dataclass(frozen=True)
class Board:
    """Everything board-specific the build needs."""

    name: str
    description: str
    sources: tuple[str, ...]  # relative to firmware/src
    linker_script: str | None  # relative to firmware/src; None: the host's default
    defines: tuple[str, ...]
    regions: tuple[Region, ...]
    fast_ram: str | None  # region that holds stack, .data/.bss and a fitting arena
    slow_ram: str | None  # region for an arena too big for fast_ram (None: no such region)
    counter_unit: str
    emulated: bool = False
    cross: bool = True  # built with arm-none-eabi (False: the host compiler)
    cpu_flags: tuple[str, ...] = CPU_FLAGS
    link_flags: tuple[str, ...] = LINK_FLAGS
    link_libs: tuple[str, ...] = LINK_LIBS


BOARDS: dict[str, Board] = {
    "mps2_an500": Board(
        name="mps2_an500",
        description="QEMU mps2-an500 (ARM AN500, Cortex-M7), the emulated board CI runs",
        sources=("board/mps2_an500/startup.c", "board/mps2_an500/board.c"),
        linker_script="board/mps2_an500/mps2_an500.ld",
        # 2^8 ns per instruction: 6.4 timer ticks each, so counts are exact to 1 instruction (board.c)
        defines=("EDGEKWS_BOARD_MPS2_AN500=1", "EDGEKWS_ICOUNT_SHIFT=8"),
        regions=(
            Region("FLASH", 0x00000000, 4 * 1024 * 1024, "flash"),
            Region("RAM", 0x20000000, 4 * 1024 * 1024, "ram"),
        ),
        fast_ram="RAM",
        slow_ram=None,
        counter_unit="instructions",
        emulated=True,
    ),
    "nucleo_f767zi": Board(
        name="nucleo_f767zi",
        description="ST Nucleo-F767ZI (STM32F767ZI, Cortex-M7 @ 216 MHz, 2 MB flash, 512 KB SRAM)",
        sources=("board/nucleo_f767zi/startup.c", "board/nucleo_f767zi/board.c", "board/nucleo_f767zi/clock.c"),
        linker_script="board/nucleo_f767zi/nucleo_f767zi.ld",
        defines=("EDGEKWS_BOARD_NUCLEO_F767ZI=1", "STM32F767xx=1"),
        regions=(
            Region("FLASH", 0x08000000, 2 * 1024 * 1024, "flash"),
            Region("DTCM", 0x20000000, 128 * 1024, "ram"),
            Region("SRAM", 0x20020000, 384 * 1024, "ram"),
        ),
        fast_ram="DTCM",
        slow_ram="SRAM",
        counter_unit="cycles",
    ),
    # x86/POSIX: the same app on the host compiler (PlatformIO env "native");
    # board/host/board_host.c serves the line on stdin/stdout or TCP.
    "host": Board(
        name="host",
        description="x86/POSIX host program (board/host), for PlatformIO's native env and tests",
        sources=("board/host/board_host.c",),
        linker_script=None,
        defines=("EDGEKWS_BOARD_HOST=1",),
        regions=(),
        fast_ram=None,
        slow_ram=None,
        counter_unit="ns",
        cross=False,
        cpu_flags=(),
        link_flags=(),
        link_libs=("-lm",),
    ),
}

# What the application consists of. "selftest": boot self-test, exit status
# to QEMU (needs only the nn runner). "full": the serial server (protocol,
# frontend) as well; it is the default once src/app/server.c exists.
APPS = ("selftest", "full")


def firmware_dir() -> Path:
    """firmware/ (this file's directory)."""
    return Path(os.environ.get("EDGEKWS_FIRMWARE_DIR") or _HERE)


def default_model_dir() -> Path:
    """models/default/c: the committed default model's generated C."""
    return firmware_dir().parent / "models" / "default" / "c"


def default_app() -> str:
    """'full' when the serial server is in the tree, else 'selftest'."""
    return "full" if (firmware_dir() / "src" / "app" / "server.c").is_file() else "selftest"


def _glob_c(root: Path, pattern: str) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file())


def app_sources(app: str) -> list[str]:
    """Portable sources (relative to firmware/src) of an app variant; globbed so new kernels join."""
    src = firmware_dir() / "src"
    # The self-test checks every layer's CRC-32 with the project's one CRC (protocol/crc32.c).
    files = ["app/main.c", "app/selftest.c", "protocol/crc32.c"]
    files += _glob_c(src, "nn/*.c") + _glob_c(src, "nn/ref/*.c")
    for backend in ("simd", "sparse"):
        files += _glob_c(src, f"nn/{backend}/*.c")
    if app == "full":
        files += [f for f in _glob_c(src, "app/*.c") if f not in files]
        files += [f for f in _glob_c(src, "protocol/*.c") if f not in files]
        files += _glob_c(src, "frontend/*.c") + _glob_c(src, "stream/*.c")
    return files


def model_header(model_dir: Path) -> Path:
    return Path(model_dir) / "edgekws_model.h"


def model_sources(model_dir: Path) -> list[Path]:
    """The generated model C files (edgekws_model.c, edgekws_selftest.c, ...)."""
    return sorted(Path(model_dir).resolve().glob("*.c"))


def arena_size(model_dir: Path) -> int:
    """EDGEKWS_ARENA_SIZE from the generated header (bytes)."""
    header = model_header(model_dir)
    match = re.search(r"#define\s+EDGEKWS_ARENA_SIZE\s+\(?\s*(\d+)", header.read_text())
    if match is None:
        raise ValueError(f"{header}: no '#define EDGEKWS_ARENA_SIZE <bytes>'")
    return int(match.group(1))


def arena_section(board: Board, arena_bytes: int) -> str:
    """Linker input section for the arena: fast RAM (DTCM) when it fits beside the stack.

    On the Nucleo only the stack and the arena live in DTCM (.data/.bss go to
    SRAM), so the test is exact: arena + stack <= 128 KB.
    """
    if board.fast_ram is None:
        return ".bss.edgekws_arena"  # host: an ordinary .bss section
    fast = next(r for r in board.regions if r.name == board.fast_ram)
    if board.slow_ram is None or arena_bytes + STACK_SIZE <= fast.length:
        return ".dtcm_bss"
    return ".sram_bss"


@dataclass(frozen=True)
class BuildConfig:
    """The resolved configuration of one firmware image."""

    board: str
    app: str
    model_dir: str
    sources: list[str]  # absolute paths
    include_dirs: list[str]  # absolute paths
    defines: list[str]  # NAME=VALUE without string values
    string_defines: dict[str, str]  # NAME -> C string contents (quoted by each build system)
    c_flags: list[str]  # CPU + C flags
    link_flags: list[str]  # CPU + link flags (without the linker script)
    link_libs: list[str]
    linker_script: str | None  # absolute path; None on the host
    stack_size: int
    arena_bytes: int


def resolve(board_name: str, model_dir: str | Path | None = None, app: str | None = None,
            extra_defines: tuple[str, ...] = ()) -> BuildConfig:
    """Resolve the full build configuration of (board, model, app)."""
    if board_name not in BOARDS:
        raise KeyError(f"unknown board '{board_name}'; boards: {', '.join(BOARDS)}")
    board = BOARDS[board_name]
    app = app or default_app()
    if app not in APPS:
        raise KeyError(f"unknown app '{app}'; apps: {', '.join(APPS)}")
    mdir = Path(model_dir) if model_dir is not None else default_model_dir()
    mdir = mdir.resolve()
    if not model_header(mdir).is_file():
        raise FileNotFoundError(f"{mdir} has no edgekws_model.h (run `edgekws export c BUNDLE {mdir}`)")
    fw = firmware_dir().resolve()
    arena = arena_size(mdir)
    sources = [str(fw / "src" / s) for s in (*board.sources, *app_sources(app))]
    sources += [str(p) for p in model_sources(mdir)]
    # An extra define replaces a board define of the same name (e.g. EDGEKWS_ICOUNT_SHIFT for a slower
    # emulated clock) instead of redefining it, which -Werror would stop.
    overridden = {d.split("=", 1)[0] for d in extra_defines}
    defines = [d for d in board.defines if d.split("=", 1)[0] not in overridden]
    if app == "selftest":
        defines.append("EDGEKWS_SELFTEST_ONLY=1")
    defines += list(extra_defines)
    # Streaming KWS needs the device frontend, whose tables the exporter writes
    # only for models whose input is one clip of the bundle's frontend frames.
    if (app == "full" and (mdir / "edgekws_frontend_tables.h").is_file()
            and not any(d.startswith("EDGEKWS_HAS_STREAM") for d in defines)):
        defines.append("EDGEKWS_HAS_STREAM=1")
    return BuildConfig(
        board=board.name,
        app=app,
        model_dir=str(mdir),
        sources=sources,
        include_dirs=[str(fw / "include"), str(mdir)],
        defines=defines,
        string_defines={"EDGEKWS_ARENA_SECTION": arena_section(board, arena)},
        c_flags=[*board.cpu_flags, *C_FLAGS],
        link_flags=[*board.cpu_flags, *board.link_flags,
                    *([f"-Wl,--defsym=EDGEKWS_STACK_SIZE={STACK_SIZE}"] if board.cross else [])],
        link_libs=list(board.link_libs),
        linker_script=str(fw / "src" / board.linker_script) if board.linker_script else None,
        stack_size=STACK_SIZE,
        arena_bytes=arena,
    )


# ---------------------------------------------------------------- CMSIS-NN (optional kernel backend)
#
# CMake builds it in firmware/cmake/cmsisnn.cmake; PlatformIO through the functions below. Both follow the
# same rules (tests/test_platformio_config.py compares the two builds' compile commands):
#  - where from: EDGEKWS_CMSISNN_DIR (a CMSIS-NN tree with Include/ and Source/; "off" or "none": never),
#    else the cache tools/fetch_cmsisnn.py writes ($EDGEKWS_CMSISNN_CACHE or
#    ~/.cache/edgekws/cmsis-nn-12.5.1), the cache only for a model whose EDGEKWS_BACKENDS names cmsisnn
#    ("auto"); PlatformIO's "on" takes the cache for any model and stops when there is none;
#  - the library: CMSIS-NN's int8 sources (Source/*/*.c named _s8 or q7, and arm_nntables.c; not
#    Bindings/), compiled with the image's CPU and code flags but none of the project's -W flags (third-party
#    code) and CMSIS-NN's own -Ofast; the wrappers (src/nn/cmsisnn/*.c) with the project's strict flags;
#  - the defines, read from the library's header: EDGEKWS_HAS_CMSISNN=1, EDGEKWS_CMSISNN_VERSION,
#    _HAS_FC_PER_CHANNEL, _HAS_GROUPED_CONV, _VECTOR_SUM_ARGS.

CMSISNN_CACHE_NAME = "cmsis-nn-12.5.1"
CMSISNN_OPT = "-Ofast"
CMSISNN_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class CmsisNN:
    """CMSIS-NN as one image builds it: the tree, its library sources and flags, the wrappers and defines."""

    root: str
    version: str
    include_dir: str
    sources: list[str]  # the library's int8 sources (absolute)
    wrappers: list[str]  # src/nn/cmsisnn/*.c (absolute), built with the project's flags
    defines: list[str]  # NAME=VALUE, for the wrappers (and the whole image)


def model_uses_cmsisnn(model_dir: Path) -> bool:
    """Does the generated model name the cmsisnn backend in EDGEKWS_BACKENDS?"""
    for line in model_header(model_dir).read_text(errors="replace").splitlines():
        if re.match(r"^#define[ \t]+EDGEKWS_BACKENDS[ \t]", line):
            return re.search(r'[",]cmsisnn[",]', line) is not None
    return False


def cmsisnn_cache_dir() -> Path:
    """Where tools/fetch_cmsisnn.py puts CMSIS-NN ($EDGEKWS_CMSISNN_CACHE or ~/.cache/edgekws/...)."""
    given = os.environ.get("EDGEKWS_CMSISNN_CACHE")
    return Path(given).expanduser() if given else Path.home() / ".cache" / "edgekws" / CMSISNN_CACHE_NAME


def _cmsisnn_root(mode: str, model_dir: Path) -> Path | None:
    """The CMSIS-NN tree to build for ``mode`` (auto | on | off | a path), or None; ValueError when a
    model that needs it cannot have it."""
    uses = model_uses_cmsisnn(model_dir)
    how = "set EDGEKWS_CMSISNN_DIR or run tools/fetch_cmsisnn.py"
    root: Path | None = None
    if mode not in CMSISNN_MODES:
        root = Path(mode).expanduser()
    elif mode != "off":
        given = os.environ.get("EDGEKWS_CMSISNN_DIR", "")
        if given.lower() in ("off", "none"):
            how = f"turned off by EDGEKWS_CMSISNN_DIR={given}"
        elif given:
            root = Path(given).expanduser()
        elif (uses or mode == "on") and (cmsisnn_cache_dir() / "Include" / "arm_nnfunctions.h").is_file():
            root = cmsisnn_cache_dir()
        elif mode == "on":
            raise ValueError(f"CMSIS-NN requested but not available ({how}; looked in {cmsisnn_cache_dir()})")
    else:
        how = "custom_edgekws_cmsisnn = off"
    if root is None and uses:
        raise ValueError(f"the model in {model_dir} uses the cmsisnn kernel backend, but CMSIS-NN is not "
                         f"available ({how}), or export the model with another backend")
    return root


def resolve_cmsisnn(mode: str, model_dir: str | Path) -> CmsisNN | None:
    """CMSIS-NN for one image (None: left out); ValueError with one line when it is needed and unusable."""
    root = _cmsisnn_root(mode, Path(model_dir))
    if root is None:
        return None
    root = root.resolve()
    header = root / "Include" / "arm_nnfunctions.h"
    if not header.is_file() or not (root / "Source").is_dir():
        raise ValueError(f"{root} is not a CMSIS-NN checkout (no Include/arm_nnfunctions.h or Source/)")
    text = header.read_text(errors="replace")
    rev = re.search(r"\$Revision:[ \t]*V\.?(\d+)\.(\d+)\.(\d+)", text)
    if rev is None:
        raise ValueError(f"{header} names no $Revision: V.x.y.z; cannot tell the CMSIS-NN version")
    version = tuple(int(g) for g in rev.groups())
    vs = re.search(r"arm_vector_sum_s8[ \t\r\n]*\(([^;{]*)\)[ \t\r\n]*;", text)
    if vs is None:
        raise ValueError(f"{header} declares no arm_vector_sum_s8")
    fc_per_channel = re.search(r"arm_fully_connected_per_channel_s8[ \t\r\n]*\(", text) is not None
    defines = ["EDGEKWS_HAS_CMSISNN=1",
               f"EDGEKWS_CMSISNN_VERSION={version[0] * 10000 + version[1] * 100 + version[2]}",
               f"EDGEKWS_CMSISNN_HAS_FC_PER_CHANNEL={int(fc_per_channel)}",
               f"EDGEKWS_CMSISNN_HAS_GROUPED_CONV={int(version >= (12, 6, 0))}",
               f"EDGEKWS_CMSISNN_VECTOR_SUM_ARGS={vs.group(1).count(chr(44)) + 1}"]
    sources = []
    for src in sorted((root / "Source").glob("*/*.c")):
        stem = src.name.split(".", 1)[0]
        if src.parent.name != "Bindings" and ("_s8" in stem or "q7" in stem or stem == "arm_nntables"):
            sources.append(str(src))
    if not sources:
        raise ValueError(f"no int8 sources under {root / 'Source'}")
    wrappers = [str(p) for p in sorted((firmware_dir().resolve() / "src" / "nn" / "cmsisnn").glob("*.c"))]
    return CmsisNN(root=str(root), version=".".join(map(str, version)), include_dir=str(root / "Include"),
                   sources=sources, wrappers=wrappers, defines=defines)


# ---------------------------------------------------------------- emitters


def _cmake_list(name: str, items: list[str]) -> str:
    body = "\n".join(f"  [=[{item}]=]" for item in items)
    return f"set({name}\n{body}\n)"


def to_cmake(cfg: BuildConfig) -> str:
    """CMake ``set()`` statements for firmware/CMakeLists.txt."""
    defines = cfg.defines + [f'{k}="{v}"' for k, v in cfg.string_defines.items()]
    lines = [
        "# generated by firmware/build_config.py - do not edit",
        f"set(EDGEKWS_APP [=[{cfg.app}]=])",
        _cmake_list("EDGEKWS_SOURCES", cfg.sources),
        _cmake_list("EDGEKWS_INCLUDE_DIRS", cfg.include_dirs),
        _cmake_list("EDGEKWS_DEFINES", defines),
        _cmake_list("EDGEKWS_C_FLAGS", cfg.c_flags),
        _cmake_list("EDGEKWS_LINK_FLAGS", cfg.link_flags),
        _cmake_list("EDGEKWS_LINK_LIBS", cfg.link_libs),
        f"set(EDGEKWS_LINKER_SCRIPT [=[{cfg.linker_script or ''}]=])",
    ]
    return "\n".join(lines) + "\n"


def pio_build_flags(cfg: BuildConfig, cmsisnn: CmsisNN | None = None) -> list[str]:
    """What ``build_flags = !python3 firmware/build_config.py pio-flags`` prints.

    Compile flags, include dirs and plain defines (with CMSIS-NN's include dir and defines when it is
    built in); string defines and link flags go through the extra script (SCons quotes them correctly there).
    """
    include_dirs = cfg.include_dirs + ([cmsisnn.include_dir] if cmsisnn else [])
    defines = cfg.defines + (cmsisnn.defines if cmsisnn else [])
    return [*cfg.c_flags, *(f"-I{d}" for d in include_dirs), *(f"-D{d}" for d in defines)]


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=("cmake", "json", "pio-flags", "boards"))
    parser.add_argument("--board", default="nucleo_f767zi", help=BOARDS_HELP)
    parser.add_argument("--model-dir", default=os.environ.get("EDGEKWS_MODEL_DIR") or None)
    parser.add_argument("--app", choices=APPS, default=os.environ.get("EDGEKWS_APP") or None)
    parser.add_argument("--define", action="append", default=[], help="extra NAME=VALUE define")
    parser.add_argument("--cmsisnn", default="auto",
                        help="pio-flags: CMSIS-NN auto (as CMake: EDGEKWS_CMSISNN_DIR, or the fetched cache for a "
                             "model that uses it) | on (the cache for any model) | off | a CMSIS-NN tree")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    if args.format == "boards":
        print(json.dumps({n: {"description": b.description, "counter_unit": b.counter_unit,
                              "emulated": b.emulated,
                              "regions": [vars(r) for r in b.regions]} for n, b in BOARDS.items()}))
        return 0
    try:
        cfg = resolve(args.board, args.model_dir, args.app, tuple(args.define))
        cmsisnn = resolve_cmsisnn(args.cmsisnn, cfg.model_dir) if args.format == "pio-flags" else None
    except (KeyError, ValueError, FileNotFoundError) as exc:
        print(f"build_config: error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.format == "cmake":
        sys.stdout.write(to_cmake(cfg))
    elif args.format == "json":
        print(json.dumps(vars(cfg), indent=1))
    else:
        print(" ".join(pio_build_flags(cfg, cmsisnn)))
    return 0


# ---------------------------------------------------------------- PlatformIO


def pio_extra_script(env) -> None:  # pragma: no cover - runs inside PlatformIO's SCons
    """Configure a PlatformIO environment from this file (``extra_scripts = pre:...``).

    build_flags already carries the compile flags (pio-flags); here: the board's
    sources and the model C (outside src_dir), string defines, link flags and
    the linker script. platformio.ini sets ``build_src_filter = -<*>`` so that
    nothing is compiled that this file does not list.
    """
    board_name = env.GetProjectOption("custom_edgekws_board", env.subst("$PIOENV"))
    app = env.GetProjectOption("custom_edgekws_app", "") or None
    model_dir = env.GetProjectOption("custom_edgekws_model_dir", "") or None
    if model_dir and not os.path.isabs(model_dir):
        model_dir = os.path.join(env.subst("$PROJECT_DIR"), model_dir)
    cfg = resolve(board_name, model_dir, app)
    cmsisnn = resolve_cmsisnn(env.GetProjectOption("custom_edgekws_cmsisnn", "auto") or "auto", cfg.model_dir)
    by_dir: dict[str, list[str]] = {}
    for src in cfg.sources + (cmsisnn.wrappers if cmsisnn else []):
        by_dir.setdefault(os.path.dirname(src), []).append(os.path.basename(src))
    for i, (directory, names) in enumerate(sorted(by_dir.items())):
        env.BuildSources(os.path.join("$BUILD_DIR", "edgekws", str(i)), directory,
                         src_filter=["-<*>", *(f"+<{n}>" for n in names)])
    env.Append(CPPDEFINES=[(k, env.StringifyMacro(v)) for k, v in cfg.string_defines.items()])
    env.Append(LINKFLAGS=cfg.link_flags, LIBS=[lib[2:] for lib in cfg.link_libs])
    if cfg.linker_script:
        env.Replace(LDSCRIPT_PATH=cfg.linker_script)
    if cmsisnn:
        # CMSIS-NN as its own library, as CMake builds it: the image's CPU and code flags without the
        # project's warnings, CMSIS-NN's -Ofast, its Include/ only (build_flags gave the wrappers the rest).
        lib_env = env.Clone()
        lib_env.Replace(CCFLAGS=[f for f in lib_env.get("CCFLAGS", []) if not str(f).startswith(("-W", "-O"))]
                        + [CMSISNN_OPT],
                        CFLAGS=[f for f in lib_env.get("CFLAGS", []) if not str(f).startswith(("-W", "-O"))],
                        CPPDEFINES=[], CPPPATH=[cmsisnn.include_dir])
        source_dir = os.path.join(cmsisnn.root, "Source")
        lib = lib_env.BuildLibrary(os.path.join("$BUILD_DIR", "edgekws_cmsisnn"), source_dir,
                                   src_filter=["-<*>", *(f"+<{os.path.relpath(s, source_dir)}>"
                                                         for s in cmsisnn.sources)])
        env.Prepend(LIBS=[lib])
        print(f"edgekws: cmsisnn kernel backend on (CMSIS-NN {cmsisnn.version}, {len(cmsisnn.sources)} sources "
              f"from {cmsisnn.root}, {CMSISNN_OPT})")


_HERE = Path(__file__).resolve().parent if "__file__" in globals() else None

if __name__ == "__main__":
    sys.exit(main())
elif "Import" in globals():  # pragma: no cover - executed by PlatformIO as an extra script
    Import("env")  # noqa: F821 - provided by SCons
    _HERE = Path(env.subst("$PROJECT_DIR")) / "firmware"  # noqa: F821
    pio_extra_script(env)  # noqa: F821
