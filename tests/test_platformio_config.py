"""platformio.ini and the CMake build must compile the same sources with the same flags and defines.

Both read firmware/build_config.py; this test holds them to it. PlatformIO's
registry cannot be reached here, so PlatformIO itself is not run: the test
executes platformio.ini's own ``build_flags = !command`` lines exactly as
PlatformIO would, adds what the ``pre:`` extra script contributes (the same
file's ``resolve()``), and compares with CMake's compile_commands.json from a
real CMake configure.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgekws.device import build as fwbuild

REPO = Path(__file__).resolve().parents[1]
INI = REPO / "platformio.ini"
ENVS = {"nucleo_f767zi": "nucleo_f767zi", "mps2_an500": "mps2_an500", "native": "host"}
CMSISNN_ENV = "nucleo_f767zi_cmsisnn"


def _ini() -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.read(INI)
    return cp


def _opt(cp: configparser.ConfigParser, env: str, key: str) -> str:
    """An env option with [env] inheritance and ${section.key} interpolation, as PlatformIO reads it."""
    section = f"env:{env}"
    raw = cp.get(section, key, fallback=None)
    if raw is None:
        raw = cp.get("env", key)

    def sub(m: re.Match[str]) -> str:
        sec, k = m.group(1).rsplit(".", 1)
        return cp.get(sec, k)

    return re.sub(r"\$\{(\w+\.[\w.]+)\}", sub, raw).strip()


def _fake_model_dir(tmp: Path) -> Path:
    d = tmp / "model_c"
    d.mkdir()
    (d / "edgekws_model.h").write_text("#define EDGEKWS_ARENA_SIZE 8000u\n")
    return d


def _pio_compile(cp: configparser.ConfigParser, env: str, model_dir: Path) -> tuple[list[str], object]:
    """(build_flags tokens from the ini's '!' command, resolved config the extra script applies).

    The command's --cmsisnn must say what the env's custom_edgekws_cmsisnn (read by the extra script) says."""
    flags_cmd = _opt(cp, env, "build_flags")
    assert flags_cmd.startswith("!python3 firmware/build_config.py "), "flags must come from build_config.py"
    argv = shlex.split(flags_cmd[1:])
    argv[0] = sys.executable
    assert argv[argv.index("--cmsisnn") + 1] == _opt(cp, env, "custom_edgekws_cmsisnn")
    i = argv.index("--model-dir")
    argv[i + 1] = str(model_dir)
    out = subprocess.run(argv, cwd=REPO, check=True, capture_output=True, text=True).stdout
    cfg_mod = fwbuild.build_config()
    app = _opt(cp, env, "custom_edgekws_app")
    cfg = cfg_mod.resolve(_opt(cp, env, "custom_edgekws_board"), model_dir, app or None)
    return shlex.split(out), cfg


def _cmake_commands(board: str, model_dir: Path, app: str, build: Path) -> dict[str, list[str]]:
    cmd = ["cmake", "-S", str(REPO / "firmware"), "-B", str(build), f"-DEDGEKWS_BOARD={board}",
           f"-DEDGEKWS_MODEL_DIR={model_dir}", f"-DEDGEKWS_APP={app}", f"-DPython3_EXECUTABLE={sys.executable}"]
    subprocess.run(cmd, check=True, capture_output=True)
    entries = json.loads((build / "compile_commands.json").read_text())
    return {e["file"]: shlex.split(e["command"]) for e in entries}


def _relevant(tokens: list[str]) -> set[str]:
    """Compile flags that define the build (not -o/-c/file names)."""
    keep = re.compile(r"^-(m|std=|O|W|f|D|I|g)")
    return {t for t in tokens if keep.match(t)}


@pytest.mark.parametrize("env", list(ENVS))
def test_platformio_and_cmake_agree(env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the optional CMSIS-NN library (firmware/cmake/cmsisnn.cmake) is CMake-only; compare without it
    monkeypatch.delenv("EDGEKWS_CMSISNN_DIR", raising=False)
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    board = ENVS[env]
    if board != "host" and shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc is not installed")
    cp = _ini()
    assert _opt(cp, env, "custom_edgekws_board") == board
    model_dir = _fake_model_dir(tmp_path)
    pio_flags, cfg = _pio_compile(cp, env, model_dir)
    pio = set(pio_flags) | {f'-D{k}="{v}"' for k, v in cfg.string_defines.items()}

    cmake = _cmake_commands(board, model_dir, cfg.app, tmp_path / "cmake")
    assert sorted(cmake) == sorted(cfg.sources), "CMake compiles other sources than PlatformIO's extra script adds"
    for src, tokens in cmake.items():
        got = _relevant(tokens)
        # CMake may spell -I as -I<dir> and a string define with escaped quotes; normalise both.
        got = {t.replace('\\"', '"') for t in got}
        assert got == _relevant(list(pio)), f"{Path(src).name}: CMake {sorted(got ^ _relevant(list(pio)))} differ"

    if cfg.linker_script:
        assert (REPO / _opt(cp, env, "board_build.ldscript")).resolve() == Path(cfg.linker_script)
    assert _opt(cp, env, "build_src_filter") == "-<*>", "PlatformIO must compile only what build_config.py lists"
    assert _opt(cp, env, "extra_scripts") == "pre:firmware/build_config.py"


def test_platformio_nucleo_env_is_bare_metal() -> None:
    cp = _ini()
    assert _opt(cp, "nucleo_f767zi", "platform") == "ststm32"
    assert _opt(cp, "nucleo_f767zi", "board") == "nucleo_f767zi"
    assert cp.get("env:nucleo_f767zi", "framework", fallback=None) is None


def test_platformio_emulator_uses_the_firmware_icount_shift() -> None:
    upload = _opt(_ini(), "mps2_an500", "upload_command")
    assert f"-icount shift={fwbuild.icount_shift()}" in upload
    assert "-machine mps2-an500" in upload and "target=native" in upload


class _SconsEnvStandIn:
    """The few PlatformIO construction-environment calls the extra script makes (PlatformIO cannot run here).

    ``flags``: the build_flags tokens, split into SCons variables as PlatformIO's ParseFlags does."""

    def __init__(self, options: dict[str, str], flags: list[str] | None = None) -> None:
        self.options = options
        self.sources: list[tuple[str, str, list[str]]] = []
        self.libraries: list[tuple[str, str, list[str], _SconsEnvStandIn]] = []
        self.appended: dict[str, list] = {}
        self.prepended: dict[str, list] = {}
        self.replaced: dict[str, object] = {}
        self.vars: dict[str, list] = {"CCFLAGS": [], "CFLAGS": [], "CPPDEFINES": [], "CPPPATH": []}
        for t in flags or []:
            if t.startswith("-I"):
                self.vars["CPPPATH"].append(t[2:])
            elif t.startswith("-D"):
                self.vars["CPPDEFINES"].append(t[2:])
            elif t.startswith("-std="):
                self.vars["CFLAGS"].append(t)
            else:
                self.vars["CCFLAGS"].append(t)

    def get(self, name: str, default: object = None) -> object:
        return self.vars.get(name, default)

    def Clone(self) -> _SconsEnvStandIn:  # noqa: N802
        twin = _SconsEnvStandIn(self.options)
        twin.vars = {k: list(v) for k, v in self.vars.items()}
        twin.libraries = self.libraries  # one build: what a clone builds is part of it
        return twin

    def BuildLibrary(self, variant: str, src_dir: str, src_filter: list[str]) -> str:  # noqa: N802
        self.libraries.append((variant, src_dir, src_filter, self))
        return f"lib:{variant}"

    def Prepend(self, **kwargs: list) -> None:  # noqa: N802
        for k, v in kwargs.items():
            self.prepended.setdefault(k, []).extend(v)

    def compile_flags(self) -> set[str]:
        """What a source built in this environment is compiled with (the flags the comparison keeps)."""
        return (set(self.vars["CCFLAGS"]) | set(self.vars["CFLAGS"]) | {f"-I{d}" for d in self.vars["CPPPATH"]}
                | {f"-D{d}" for d in self.vars["CPPDEFINES"]})

    def GetProjectOption(self, name: str, default: str = "") -> str:  # noqa: N802 - PlatformIO's API
        return self.options.get(name, default)

    def subst(self, text: str) -> str:
        return text.replace("$PROJECT_DIR", str(REPO)).replace("$PIOENV", self.options["env"])

    def BuildSources(self, variant: str, src_dir: str, src_filter: list[str]) -> None:  # noqa: N802
        self.sources.append((variant, src_dir, src_filter))

    def Append(self, **kwargs: list) -> None:  # noqa: N802
        for k, v in kwargs.items():
            self.appended.setdefault(k, []).extend(v)

    def Replace(self, **kwargs: object) -> None:  # noqa: N802
        self.replaced.update(kwargs)
        for k, v in kwargs.items():
            if k in self.vars:
                self.vars[k] = list(v)  # type: ignore[call-overload]

    @staticmethod
    def StringifyMacro(value: str) -> str:  # noqa: N802
        return '\\"' + value + '\\"'


@pytest.mark.parametrize("env", ["nucleo_f767zi", "mps2_an500"])
def test_extra_script_runs_as_platformio_runs_it(env: str, tmp_path: Path) -> None:
    """Executed like an SCons script (no __file__, Import() provided), it adds exactly build_config's sources."""
    cp = _ini()
    model_dir = _fake_model_dir(tmp_path)
    (model_dir / "edgekws_model.c").write_text("int x;\n")
    options = {"env": env, "custom_edgekws_board": _opt(cp, env, "custom_edgekws_board"),
               "custom_edgekws_app": _opt(cp, env, "custom_edgekws_app"),
               "custom_edgekws_model_dir": str(model_dir),
               "custom_edgekws_cmsisnn": _opt(cp, env, "custom_edgekws_cmsisnn")}
    scons_env = _SconsEnvStandIn(options)

    def Import(name: str) -> None:  # noqa: N802 - SCons's name
        assert name == "env"
        namespace["env"] = scons_env

    namespace = {"__name__": "SCons.Script", "Import": Import}
    code = compile((REPO / "firmware" / "build_config.py").read_text(), "build_config.py", "exec")
    exec(code, namespace)  # noqa: S102 - this is how SCons runs an extra script

    added = sorted(str(Path(d) / f[2:-1]) for _, d, filt in scons_env.sources for f in filt if f.startswith("+<"))
    _, cfg = _pio_compile(cp, env, model_dir)
    assert added == sorted(cfg.sources)
    assert scons_env.replaced["LDSCRIPT_PATH"] == cfg.linker_script
    assert scons_env.appended["LINKFLAGS"] == cfg.link_flags
    assert ("EDGEKWS_ARENA_SECTION", '\\".dtcm_bss\\"') in scons_env.appended["CPPDEFINES"]


def _cmsisnn_cache() -> Path:
    cache = fwbuild.build_config().cmsisnn_cache_dir()
    if not (cache / "Include" / "arm_nnfunctions.h").is_file():
        pytest.skip(f"CMSIS-NN is not fetched into {cache} (tools/setup.sh runs tools/fetch_cmsisnn.py)")
    return cache


def _cmsisnn_model_dir(tmp: Path) -> Path:
    """A generated-model stand-in whose layers use the cmsisnn backend (what makes CMake build CMSIS-NN)."""
    d = _fake_model_dir(tmp)
    (d / "edgekws_model.h").write_text('#define EDGEKWS_ARENA_SIZE 8000u\n#define EDGEKWS_BACKENDS "simd,cmsisnn"\n')
    (d / "edgekws_model.c").write_text("int edgekws_model_stand_in;\n")
    return d


def test_platformio_cmsisnn_env_builds_what_cmake_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CMSIS-NN env against CMake's cmsisnn.cmake on the same fetched sources: the same wrappers with the
    project's flags and CMSIS-NN's defines, the same CMSIS-NN library sources with the same (non -W) flags."""
    monkeypatch.delenv("EDGEKWS_CMSISNN_DIR", raising=False)
    for tool in ("cmake", "arm-none-eabi-gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    cache = _cmsisnn_cache().resolve()
    cp = _ini()
    env = CMSISNN_ENV
    assert _opt(cp, env, "custom_edgekws_cmsisnn") == "on"
    board = _opt(cp, env, "custom_edgekws_board")
    model_dir = _cmsisnn_model_dir(tmp_path)
    pio_flags, cfg = _pio_compile(cp, env, model_dir)
    assert f"-I{cache / 'Include'}" in pio_flags and "-DEDGEKWS_HAS_CMSISNN=1" in pio_flags

    # what PlatformIO builds: the extra script run as SCons runs it, on the flags build_flags gave
    options = {"env": env, "custom_edgekws_board": board, "custom_edgekws_app": _opt(cp, env, "custom_edgekws_app"),
               "custom_edgekws_model_dir": str(model_dir), "custom_edgekws_cmsisnn": "on"}
    scons_env = _SconsEnvStandIn(options, pio_flags)

    def Import(name: str) -> None:  # noqa: N802 - SCons's name
        namespace["env"] = scons_env

    namespace = {"__name__": "SCons.Script", "Import": Import}
    exec(compile((REPO / "firmware" / "build_config.py").read_text(), "build_config.py", "exec"), namespace)  # noqa: S102
    app_sources = sorted(str(Path(d) / f[2:-1]) for _, d, filt in scons_env.sources for f in filt if f.startswith("+<"))
    [(_, lib_dir, lib_filter, lib_env)] = scons_env.libraries
    lib_sources = sorted(str(Path(lib_dir) / f[2:-1]) for f in lib_filter if f.startswith("+<"))
    assert scons_env.prepended["LIBS"] == ["lib:" + scons_env.libraries[0][0]]

    cmake = _cmake_commands(board, model_dir, cfg.app, tmp_path / "cmake")
    wrappers = sorted(str(p) for p in (REPO / "firmware" / "src" / "nn" / "cmsisnn").glob("*.c"))
    assert wrappers and set(wrappers) <= set(app_sources)
    cmake_app = {f: t for f, t in cmake.items() if not f.startswith(str(cache))}
    cmake_lib = {f: t for f, t in cmake.items() if f.startswith(str(cache))}
    assert sorted(cmake_app) == app_sources, "CMake compiles other image sources than PlatformIO"
    assert sorted(cmake_lib) == lib_sources, "CMake compiles other CMSIS-NN sources than PlatformIO"
    assert len(lib_sources) > 20
    pio_app = _relevant(list(set(pio_flags) | {f'-D{k}="{v}"' for k, v in cfg.string_defines.items()}))
    for src, tokens in cmake_app.items():
        got = {t.replace('\\"', '"') for t in _relevant(tokens)}
        assert got == pio_app, f"{Path(src).name}: CMake and PlatformIO differ in {sorted(got ^ pio_app)}"
    pio_lib = _relevant(sorted(lib_env.compile_flags()))
    assert "-Ofast" in pio_lib and not any(f.startswith("-W") for f in pio_lib)
    for src, tokens in cmake_lib.items():
        got = _relevant(tokens)
        assert got == pio_lib, f"{Path(src).name}: CMake and PlatformIO differ in {sorted(got ^ pio_lib)}"


def test_platformio_cmsisnn_env_without_cmsisnn_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGEKWS_CMSISNN_DIR", raising=False)
    monkeypatch.setenv("EDGEKWS_CMSISNN_CACHE", str(tmp_path / "nothing-here"))
    model_dir = _fake_model_dir(tmp_path)
    r = subprocess.run([sys.executable, "firmware/build_config.py", "pio-flags", "--board", "nucleo_f767zi",
                        "--model-dir", str(model_dir), "--cmsisnn", "on"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("build_config: error: CMSIS-NN requested but not available") and r.stderr.count("\n") == 1
