"""The bubblewrap argv builder: namespaces, mounts, env allowlist, devices, limits."""

from __future__ import annotations

from pathlib import Path

from orchestrator.local.bwrap import BwrapPlan, build_argv, build_argv_via_fd, sandbox_env


def plan(**overrides: object) -> BwrapPlan:
    base: dict[str, object] = {
        "bwrap": "/usr/bin/bwrap",
        "python": "/opt/py/bin/python3",
        "runtime_prefixes": ("/opt/py", "/usr"),
        "harness_dir": Path("/srv/harness"),
        "job_files": {"spec.json": 5, "script.py": 6},
        "out_bytes": 4096,
        "seccomp_fd": 7,
        "info_fd": 8,
        "disk_bytes": 1024,
    }
    base.update(overrides)
    return BwrapPlan(**base)  # type: ignore[arg-type]


def pairs(argv: list[str], option: str, width: int = 2) -> list[tuple[str, ...]]:
    return [tuple(argv[i + 1 : i + 1 + width]) for i, a in enumerate(argv) if a == option]


def mounts(argv: list[str], option: str) -> dict[str, str]:
    return {pair[0]: pair[1] for pair in pairs(argv, option)}


def test_setpriv_mode_drops_to_host_uid_without_caps() -> None:
    argv = build_argv(plan(setpriv="/usr/bin/setpriv"))
    for flag in (
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ):
        assert flag in argv
    assert "--unshare-user" not in argv and "--share-net" not in argv
    assert pairs(argv, "--cap-drop", 1) == [("ALL",)]
    assert {c for (c,) in pairs(argv, "--cap-add", 1)} == {
        "CAP_SETUID",
        "CAP_SETGID",
        "CAP_SETPCAP",
    }
    tail = argv[argv.index("--") + 1 :]
    assert tail[:7] == [
        "/usr/bin/setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]
    assert tail[7:9] == ["/opt/py/bin/python3", "-I"]


def test_prefix_parents_are_traversable() -> None:
    argv = build_argv(plan(runtime_prefixes=("/root/.pyenv/versions/3.11", "/usr")))
    dirs = [d for (d,) in pairs(argv, "--dir", 1)]
    assert dirs[:3] == ["/root", "/root/.pyenv", "/root/.pyenv/versions"]
    assert ("/root/.pyenv/versions/3.11", "/root/.pyenv/versions/3.11") in pairs(argv, "--ro-bind")
    assert ("/root", "/root") not in pairs(argv, "--ro-bind")


def test_runtime_under_a_scratch_path_is_bound_over_its_tmpfs() -> None:
    argv = build_argv(plan(runtime_prefixes=("/tmp/py", "/work/base", "/usr")))
    tmpfs_at = {argv[i + 1]: i for i, a in enumerate(argv) if a == "--tmpfs"}
    binds = {argv[i + 2]: i for i, a in enumerate(argv) if a == "--ro-bind"}
    assert binds["/tmp/py"] > tmpfs_at["/tmp"] and binds["/work/base"] > tmpfs_at["/work"]


def test_proc_is_read_only_and_nothing_of_the_hosts_bound_over_it() -> None:
    argv = build_argv(plan())
    assert ("/proc",) in pairs(argv, "--remount-ro", 1)
    assert ("/",) in pairs(argv, "--remount-ro", 1)
    # A bind's source is the host's: /proc/sys bound over would show the host's sysctls.
    binds = [a for flag in ("--ro-bind", "--ro-bind-try", "--bind") for a in pairs(argv, flag)]
    assert not [src for src, _ in binds if src.startswith("/proc")]


def test_etc_files_are_copied_not_bound() -> None:
    argv = build_argv(plan(etc_data_fds={"/etc/ld.so.cache": 21, "/etc/ld.so.conf.d/a.conf": 22}))
    assert not [dest for _, dest in pairs(argv, "--ro-bind-try") if dest.startswith("/etc")]
    assert ("21", "/etc/ld.so.cache") in pairs(argv, "--file")
    assert ("22", "/etc/ld.so.conf.d/a.conf") in pairs(argv, "--file")
    made = argv.index("/etc/ld.so.conf.d")
    assert argv[made - 1] == "--dir" and made < argv.index("/etc/ld.so.conf.d/a.conf")


def test_every_namespace_is_unshared_and_privileges_dropped() -> None:
    argv = build_argv(plan())
    for flag in (
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--new-session",
        "--disable-userns",
        "--clearenv",
    ):
        assert flag in argv
    assert "--share-net" not in argv
    assert pairs(argv, "--cap-drop", 1) == [("ALL",)]
    assert pairs(argv, "--uid", 1) == [("65534",)] and pairs(argv, "--gid", 1) == [("65534",)]
    assert pairs(argv, "--seccomp", 1) == [("7",)]


def test_runtime_read_only_and_only_job_paths_writable() -> None:
    argv = build_argv(plan(model_dir=Path("/models/m")))
    ro = mounts(argv, "--ro-bind")
    assert ro["/opt/py"] == "/opt/py" and ro["/usr"] == "/usr"
    assert ro["/srv/harness"] == "/opt/evalpod/harness"
    assert ro["/models/m"] == "/model"
    # Nothing of the job is on the host disk: its files come from fds, /out is a tmpfs.
    assert mounts(argv, "--file") == {"5": "/job/spec.json", "6": "/job/script.py"}
    # They are files of the root tmpfs, which goes read-only last, before the job runs.
    assert argv.index("--file") < len(argv) - argv[::-1].index("--remount-ro") - 1
    assert argv[len(argv) - argv[::-1].index("--remount-ro")] == "/"
    assert not pairs(argv, "--bind") and not pairs(argv, "--bind-try")
    sources = [src for src, _ in pairs(argv, "--ro-bind") + pairs(argv, "--ro-bind-try")]
    assert not any(s.startswith(("/home", "/root", "/etc/shadow", "/var")) for s in sources)
    assert ("/proc",) in pairs(argv, "--proc", 1) and ("/dev",) in pairs(argv, "--dev", 1)


def test_every_writable_mount_is_a_size_capped_tmpfs() -> None:
    argv = build_argv(plan())
    sizes = {"/work": "1024", "/tmp": "1024", "/dev/shm": "1024", "/out": "4096"}
    tmpfs = [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
    assert set(sizes) <= set(tmpfs)
    for dest, size in sizes.items():
        index = argv.index(dest, argv.index("--tmpfs") - 1)
        assert argv[index - 1] == "--tmpfs" and argv[index - 3 : index - 1] == ["--size", size]
    # The other tmpfs (bwrap's root, /dev, the task include dir) end read-only.
    remounted = {d for (d,) in pairs(argv, "--remount-ro", 1)}
    assert set(tmpfs) - set(sizes) <= remounted and {"/", "/dev"} <= remounted
    assert pairs(argv, "--chdir", 1) == [("/work",)]


def test_no_size_support_falls_back_to_plain_tmpfs() -> None:
    argv = build_argv(plan(supports_size=False))
    assert "--size" not in argv


def test_env_is_an_allowlist() -> None:
    env = sandbox_env(plan())
    assert env["HOME"] == "/work" and env["PYTHONUNBUFFERED"] == "1"
    assert env["HF_HUB_OFFLINE"] == "1" and env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    argv = build_argv(plan())
    assert {k for k, _ in pairs(argv, "--setenv")} == set(env)


def test_gpu_nodes_only_when_assigned() -> None:
    assert not pairs(build_argv(plan()), "--dev-bind-try")
    argv = build_argv(plan(gpu_indices=(3,)))
    nodes = {src for src, _ in pairs(argv, "--dev-bind-try")}
    assert {"/dev/nvidia3", "/dev/nvidiactl", "/dev/nvidia-uvm"} <= nodes
    assert "/dev/nvidia0" not in nodes
    assert sandbox_env(plan(gpu_indices=(3,)))["CUDA_VISIBLE_DEVICES"] == "0"


def test_options_go_through_an_fd_and_name_no_host_path() -> None:
    argv, options = build_argv_via_fd(plan(setpriv="/usr/bin/setpriv"), 9)
    assert argv[:4] == ["/usr/bin/bwrap", "--args", "9", "--"]
    assert not any(a.startswith("/srv") for a in argv)
    inline = build_argv(plan(setpriv="/usr/bin/setpriv"))
    split = inline.index("--")
    assert options.split(b"\0")[:-1] == [a.encode() for a in inline[1:split]]
    assert argv[4:] == inline[split + 1 :]


def test_venv_is_bound_at_a_neutral_path() -> None:
    argv = build_argv(
        plan(venv_prefix="/home/u/checkout/.venv", python="/opt/evalpod/runtime/bin/python")
    )
    assert mounts(argv, "--ro-bind")["/home/u/checkout/.venv"] == "/opt/evalpod/runtime"
    assert argv[argv.index("--") + 1] == "/opt/evalpod/runtime/bin/python"


def test_command_is_isolated_python_on_the_harness() -> None:
    argv = build_argv(plan())
    tail = argv[argv.index("--") + 1 :]
    assert tail == ["/opt/py/bin/python3", "-I", "/opt/evalpod/harness/run.py", "/job/spec.json"]


def test_task_dirs_mounted_read_only_under_one_include_path() -> None:
    argv = build_argv(plan(task_dirs=(Path("/a"), Path("/b"))))
    ro = mounts(argv, "--ro-bind")
    assert ro["/a"] == "/opt/evalpod/tasks/0" and ro["/b"] == "/opt/evalpod/tasks/1"
    assert ("/opt/evalpod/tasks",) in pairs(argv, "--remount-ro", 1)
